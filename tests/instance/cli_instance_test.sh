#!/bin/bash
# The instance API end to end through processes: `kms-envelope serve --instance-api` over HTTPS
# with a ClientKey (made by the openssl CLI) in its access file; `kms-envelope encrypt` seals
# through the instance provider, `kms-envelope decrypt` opens; the CMK is rotated (new messages
# use the new version, old ones still open); a wrong password, a missing CA and a disallowed
# CMK are refused; an injected throttling fault is retried.
set -euo pipefail
BIN="${1:-kms_envelope/cli/kms-envelope}"
T="${TEST_TMPDIR:-$(mktemp -d)}/cli_instance"
rm -rf "$T"; mkdir -p "$T"
fail() { echo "FAIL: $*" >&2; exit 1; }

# ClientKey: RSA key, certificate, PKCS#12 under a password, as Alibaba Cloud delivers it.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/ck.pem" 2>/dev/null
openssl req -new -x509 -key "$T/ck.pem" -subj /CN=KAAP.cli -days 1 -out "$T/ck.crt"
openssl pkcs12 -export -inkey "$T/ck.pem" -in "$T/ck.crt" -passout pass:s3cret -out "$T/ck.p12"
printf '{"KeyId":"KAAP.cli","PrivateKeyData":"%s"}\n' "$(openssl base64 -A -in "$T/ck.p12")" \
  > "$T/clientKey.json"
echo s3cret > "$T/password.txt"
echo wrong > "$T/wrong.txt"
PUB=$(openssl pkey -in "$T/ck.pem" -pubout | awk '{printf "%s\\n", $0}')
# TLS certificate of the listener: the client's CA file.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/tls.key" \
  -out "$T/tls.crt" -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -days 1 2>/dev/null

"$BIN" --home "$T/store" key create --description instance > "$T/key.json"
KID=$(sed -n 's/.*"KeyId":"\([^"]*\)".*/\1/p' "$T/key.json")
"$BIN" --home "$T/store" key create --description other > "$T/key2.json"
KID2=$(sed -n 's/.*"KeyId":"\([^"]*\)".*/\1/p' "$T/key2.json")
[ -n "$KID" ] && [ -n "$KID2" ] || fail "no KeyId"
cat > "$T/access.json" <<JSON
{"AccessKeys": [],
 "ClientKeys": [{"KeyId": "KAAP.cli", "PublicKey": "$PUB", "Keys": ["$KID"]}]}
JSON

start_server() {
  rm -f "$T/ready.json"
  "$BIN" --home "$T/store" serve --access-file "$T/access.json" --listen 127.0.0.1:0 \
    --tls-cert "$T/tls.crt" --tls-key "$T/tls.key" --instance-api "$@" \
    > "$T/ready.json" 2> "$T/serve.err" &
  PID=$!
  for _ in $(seq 1 100); do [ -s "$T/ready.json" ] && break; sleep 0.05; done
  PORT=$(sed -n 's/.*"Port":\([0-9]*\).*/\1/p' "$T/ready.json")
  [ -n "$PORT" ] || fail "server did not start: $(cat "$T/ready.json" "$T/serve.err")"
  URL="https://127.0.0.1:$PORT"
}
stop_server() { kill -TERM "$PID"; wait "$PID" || fail "serve exited with $?"; }
trap 'kill $PID 2>/dev/null || true' EXIT

inst() {
  "$BIN" --kms-instance-endpoint "$URL" --client-key-file "$T/clientKey.json" \
    --client-key-password-file "$T/password.txt" --ca-file "$T/tls.crt" "$@"
}
version_of() { sed -n 's/.*"KeyVersionId":"\([^"]*\)".*/\1/p' | head -1; }

start_server
head -c 100000 /dev/urandom > "$T/in.bin"
inst encrypt --key-id "$KID" --context app=demo -o "$T/old.kmse" "$T/in.bin"
inst decrypt --context app=demo -o "$T/old.out" "$T/old.kmse"
cmp "$T/in.bin" "$T/old.out" || fail "round trip"
OLDV=$("$BIN" inspect "$T/old.kmse" | version_of)
grep -q '"aliyun-kms-instance"' <("$BIN" inspect "$T/old.kmse") || fail "provider id not recorded"

# Rotate the CMK: new messages use the new version, old ones still open.
"$BIN" --home "$T/store" key rotate --key-id "$KID" > "$T/rotate.json"
NEWV=$(version_of < "$T/rotate.json")
sleep 1.2  # the server's store notices other processes' changes within a second
inst encrypt --key-id "$KID" --context app=demo -o "$T/new.kmse" "$T/in.bin"
[ "$("$BIN" inspect "$T/new.kmse" | version_of)" = "$NEWV" ] || fail "new message not under $NEWV"
[ "$OLDV" != "$NEWV" ] || fail "rotation kept the version"
inst decrypt --context app=demo -o "$T/old.out2" "$T/old.kmse"
cmp "$T/in.bin" "$T/old.out2" || fail "old message after rotation"

# Refusals: wrong context (no output left), wrong password, no CA, CMK not allowed.
if inst decrypt --context app=other -o "$T/bad" "$T/old.kmse" 2> "$T/err"; then fail "wrong context"; fi
[ ! -e "$T/bad" ] || fail "output left behind"
if "$BIN" --kms-instance-endpoint "$URL" --client-key-file "$T/clientKey.json" \
    --client-key-password-file "$T/wrong.txt" --ca-file "$T/tls.crt" \
    decrypt -o "$T/bad" "$T/old.kmse" 2> "$T/err"; then fail "wrong password accepted"; fi
grep -q InvalidParameter "$T/err" || fail "wrong password: $(cat "$T/err")"
if "$BIN" --kms-instance-endpoint "$URL" --client-key-file "$T/clientKey.json" \
    --client-key-password-file "$T/password.txt" decrypt -o "$T/bad" "$T/old.kmse" 2> "$T/err"; then
  fail "unverified TLS accepted"
fi
if inst encrypt --key-id "$KID2" -o "$T/bad" "$T/in.bin" 2> "$T/err"; then fail "CMK not allowed"; fi
grep -q Forbidden.NoPermission "$T/err" || fail "no NoPermission: $(cat "$T/err")"
if inst key list 2> "$T/err"; then fail "key administration through the instance flags"; fi
stop_server

# Throttling: the first two instance requests are refused with Rejected.Throttling; retried.
start_server --inject-fault Rejected.Throttling:429:2
inst decrypt --context app=demo -o "$T/old.out3" "$T/old.kmse"
cmp "$T/in.bin" "$T/old.out3" || fail "after throttling"
stop_server
trap - EXIT
echo PASS
