#!/usr/bin/env bash
# The main job on the embedded local key store, end to end:
#   install what is missing -> build and install kms-envelope -> create a CMK and an alias ->
#   GenerateDataKey -> Decrypt the CiphertextBlob -> seal a file -> inspect -> open it again.
# The store lives in $KMS_ENVELOPE_HOME (default: ~/.kms-envelope); set it to try a scratch one.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/install.sh --cli-only
KMS=kms-envelope
export KMS_ENVELOPE_HOME="${KMS_ENVELOPE_HOME:-$HOME/.kms-envelope}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

say() { printf '\n== %s\n' "$*"; }
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)'"$1"')'; }

say "Local key store: $KMS_ENVELOPE_HOME"
say "CreateKey"
key_json=$($KMS key create --description "kms-envelope demo")
echo "$key_json"
key_id=$(echo "$key_json" | field '["KeyMetadata"]["KeyId"]')

alias_name="alias/demo-$(date +%s)-$$"
say "CreateAlias $alias_name -> $key_id"
$KMS alias create --alias-name "$alias_name" --key-id "$key_id"

say "GenerateDataKey (KeyId=$alias_name, KeySpec=AES_256, EncryptionContext={\"purpose\":\"demo\"})"
dk=$($KMS datakey generate --key-id "$alias_name" --key-spec AES_256 \
       --encryption-context '{"purpose":"demo"}')
echo "$dk" | python3 -c 'import json,sys; d=json.load(sys.stdin); d["Plaintext"]="<%d base64 chars, not shown>" % len(d["Plaintext"]); print(json.dumps(d, indent=2))'
blob=$(echo "$dk" | field '["CiphertextBlob"]')
plain=$(echo "$dk" | field '["Plaintext"]')

say "Decrypt the CiphertextBlob with the same EncryptionContext"
dec=$($KMS datakey decrypt --ciphertext-blob "$blob" --encryption-context '{"purpose":"demo"}')
if [ "$(echo "$dec" | field '["Plaintext"]')" = "$plain" ]; then
  echo "Decrypt returned the same data key (KeyId $(echo "$dec" | field '["KeyId"]'))"
else
  echo "MISMATCH: Decrypt returned a different key" >&2; exit 1
fi

say "Decrypt with a different EncryptionContext must fail"
if $KMS datakey decrypt --ciphertext-blob "$blob" --encryption-context '{"purpose":"other"}' 2>"$work/err"; then
  echo "UNEXPECTED: decrypt succeeded" >&2; exit 1
fi
echo "refused as expected: $(cat "$work/err")"

say "Rotate the CMK; the old CiphertextBlob still decrypts"
$KMS key rotate --key-id "$key_id"
$KMS datakey decrypt --ciphertext-blob "$blob" --encryption-context '{"purpose":"demo"}' >/dev/null && echo "old blob still decrypts"

if $KMS encrypt --help >/dev/null 2>&1; then
  say "Seal a file under $alias_name, inspect its header, open it"
  head -c 1000000 /dev/urandom > "$work/data.bin"
  $KMS encrypt --key-id "$alias_name" --context purpose=demo -o "$work/data.kmse" "$work/data.bin"
  $KMS inspect "$work/data.kmse"
  $KMS decrypt --context purpose=demo -o "$work/data.out" "$work/data.kmse"
  cmp "$work/data.bin" "$work/data.out" && echo "round trip OK ($(stat -c %s "$work/data.kmse") bytes sealed)"
fi
say "Done"
