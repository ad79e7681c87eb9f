#!/usr/bin/env bash
# kms-envelope branch-key create / rotate / list on a scratch local key store and file store.
set -euo pipefail

KMS="$PWD/$1"
T="${TEST_TMPDIR:-$(mktemp -d)}"
export KMS_ENVELOPE_HOME="$T/home"
cd "$T"

fail() { echo "FAIL: $*" >&2; exit 1; }
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1"; }

cmk=$("$KMS" key create --description "branch root" | json '["KeyMetadata"]["KeyId"]')
"$KMS" branch-key create --branch-key-id tenant-acme --key-id "$cmk" > created.json
[ "$(json '["BranchKeyVersion"]["Version"]' < created.json)" = 1 ] || fail "create version"
[ "$(json '["BranchKeyVersion"]["KeyId"]' < created.json)" = "$cmk" ] || fail "create cmk"
[ -f "$T/home/branch-keys/branch-keys.json" ] || fail "default store location"

"$KMS" branch-key rotate --branch-key-id tenant-acme > rotated.json
[ "$(json '["BranchKeyVersion"]["Version"]' < rotated.json)" = 2 ] || fail "rotate version"
[ "$(json '["BranchKeyVersion"]["Active"]' < rotated.json)" = True ] || fail "rotate active"

"$KMS" branch-key create --branch-key-id tenant-b --key-id "$cmk" --store "file:$T/other" > /dev/null
"$KMS" branch-key list --store "file:$T/other" > other.json
[ "$(json '["BranchKeys"][0]["BranchKeyId"]' < other.json)" = tenant-b ] || fail "--store"

"$KMS" branch-key list > list.json
[ "$(json '["BranchKeys"][0]["ActiveVersion"]' < list.json)" = 2 ] || fail "list active"
[ "$(json '["BranchKeys"][0]["Versions"][0]["Active"]' < list.json)" = False ] || fail "list v1"
[ "$(json '["BranchKeys"].__len__()' < list.json)" = 1 ] || fail "list count"
grep -q wrapped list.json && fail "list prints wrapped keys"

# Refusals: an existing id, an unknown one, a bad store spec, a bad id; nothing changes.
if "$KMS" branch-key create --branch-key-id tenant-acme --key-id "$cmk" 2> err.json; then fail "duplicate"; fi
[ "$(json '["Code"]' < err.json)" = Rejected.StateModifiedFailed ] || fail "duplicate code"
if "$KMS" branch-key rotate --branch-key-id nobody 2> err.json; then fail "unknown"; fi
[ "$(json '["Code"]' < err.json)" = Forbidden.KeyNotFound ] || fail "unknown code"
if "$KMS" branch-key list --store "mysql:x" 2> err.json; then fail "store spec"; fi
[ "$(json '["Code"]' < err.json)" = InvalidParameter ] || fail "store spec code"
if "$KMS" branch-key create --branch-key-id "bad id" --key-id "$cmk" 2> err.json; then fail "bad id"; fi
"$KMS" branch-key list --branch-key-id tenant-acme > again.json
[ "$(json '["BranchKeys"][0]["Versions"].__len__()' < again.json)" = 2 ] || fail "versions changed"
echo PASS
