#!/usr/bin/env bash
# kms-envelope encrypt / decrypt / inspect / rewrap end to end on a scratch local key store.
set -euo pipefail

KMS="$PWD/$1"
VERSION_H="$PWD/$2"
T="${TEST_TMPDIR:-$(mktemp -d)}"
export KMS_ENVELOPE_HOME="$T/home"
cd "$T"

fail() { echo "FAIL: $*" >&2; exit 1; }
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1"; }

key_a=$("$KMS" key create --description "cli test a" | json '["KeyMetadata"]["KeyId"]')
key_b=$("$KMS" key create --description "cli test b" | json '["KeyMetadata"]["KeyId"]')
[ -n "$key_a" ] && [ -n "$key_b" ] || fail "key create"

head -c 300000 /dev/urandom > plain.bin

# --- file round trip, both suites
for suite in aes-256-gcm xchacha20-poly1305; do
  "$KMS" encrypt --key-id "$key_a" --context app=test --context tenant=t1 --suite "$suite" \
    --frame-size 4096 -o "sealed.$suite" plain.bin > enc.json
  [ "$(json '["PlaintextSize"]' < enc.json)" = 300000 ] || fail "encrypt summary"
  "$KMS" decrypt -o "out.$suite" "sealed.$suite" > dec.json
  cmp plain.bin "out.$suite" || fail "round trip $suite"
  "$KMS" inspect "sealed.$suite" > inspect.json
  [ "$(json '["Suite"]' < inspect.json)" = "$suite" ] || fail "inspect suite"
  [ "$(json '["WrappedKeys"][0]["KeyId"]' < inspect.json)" = "$key_a" ] || fail "inspect key id"
  [ "$(json '["EncryptionContext"]["tenant"]' < inspect.json)" = t1 ] || fail "inspect context"
  [ "$(json '["FrameSize"]' < inspect.json)" = 4096 ] || fail "inspect frame size"
  [ "$(json '["PlaintextSize"]' < inspect.json)" = 300000 ] || fail "inspect plaintext size"
done

# --- an alias works as --key-id; the header names the CMK GUID
"$KMS" alias create --alias-name alias/cli-test --key-id "$key_a" > /dev/null
"$KMS" encrypt --key-id alias/cli-test -o alias.kmse plain.bin > /dev/null
[ "$("$KMS" inspect alias.kmse | json '["WrappedKeys"][0]["KeyId"]')" = "$key_a" ] || fail "alias key id"

# --- stdin / stdout
"$KMS" encrypt --key-id "$key_a" < plain.bin > piped.kmse
"$KMS" decrypt < piped.kmse > piped.out
cmp plain.bin piped.out || fail "stdin/stdout round trip"

# --- required context on decrypt: a pair the message lacks is refused, output absent
if "$KMS" decrypt --context app=other -o ctx.out sealed.aes-256-gcm 2> ctx.err; then
  fail "decrypt with a mismatching --context succeeded"
fi
[ ! -e ctx.out ] || fail "output left behind after context failure"
"$KMS" decrypt --context app=test -o ctx.out sealed.aes-256-gcm > /dev/null
cmp plain.bin ctx.out || fail "decrypt with matching --context"

# --- tampering: non-zero exit, JSON error, no output file, no temporary left
cp sealed.aes-256-gcm tampered
size=$(stat -c %s tampered)
python3 -c 'import sys; b=bytearray(open("tampered","rb").read()); b[-5000]^=1; open("tampered","wb").write(b)'
cmp -s tampered sealed.aes-256-gcm && fail "tampering changed nothing"
mkdir -p outdir
if "$KMS" decrypt -o outdir/tampered.out tampered 2> tamper.err; then
  fail "decrypt of a tampered file succeeded"
fi
[ "$(json '["Code"]' < tamper.err)" = InvalidCiphertext ] || fail "error JSON: $(cat tamper.err)"
[ -z "$(ls -A outdir)" ] || fail "decrypt left files behind: $(ls -A outdir)"
# Truncation at any point also fails.
head -c $((size - 1)) sealed.aes-256-gcm > truncated
if "$KMS" decrypt -o outdir/trunc.out truncated 2> /dev/null; then fail "truncated file opened"; fi
[ -z "$(ls -A outdir)" ] || fail "decrypt of truncated file left files behind"
# To stdout: exit status is non-zero.
if "$KMS" decrypt < tampered > /dev/null 2>&1; then fail "stdout decrypt of tampered file exit 0"; fi

# --- allow-list
if "$KMS" decrypt --allow-key-id "$key_b" -o outdir/x sealed.aes-256-gcm 2> allow.err; then
  fail "allow-list did not refuse"
fi
[ "$(json '["Code"]' < allow.err)" = Forbidden.NoPermission ] || fail "allow-list code: $(cat allow.err)"

# --- rewrap: payload bytes unchanged, new key opens, old key no longer named
cp sealed.xchacha20-poly1305 rewrap.kmse
old_h=$("$KMS" inspect rewrap.kmse | json '["HeaderSize"]')
tail -c +$((old_h + 1)) rewrap.kmse > payload.before
"$KMS" rewrap --key-id "$key_b" rewrap.kmse > rewrap.json
new_h=$("$KMS" inspect rewrap.kmse | json '["HeaderSize"]')
tail -c +$((new_h + 1)) rewrap.kmse > payload.after
cmp payload.before payload.after || fail "rewrap changed the payload"
[ "$("$KMS" inspect rewrap.kmse | json '["WrappedKeys"][0]["KeyId"]')" = "$key_b" ] || fail "rewrap key"
"$KMS" decrypt --allow-key-id "$key_b" -o rewrap.out rewrap.kmse > /dev/null
cmp plain.bin rewrap.out || fail "rewrapped file does not open"

# --- rewrap a directory
mkdir -p dir
for i in 1 2 3; do "$KMS" encrypt --key-id "$key_a" -o "dir/f$i" plain.bin > /dev/null; done
"$KMS" rewrap --key-id "$key_b" --additional-key-id "$key_a" dir > dir.json
[ "$(json '["Rewrapped"]' < dir.json)" = 3 ] || fail "directory rewrap: $(cat dir.json)"
[ "$("$KMS" inspect dir/f2 | json '["WrappedKeys"][1]["KeyId"]')" = "$key_a" ] || fail "dir rewrap keys"

# --- decrypt --ciphertext-blob is the KMS Decrypt call
dk=$("$KMS" datakey generate --key-id "$key_a" --encryption-context '{"p":"q"}')
blob=$(echo "$dk" | json '["CiphertextBlob"]')
plain_b64=$(echo "$dk" | json '["Plaintext"]')
out_b64=$("$KMS" decrypt --ciphertext-blob "$blob" --encryption-context '{"p":"q"}' | json '["Plaintext"]')
[ "$plain_b64" = "$out_b64" ] || fail "decrypt --ciphertext-blob"

# --- --version: the library version (kms_envelope/version.h) and the AES-GCM backend in use
version=$(sed -n 's/^#define KMS_ENVELOPE_VERSION_STRING "\(.*\)"/\1/p' "$VERSION_H")
"$KMS" --version > version.txt || fail "--version exit"
[ "$(head -n 1 version.txt)" = "kms-envelope $version" ] || fail "--version: $(cat version.txt)"
grep -q '^AES-256-GCM: ' version.txt || fail "--version backend: $(cat version.txt)"
KMS_ENVELOPE_AEAD_BACKEND=openssl "$KMS" --version | grep -qi 'openssl' || fail "--version ignores the forced backend"

echo "PASS"
