#!/bin/bash
# `kms-envelope serve` as a process: starts on a free port (reads the chosen port from its JSON
# line), `kms-envelope encrypt/decrypt --kms-endpoint` against it (V1 and V3), datakey through the
# remote provider, an access log without secrets, and a clean exit on SIGTERM.
set -euo pipefail
BIN="${1:-kms_envelope/cli/kms-envelope}"
T="${TEST_TMPDIR:-$(mktemp -d)}/cli_serve"
rm -rf "$T"; mkdir -p "$T"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$BIN" --home "$T/store" key create --description demo > "$T/key.json"
KID=$(sed -n 's/.*"KeyId":"\([^"]*\)".*/\1/p' "$T/key.json")
[ -n "$KID" ] || fail "no KeyId in $(cat "$T/key.json")"
cat > "$T/access.json" <<JSON
{"AccessKeys":[{"AccessKeyId":"cli","AccessKeySecret":"cli-secret","Actions":["*"],"Keys":["*"]}]}
JSON
"$BIN" --home "$T/store" serve --access-file "$T/access.json" --listen 127.0.0.1:0 \
  --access-log "$T/access.log" > "$T/ready.json" 2> "$T/serve.err" &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -s "$T/ready.json" ] && break; sleep 0.05; done
PORT=$(sed -n 's/.*"Port":\([0-9]*\).*/\1/p' "$T/ready.json")
[ -n "$PORT" ] || fail "server did not report a port: $(cat "$T/ready.json" "$T/serve.err")"
export ALIBABA_CLOUD_ACCESS_KEY_ID=cli ALIBABA_CLOUD_ACCESS_KEY_SECRET=cli-secret
URL="http://127.0.0.1:$PORT"

head -c 200000 /dev/urandom > "$T/in.bin"
for V in 1 3; do
  KMS_ENVELOPE_SIGNATURE_VERSION=$V "$BIN" --kms-endpoint "$URL" encrypt --key-id "$KID" \
    --context app=demo -o "$T/sealed.$V" "$T/in.bin"
  KMS_ENVELOPE_SIGNATURE_VERSION=$V "$BIN" --kms-endpoint "$URL" decrypt --context app=demo \
    -o "$T/out.$V" "$T/sealed.$V"
  cmp "$T/in.bin" "$T/out.$V" || fail "round trip V$V"
done
# Wrong context through the server: refused, nothing written.
if "$BIN" --kms-endpoint "$URL" decrypt --context app=other -o "$T/bad" "$T/sealed.1" 2> "$T/err"; then
  fail "decrypt with a wrong context succeeded"
fi
[ ! -e "$T/bad" ] || fail "output left behind"
# Bad credentials: a JSON error naming the code.
if ALIBABA_CLOUD_ACCESS_KEY_SECRET=wrong "$BIN" --kms-endpoint "$URL" encrypt --key-id "$KID" \
    -o "$T/x" "$T/in.bin" 2> "$T/err"; then
  fail "wrong secret accepted"
fi
grep -q SignatureDoesNotMatch "$T/err" || fail "no SignatureDoesNotMatch: $(cat "$T/err")"

kill -TERM $PID
wait $PID || fail "serve exited with $?"
trap - EXIT
LINES=$(wc -l < "$T/access.log")
[ "$LINES" -ge 5 ] || fail "access log has $LINES lines"
grep -q '"action":"GenerateDataKey"' "$T/access.log" || fail "no GenerateDataKey in access log"
if grep -q -e Plaintext -e 'Signature=' -e cli-secret "$T/access.log"; then fail "secret in log"; fi
echo PASS
