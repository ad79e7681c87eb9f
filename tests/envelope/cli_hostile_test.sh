#!/usr/bin/env bash
# Hostile paths and inputs for the kms-envelope CLI (docs/security.md, "Hostile inputs"): -o never
# replaces what is not a regular file, one value per option, no crash on any byte, flags do what
# they say or are refused, stdout failures fail the command, error codes name the real problem.
# Everything happens in a temp dir (device nodes, FIFOs and symlinks are made there, never /dev).
set -euo pipefail

source tests/envelope/cli_test_lib.sh && cli_test_init "$1" hostile
# Runs the CLI expecting failure; $1 = expected Code; stderr must be one JSON error object.
expect_code() {
  local code=$1; shift
  if "$KMS" "$@" > out.json 2> err.json; then fail "exit 0: $*"; fi
  local got
  got=$(json '["Code"]' < err.json) || fail "stderr is not JSON for $*: $(cat err.json)"
  [ "$got" = "$code" ] || fail "$* gave $got, want $code: $(cat err.json)"
  # The message never repeats the code ("InvalidCiphertext: InvalidCiphertext: ...").
  case "$(json '["Message"]' < err.json)" in "$code:"*) fail "message repeats the code: $(cat err.json)";; esac
}

key=$("$KMS" key create --description hostile | json '["KeyMetadata"]["KeyId"]')
head -c 200000 /dev/urandom > plain.bin
"$KMS" encrypt --key-id "$key" --frame-size 4096 -o sealed plain.bin > /dev/null
# Tampered in its last frame: the frames before it authenticate, the last does not.
python3 -c 'b=bytearray(open("sealed","rb").read()); b[-20]^=1; open("tampered","wb").write(b)'

# --- 1. -o onto a character device: written in place, never replaced (needs root for mknod).
if [ "$(id -u)" = 0 ] && mknod null-dev c 1 3 2>/dev/null; then
  "$KMS" decrypt -o null-dev sealed > /dev/null
  [ -c null-dev ] || fail "decrypt -o <char device> replaced the device"
  "$KMS" encrypt --key-id "$key" -o null-dev plain.bin > /dev/null
  [ -c null-dev ] || fail "encrypt -o <char device> replaced the device"
  ok "character device written in place, still a device"
else
  echo "SKIP: character device case (not root or mknod not permitted: $(id -u))"
fi

# --- 2. -o onto a FIFO: streamed to the reader, FIFO kept; a tampered file releases only the
# frames that authenticated and exits non-zero.
mkfifo fifo
cat fifo > fifo.out & reader=$!
"$KMS" decrypt -o fifo sealed > /dev/null
wait "$reader"
[ -p fifo ] || fail "decrypt -o <fifo> replaced the FIFO"
cmp plain.bin fifo.out || fail "FIFO reader did not receive the plaintext"
cat fifo > fifo.out & reader=$!
if "$KMS" decrypt -o fifo tampered 2> err.json > /dev/null; then fail "tampered decrypt to FIFO exit 0"; fi
wait "$reader"
[ -p fifo ] || fail "failed decrypt replaced the FIFO"
[ "$(json '["Code"]' < err.json)" = InvalidCiphertext ] || fail "FIFO tamper code: $(cat err.json)"
got=$(stat -c %s fifo.out)
[ "$got" -lt 200000 ] && [ $((got % 4096)) = 0 ] || fail "FIFO got $got bytes: not whole verified frames"
cmp -n "$got" plain.bin fifo.out || fail "FIFO frames differ from the plaintext"
ok "FIFO written in place; tampered input released $got bytes of verified frames only"

# --- 3. -o onto a symlink: followed; the target is replaced in its own directory, the link
# stays; a dangling symlink is refused and nothing is created.
mkdir -p elsewhere && echo old > elsewhere/target && chmod 0644 elsewhere/target
ln -s elsewhere/target link
"$KMS" decrypt -o link sealed > /dev/null 2> note.json
[ -L link ] || fail "symlink was replaced by a file"
cmp plain.bin elsewhere/target || fail "symlink target does not hold the plaintext"
grep -q '"Note".*had mode 0644; the new file has mode 0600' note.json || fail "mode change not stated: $(cat note.json)"
ln -s elsewhere/missing dangling
expect_code InvalidParameter.OutputPath decrypt -o dangling sealed
[ -L dangling ] && [ ! -e elsewhere/missing ] || fail "dangling symlink written through"
ok "symlink followed (target replaced, link kept, mode change noted); dangling refused"

