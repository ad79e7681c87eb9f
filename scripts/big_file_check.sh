#!/usr/bin/env bash
# Round-trips a large random file through `kms-envelope encrypt` / `decrypt` and reports the peak
# resident memory of each (GNU time's "Maximum resident set size"). The envelope streams one
# frame at a time, so the peak must stay far below the file size (limit: 32 MiB).
#
#   scripts/big_file_check.sh            # 1 GiB
#   SIZE=256M scripts/big_file_check.sh  # any `head -c` size
#
# Not part of `bazel test` (it needs GiBs of /tmp and a minute or two). Uses a scratch key store.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE="${SIZE:-1G}"
LIMIT_KB="${LIMIT_KB:-32768}"
OUTPUT_BASE="${OUTPUT_BASE:-$HOME/.cache/bazel_envelope}"

bazel --output_base="$OUTPUT_BASE" build -c opt --jobs=2 //kms_envelope/cli:kms-envelope >/dev/null 2>&1 ||
  bazel --output_base="$OUTPUT_BASE" build -c opt --jobs=2 //kms_envelope/cli:kms-envelope
KMS="$(bazel --output_base="$OUTPUT_BASE" info -c opt bazel-bin 2>/dev/null)/kms_envelope/cli/kms-envelope"

work="$(mktemp -d /tmp/kmse-big.XXXXXX)"
trap 'rm -rf "$work"' EXIT
export KMS_ENVELOPE_HOME="$work/home"

key_id=$("$KMS" key create --description "big file check" |
         python3 -c 'import json,sys; print(json.load(sys.stdin)["KeyMetadata"]["KeyId"])')

echo "generating $SIZE of random input in $work"
head -c "$SIZE" /dev/urandom > "$work/plain"

rss() { grep 'Maximum resident set size' "$1" | awk '{print $NF}'; }

/usr/bin/time -v "$KMS" encrypt --key-id "$key_id" --context check=big -o "$work/sealed" "$work/plain" \
  2> "$work/enc.time" >/dev/null || { cat "$work/enc.time"; exit 1; }
/usr/bin/time -v "$KMS" decrypt --context check=big -o "$work/out" "$work/sealed" \
  2> "$work/dec.time" >/dev/null || { cat "$work/dec.time"; exit 1; }
cmp "$work/plain" "$work/out"

enc_kb=$(rss "$work/enc.time"); dec_kb=$(rss "$work/dec.time")
enc_s=$(grep 'Elapsed (wall clock)' "$work/enc.time" | awk '{print $NF}')
dec_s=$(grep 'Elapsed (wall clock)' "$work/dec.time" | awk '{print $NF}')
echo "input:   $(stat -c %s "$work/plain") bytes, sealed $(stat -c %s "$work/sealed") bytes"
echo "encrypt: max RSS ${enc_kb} KiB, wall ${enc_s}"
echo "decrypt: max RSS ${dec_kb} KiB, wall ${dec_s}"
echo "round trip: identical (cmp)"
if [ "$enc_kb" -gt "$LIMIT_KB" ] || [ "$dec_kb" -gt "$LIMIT_KB" ]; then
  echo "FAIL: peak RSS above ${LIMIT_KB} KiB" >&2
  exit 1
fi
echo "OK: peak RSS below ${LIMIT_KB} KiB"
