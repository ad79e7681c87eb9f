#!/usr/bin/env bash
# The progress line of encrypt / decrypt / rewrap (docs/cli.md): redrawn on stderr when stderr is
# a terminal (a real pseudo-terminal here, util-linux script(1)), never mixed into stdout, nothing
# at all when stderr is not a terminal, --no-progress forces it off, --progress forces it on.
set -euo pipefail

source tests/envelope/cli_test_lib.sh && cli_test_init "$1" progress
: > empty
# on_tty OUT 'shell command': runs the command with stdin, stdout and stderr on a new
# pseudo-terminal; everything it printed on the terminal lands in OUT. Redirections inside the
# command string apply as usual (stdout to a file leaves only stderr on the terminal).
on_tty() {
  local out=$1 cmd=$2
  script -q -e -c "$cmd" typescript < empty > "$out" || fail "on a terminal: $cmd (exit $?)"
}
draws() { tr -cd '\r' < "$1" | wc -c; }  # redraws: each starts with a carriage return

key=$("$KMS" key create --description progress | json '["KeyMetadata"]["KeyId"]')
key2=$("$KMS" key create --description progress2 | json '["KeyMetadata"]["KeyId"]')
head -c 12000000 /dev/urandom > plain.bin
K=$(printf '%q' "$KMS")

# --- 1. encrypt on a terminal: redrawn line (percent, bytes, rate, ETA) and a summary line on
# stderr; stdout (a file here) holds only the JSON summary.
on_tty tty.txt "$K encrypt --key-id $key -o sealed plain.bin > enc.json"
[ "$(json '["PlaintextSize"]' < enc.json)" = 12000000 ] || fail "stdout JSON: $(cat enc.json)"
[ "$(draws tty.txt)" -ge 2 ] || fail "progress not redrawn: $(cat -v tty.txt)"
grep -aqE '[0-9]+% [0-9.]+ (KiB|MiB) of 11.4 MiB  [0-9.]+ (KiB|MiB|GiB)/s  ETA [0-9]+:[0-9]{2}' tty.txt ||
  fail "no line with percent, bytes, rate and ETA: $(cat -v tty.txt)"
grep -aqE '^processed 11.4 MiB in [0-9.]+ s \([0-9.]+ (KiB|MiB|GiB)/s\)' tty.txt ||
  fail "no summary line: $(cat -v tty.txt)"
ok "encrypt: redrawn progress line and summary on the terminal, JSON alone on stdout"

# --- 2. decrypt to stdout (a file) on a terminal: the plaintext is byte-exact (nothing of the
# progress line mixed in); stdin's size is known, so there is a percentage.
on_tty tty.txt "$K decrypt < sealed > plain.out"
cmp plain.bin plain.out || fail "decrypt to stdout differs from the plaintext"
grep -aqE '100% 11.4 MiB of 11.4 MiB' tty.txt || fail "decrypt progress: $(cat -v tty.txt)"
grep -aqE '^processed ' tty.txt || fail "decrypt summary: $(cat -v tty.txt)"
ok "decrypt: plaintext on stdout byte-exact, progress on the terminal"

# --- 3. --no-progress on a terminal prints nothing.
on_tty tty.txt "$K encrypt --no-progress --key-id $key -o sealed2 plain.bin > enc2.json"
[ ! -s tty.txt ] || fail "--no-progress printed: $(cat -v tty.txt)"
on_tty tty.txt "$K decrypt --no-progress -o plain2.out sealed > dec2.json"
[ ! -s tty.txt ] || fail "decrypt --no-progress printed: $(cat -v tty.txt)"
cmp plain.bin plain2.out || fail "decrypt --no-progress output"
ok "--no-progress: nothing on the terminal"

# --- 4. stderr not a terminal: nothing at all (pipes, files), unless --progress.
"$KMS" encrypt --key-id "$key" -o sealed3 plain.bin > enc3.json 2> err.txt
[ ! -s err.txt ] || fail "encrypt printed on a non-terminal stderr: $(cat -v err.txt)"
"$KMS" decrypt -o plain3.out sealed3 2>&1 > dec3.json | cat > err.txt
[ ! -s err.txt ] || fail "decrypt printed on a piped stderr: $(cat -v err.txt)"
"$KMS" decrypt < sealed3 2> err.txt | cmp - plain.bin || fail "decrypt to a pipe"
[ ! -s err.txt ] || fail "decrypt | ... printed on stderr: $(cat -v err.txt)"
"$KMS" encrypt --progress --key-id "$key" -o sealed4 plain.bin > enc4.json 2> err.txt
grep -aqE '^processed 11.4 MiB in ' err.txt || fail "--progress without a terminal: $(cat -v err.txt)"
json '["SealedSize"]' < enc4.json > /dev/null || fail "--progress: stdout JSON"
ok "no terminal: silent; --progress forces the line on"

# --- 5. rewrap counts files: "<done> files of <total> files", then a summary line; the JSON
# summary alone on stdout; silent without a terminal.
mkdir -p tree/sub
for f in tree/a tree/b tree/sub/c; do "$KMS" encrypt --key-id "$key" -o "$f" plain.bin > /dev/null; done
on_tty tty.txt "$K rewrap --recursive --key-id $key2 tree > rewrap.json"
[ "$(json '["Rewrapped"]' < rewrap.json)" = 3 ] || fail "rewrap JSON: $(cat rewrap.json)"
grep -aqE '[0-9]+% [0-9] files of 3 files  [0-9.]+ files/s' tty.txt || fail "rewrap progress: $(cat -v tty.txt)"
grep -aqE '^processed 3 files in [0-9.]+ s' tty.txt || fail "rewrap summary: $(cat -v tty.txt)"
"$KMS" rewrap -r --key-id "$key" tree > rewrap2.json 2> err.txt
[ ! -s err.txt ] || fail "rewrap printed on a non-terminal stderr: $(cat -v err.txt)"
on_tty tty.txt "$K rewrap -r --no-progress --key-id $key2 tree > rewrap3.json"
[ ! -s tty.txt ] || fail "rewrap --no-progress printed: $(cat -v tty.txt)"
ok "rewrap: files done of total on the terminal, silent otherwise"

echo "PASS"