# --- 4. -o through a symlink to /proc/self/fd/1 (what /dev/stdout is): in place, no summary.
# Even onto a regular file: appended like `>>`, the file not replaced (same inode).
ln -s /proc/self/fd/1 my-stdout
"$KMS" decrypt -o my-stdout sealed | cat > via-pipe.bin
cmp plain.bin via-pipe.bin || fail "-o <link to /proc/self/fd/1> into a pipe: output differs"
echo head > via-stdout.bin
inode=$(stat -c %i via-stdout.bin)
"$KMS" decrypt -o my-stdout sealed >> via-stdout.bin
[ -L my-stdout ] || fail "stdout symlink replaced"
[ "$(stat -c %i via-stdout.bin)" = "$inode" ] || fail "the file behind /proc/self/fd/1 was replaced"
(echo head; cat plain.bin) | cmp - via-stdout.bin || fail "-o /proc/self/fd/1 >> file: not appended"
ok "/proc/self/fd/1 symlink is the descriptor itself (pipe, appended file), no JSON after the data"

# --- 5. The output path is checked before the input is read: a FIFO input with no writer would
# block forever if it were opened first.
mkfifo no-writer
rc=0; timeout 10 "$KMS" decrypt -o missing-dir/out no-writer 2> err.json || rc=$?
[ "$rc" = 1 ] || fail "bad -o with a blocking input: exit $rc (124 = the input was opened first)"
[ "$(json '["Code"]' < err.json)" = InvalidParameter.OutputPath ] || fail "$(cat err.json)"
ok "output path refused before the input is opened"

# --- 6. One value per option: a repeatable option never swallows the input file.
echo report > 'report=2024.txt'
"$KMS" encrypt --key-id "$key" -o ctx.kmse --context app=x 'report=2024.txt' < /dev/null > /dev/null
[ "$("$KMS" inspect ctx.kmse | json '["PlaintextSize"]')" = 7 ] || fail "--context swallowed the input"
[ "$("$KMS" inspect ctx.kmse | json '["EncryptionContext"]')" = "{'app': 'x'}" ] || fail "context"
"$KMS" decrypt --allow-key-id "$key" -o allow.out sealed > /dev/null
cmp plain.bin allow.out || fail "--allow-key-id swallowed the input"
"$KMS" encrypt --key-id "$key" --additional-key-id "$key" plain.bin > add.kmse
[ "$("$KMS" inspect add.kmse | json '["PlaintextSize"]')" = 200000 ] || fail "--additional-key-id swallowed"
expect_code InvalidParameter encrypt --key-id "$key" --key-id "$key" plain.bin
ok "each option takes one value; positionals are never consumed"

# --- 7. Bytes that are not UTF-8: refused where the value is a KMS parameter, passed through in
# file names; never a crash.
rc=0; "$KMS" key describe --key-id $'\xff' 2> err.json || rc=$?
[ "$rc" = 2 ] && [ "$(json '["Code"]' < err.json)" = InvalidParameter ] || fail "key-id \\xff: $rc $(cat err.json)"
expect_code InvalidParameter key create --description $'\xff'
expect_code InvalidParameter encrypt --key-id "$key" --context $'a=\xff' plain.bin
expect_code InvalidParameter datakey generate --key-id "$key" --encryption-context $'{"a":"\xff"}'
cp plain.bin $'in\xffput'
"$KMS" encrypt --key-id "$key" -o $'sea\xffled' $'in\xffput' > enc.json
json '["Output"]' < enc.json > /dev/null || fail "summary JSON for a non-UTF-8 file name"
"$KMS" decrypt -o $'out\xff' $'sea\xffled' > /dev/null
cmp plain.bin $'out\xff' || fail "non-UTF-8 file names round trip"
"$KMS" inspect $'sea\xffled' > /dev/null
ok "invalid UTF-8 refused as InvalidParameter in parameters, accepted in file names"

