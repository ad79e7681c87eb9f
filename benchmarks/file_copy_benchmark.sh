#!/usr/bin/env bash
# `kms-envelope encrypt` / `decrypt` of one file on tmpfs against `cp` of the same file, all in
# one run, pinned to one CPU (taskset -c 1) when taskset exists. Each command runs REPS times;
# medians of wall time and the peak RSS (GNU time) are reported, with the throughput ratios
#   enc_vs_cp = cp seconds / encrypt seconds   (target >= 0.6)
#   dec_vs_cp = cp seconds / decrypt seconds   (target >= 0.6)
#   dec_vs_enc = decrypt seconds / encrypt seconds (target <= 1.1)
# and written as JSON to $OUT (default benchmarks/results/file_copy.json).
#
#   benchmarks/file_copy_benchmark.sh                     # 1 GiB, 3 repetitions
#   SIZE=256M REPS=5 KMS=/path/to/kms-envelope benchmarks/file_copy_benchmark.sh
#
# The scratch directory is on tmpfs (TMPFS_DIR, default /dev/shm) so the disk is not measured;
# it needs about 3x SIZE of memory. Uses a scratch key store (KMS_ENVELOPE_HOME).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE="${SIZE:-1G}"
REPS="${REPS:-3}"
TMPFS_DIR="${TMPFS_DIR:-/dev/shm}"
OUT="${OUT:-benchmarks/results/file_copy.json}"
if [ -z "${KMS:-}" ]; then
  bazel build -c opt --jobs=2 //kms_envelope/cli:kms-envelope >/dev/null
  KMS="$(bazel info -c opt bazel-bin 2>/dev/null)/kms_envelope/cli/kms-envelope"
fi
[ "$(stat -f -c %T "$TMPFS_DIR")" = tmpfs ] || { echo "$TMPFS_DIR is not tmpfs" >&2; exit 1; }

PIN=()
command -v taskset >/dev/null && PIN=(taskset -c 1)
work="$(mktemp -d "$TMPFS_DIR/kmse-copy.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export KMS_ENVELOPE_HOME="$work/home"
key_id=$("$KMS" key create --description "file copy benchmark" |
         python3 -c 'import json,sys; print(json.load(sys.stdin)["KeyMetadata"]["KeyId"])')
head -c "$SIZE" /dev/urandom > "$work/plain"
bytes=$(stat -c %s "$work/plain")

# run NAME CMD...: appends "NAME seconds max_rss_kib" to $work/times.
run() {
  local name="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/t" "${PIN[@]}" "$@" >/dev/null
  echo "$name $(cat "$work/t")" >> "$work/times"
}
for _ in $(seq "$REPS"); do
  rm -f "$work/copy" "$work/sealed" "$work/out"
  run cp cp "$work/plain" "$work/copy"
  run encrypt "$KMS" encrypt --key-id "$key_id" --context bench=copy -o "$work/sealed" "$work/plain"
  run decrypt "$KMS" decrypt --context bench=copy -o "$work/out" "$work/sealed"
  cmp "$work/plain" "$work/out"
done

python3 - "$work/times" "$bytes" "$OUT" "$("$KMS" --version 2>/dev/null | tr '\n' ' ')" <<'PY'
import json, statistics, sys
times, size, out, version = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = {}
for line in open(times):
    name, sec, rss = line.split()
    rows.setdefault(name, []).append((float(sec), int(rss)))
med = {k: statistics.median(s for s, _ in v) for k, v in rows.items()}
rss = {k: max(r for _, r in v) for k, v in rows.items()}
res = {
    "bytes": size, "repetitions": len(rows["cp"]), "version": version.strip(),
    "seconds": {k: [s for s, _ in v] for k, v in rows.items()},
    "median_seconds": med, "max_rss_kib": rss,
    "median_gb_per_s": {k: size / v / 1e9 for k, v in med.items()},
    "enc_vs_cp": med["cp"] / med["encrypt"], "dec_vs_cp": med["cp"] / med["decrypt"],
    "dec_vs_enc": med["decrypt"] / med["encrypt"],
}
json.dump(res, open(out, "w"), indent=1)
print(json.dumps(res, indent=1))
PY
