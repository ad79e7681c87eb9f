#!/usr/bin/env bash
# kms-envelope rewrap --recursive on a real tree (docs/cli.md): nested directories, a symbolic
# link to a file and one to a directory outside the tree (never followed), a FIFO (never opened),
# a file that is not sealed, an unreadable file (counted as failed and named); a run SIGKILLed
# in the middle of a file, then rerun: what was done stays done ("already current", not
# rewritten), every file decrypts, the counts add up, no temporary is left behind.
set -euo pipefail

source tests/envelope/cli_test_lib.sh && cli_test_init "$1" rewrap
first_key() { "$KMS" inspect "$1" | json '["WrappedKeys"][0]["KeyId"]'; }
temporaries() { find tree outside -name '*.kmse-tmp-*' -o -name '*kmse-rewrap*' | wc -l; }

# Root reads any file; without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH (dropped from the bounding
# set, util-linux setpriv) it is refused like anyone else, so "unreadable" means unreadable.
RUN=()
if [ "$(id -u)" = 0 ]; then
  RUN=(setpriv --bounding-set=-dac_override,-dac_read_search --)
  "${RUN[@]}" true 2>/dev/null || fail "setpriv cannot drop capabilities here"
fi

key_a=$("$KMS" key create --description rewrap-a | json '["KeyMetadata"]["KeyId"]')
key_b=$("$KMS" key create --description rewrap-b | json '["KeyMetadata"]["KeyId"]')
key_c=$("$KMS" key create --description rewrap-c | json '["KeyMetadata"]["KeyId"]')
head -c 3000 /dev/urandom > plain.bin