# --- 8. Flags do what they say or are refused.
dk=$("$KMS" datakey generate --key-id "$key")
blob=$(echo "$dk" | json '["CiphertextBlob"]')
expect_code InvalidParameter decrypt --ciphertext-blob "$blob" -o blob.out
[ ! -e blob.out ] || fail "--ciphertext-blob -o created a file"
expect_code InvalidParameter decrypt --ciphertext-blob "$blob" --allow-key-id "$key"
expect_code InvalidParameter decrypt --ciphertext-blob "$blob" sealed
expect_code InvalidParameter decrypt --encryption-context '{"a":"b"}' -o ec.out sealed
[ ! -e ec.out ] || fail "file decrypt with --encryption-context wrote output"
expect_code InvalidParameter datakey decrypt --ciphertext-blob "$blob" -o blob.out
ok "--ciphertext-blob with file flags, file decrypt with --encryption-context: refused"

# --- 9. stdout failures fail the command; a state change is reported on stderr with its ids.
rc=0; "$KMS" key create --description lost >&- 2> err.json || rc=$?
[ "$rc" = 1 ] || fail "key create with closed stdout: exit $rc"
new_id=$(json '["Result"]["KeyMetadata"]["KeyId"]' < err.json) || fail "no Result: $(cat err.json)"
[ "$(json '["Code"]' < err.json)" = IOError.Write ] || fail "closed stdout code: $(cat err.json)"
"$KMS" key describe --key-id "$new_id" > /dev/null || fail "the reported KeyId does not exist"
rc=0; "$KMS" inspect sealed >&- 2> err.json || rc=$?
[ "$rc" = 1 ] || fail "inspect with closed stdout: exit $rc"
rc=0; "$KMS" datakey generate --key-id "$key" >&- 2> err.json || rc=$?
[ "$rc" = 1 ] || fail "datakey generate with closed stdout: exit $rc"
grep -q Plaintext err.json && fail "the data key went to stderr"
# A pipe whose reader is gone (EPIPE, not a silent SIGPIPE death).
python3 - "$KMS" "$key" <<'PY' || fail "broken pipe case"
import os, subprocess, sys, json
r, w = os.pipe(); os.close(r)
p = subprocess.run([sys.argv[1], "key", "create"], stdout=w, stderr=subprocess.PIPE)
os.close(w)
assert p.returncode == 1, p.returncode
err = json.loads(p.stderr)
assert err["Code"] == "IOError.Write" and err["Result"]["KeyMetadata"]["KeyId"], err
PY
ok "closed stdout and broken pipe fail the command; key create reports the new KeyId on stderr"

# --- 10. Error codes that name the problem; overflow; usage errors as JSON; warnings.
mkdir -p adir
expect_code InvalidParameter.OutputPath decrypt -o adir/ sealed
expect_code InvalidParameter.OutputPath decrypt -o '' sealed
expect_code InvalidParameter.OutputPath decrypt -o adir sealed
expect_code InvalidParameter.OutputPath decrypt -o nodir/x sealed
expect_code InvalidParameter.InputPath decrypt -o x missing-input
expect_code InvalidParameter.InputPath decrypt -o x adir
expect_code InvalidCiphertext decrypt -o x <(head -c 100 sealed)
expect_code InvalidParameter datakey generate --key-id "$key" --number-of-bytes 18446744073709551616
grep -q 18446744073709551616 err.json || fail "overflow reported as another number: $(cat err.json)"
rc=0; "$KMS" encrypt --key-id "$key" --bogus plain.bin 2> err.json || rc=$?
[ "$rc" = 2 ] && [ "$(json '["Code"]' < err.json)" = InvalidParameter ] || fail "usage error: $(cat err.json)"
rc=0; "$KMS" encrypt plain.bin 2> err.json || rc=$?
[ "$rc" = 2 ] && [ "$(json '["Code"]' < err.json)" = MissingParameter ] || fail "missing: $(cat err.json)"
mkdir -p open-home && chmod 0777 open-home
"$KMS" --home open-home key list > /dev/null 2> warn.json
grep -q 'world-writable' warn.json || fail "world-writable --home not warned: $(cat warn.json)"
ok "I/O errors carry InvalidParameter.OutputPath/InputPath; overflow, usage errors, warnings"

echo "PASS"