mkdir -p tree/sub/deeper outside/dir
sealed=()
for f in tree/f{00..11} tree/sub/g{0..5} tree/sub/deeper/h{0..3} tree/sub/locked \
         outside/secret outside/dir/inner; do
  "$KMS" encrypt --key-id "$key_a" --frame-size 1024 -o "$f" plain.bin > /dev/null
  case "$f" in tree/*) [ "$f" = tree/sub/locked ] || sealed+=("$f");; esac
done
ln -s ../outside/secret tree/link-to-file
ln -s ../../outside/dir tree/sub/link-to-dir
mkfifo tree/sub/fifo
echo "not sealed" > tree/notes.txt
chmod 000 tree/sub/locked
cp -a outside outside.before
n=${#sealed[@]}  # 22 readable sealed files

# --- 1. killed in the middle of the 8th file (its new contents written, not yet in place).
KMS_ENVELOPE_TEST_STOP_AFTER_REWRAPS=7 "${RUN[@]}" "$KMS" rewrap --recursive --key-id "$key_b" \
  tree > run1.json 2> run1.err &
pid=$!
for _ in $(seq 1 600); do
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo gone)
  [ "$state" = T ] && break
  [ "$state" = gone ] && fail "rewrap ended before the stop point: $(cat run1.json run1.err)"
  sleep 0.05
done
[ "$state" = T ] || fail "rewrap never reached the stop point"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
[ "$(temporaries)" = 0 ] || fail "temporaries left after the kill: $(find tree -name '*kmse*')"
done_b=0
for f in "${sealed[@]}"; do
  k=$(first_key "$f") || fail "$f unreadable after the kill"
  [ "$k" = "$key_b" ] && done_b=$((done_b + 1))
  [ "$k" = "$key_b" ] || [ "$k" = "$key_a" ] || fail "$f has key $k"
done
[ "$done_b" = 7 ] || fail "after the kill $done_b files are under the new key, want 7"
declare -A inode
for f in "${sealed[@]}"; do inode[$f]=$(stat -c %i "$f"); done
ok "SIGKILL mid-file: 7 files done, the 8th whole and old, no temporary"

# --- 2. rerun: the 7 are already current (not rewritten), the rest rewrapped, the unreadable
# file failed and named, links / FIFO / unsealed file skipped with a note; exit 1 (a failure).
rc=0
"${RUN[@]}" "$KMS" rewrap --recursive --key-id "$key_b" tree > run2.json 2> run2.err || rc=$?
[ "$rc" = 1 ] || fail "rerun exit $rc (want 1: one file failed): $(cat run2.json run2.err)"
[ "$(json '["AlreadyCurrent"]' < run2.json)" = 7 ] || fail "already current: $(cat run2.json)"
[ "$(json '["Rewrapped"]' < run2.json)" = $((n - 7)) ] || fail "rewrapped: $(cat run2.json)"
[ "$(json '["Failed"]' < run2.json)" = 1 ] || fail "failed count: $(cat run2.json)"
[ "$(json '["FailedFiles"][0]["Path"]' < run2.json)" = tree/sub/locked ] || fail "failed name: $(cat run2.json)"
[ "$(json '["FailedFiles"][0]["Code"]' < run2.json)" = InvalidParameter.InputPath ] ||
  fail "failed code: $(cat run2.json)"
[ "$(json '["Skipped"]' < run2.json)" = 4 ] || fail "skipped count: $(cat run2.json)"
skipped=$(python3 -c 'import json,sys; print(" ".join(sorted(e["Path"]+"="+e["Reason"].split(" ")[0] for e in json.load(sys.stdin)["SkippedFiles"])))' < run2.json)
[ "$skipped" = "tree/link-to-file=symbolic tree/notes.txt=not tree/sub/fifo=FIFO tree/sub/link-to-dir=symbolic" ] ||
  fail "skipped: $skipped"
grep -q '"Code":"InvalidParameter"' run2.err || fail "no error for the failed file: $(cat run2.err)"
changed=0
for f in "${sealed[@]}"; do
  [ "$(first_key "$f")" = "$key_b" ] || fail "$f not rewrapped"
  [ "$(stat -c %i "$f")" = "${inode[$f]}" ] || changed=$((changed + 1))
done
[ "$changed" = $((n - 7)) ] || fail "$changed files replaced on the rerun, want $((n - 7)) (current ones rewritten?)"
ok "rerun: 7 already current (inodes unchanged), $((n - 7)) rewrapped, 1 failed, 4 skipped"

# --- 3. nothing outside the tree was touched; the links are still links; every file decrypts
# under the new key alone.
diff -r outside.before outside > /dev/null || fail "a file outside the tree changed"
[ "$(first_key outside/secret)" = "$key_a" ] && [ "$(first_key outside/dir/inner)" = "$key_a" ] ||
  fail "outside files rewrapped"
[ -L tree/link-to-file ] && [ -L tree/sub/link-to-dir ] && [ -p tree/sub/fifo ] || fail "links/FIFO replaced"
for f in "${sealed[@]}"; do
  "$KMS" decrypt --allow-key-id "$key_b" -o out.bin "$f" > /dev/null || fail "$f does not open"
  cmp -s out.bin plain.bin || fail "$f decrypts to other bytes"
done
chmod 600 tree/sub/locked
"$KMS" decrypt -o out.bin tree/sub/locked > /dev/null && cmp -s out.bin plain.bin ||
  fail "the failed file was damaged"
ok "outside untouched, links and FIFO in place, all $n files open with the new key only"

# --- 4. a third run: everything current, nothing rewritten; the counts add up.
"$KMS" rewrap -r --key-id "$key_b" tree > run3.json
[ "$(json '["AlreadyCurrent"]' < run3.json)" = $((n)) ] || fail "third run: $(cat run3.json)"
[ "$(json '["Rewrapped"]' < run3.json)" = 1 ] || fail "the formerly unreadable file: $(cat run3.json)"
[ "$(json '["Failed"]' < run3.json)" = 0 ] || fail "third run failures: $(cat run3.json)"

# --- 5. without --recursive only the files directly in the directory; a subdirectory is noted.
"$KMS" rewrap --key-id "$key_c" tree > flat.json
[ "$(json '["Rewrapped"]' < flat.json)" = 12 ] || fail "flat: $(cat flat.json)"
grep -q '"Path":"tree/sub","Reason":"directory (not descended without --recursive)"' flat.json ||
  fail "flat: subdirectory not noted: $(cat flat.json)"
[ "$(first_key tree/sub/g0)" = "$key_b" ] || fail "flat rewrap descended"
[ "$(temporaries)" = 0 ] || fail "temporaries left"
# An explicit symbolic link argument is skipped too, never followed.
"$KMS" rewrap --key-id "$key_c" tree/link-to-file > link.json
[ "$(json '["SkippedFiles"][0]["Reason"]' < link.json)" = "symbolic link (not followed)" ] ||
  fail "explicit link: $(cat link.json)"
[ "$(first_key outside/secret)" = "$key_a" ] || fail "explicit link followed"
ok "counts add up; --recursive needed to descend; explicit links skipped"

# --- 6. the test hook refuses what it does not understand.
if KMS_ENVELOPE_TEST_STOP_AFTER_REWRAPS=x "$KMS" rewrap --key-id "$key_c" tree 2> hook.err > /dev/null; then
  fail "a malformed hook value was ignored"
fi
grep -q InvalidParameter hook.err || fail "hook error: $(cat hook.err)"

echo "PASS"
