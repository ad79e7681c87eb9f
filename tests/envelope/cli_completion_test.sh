#!/usr/bin/env bash
# kms-envelope completion bash|zsh (docs/cli.md): both scripts parse (bash -n, zsh -n); the bash
# function, driven as bash's completion does (COMP_WORDS/COMP_CWORD), completes subcommands,
# nested subcommands and a subcommand's options exactly as `--help` lists them (so the words
# come from the parser's own definitions); zsh registers the function through compinit, from
# $fpath as installed, and completes the same words; an unknown shell is a usage error.
set -euo pipefail

source tests/envelope/cli_test_lib.sh && cli_test_init "$1" completion
sorted() { tr ' ' '\n' | sed '/^$/d' | sort | tr '\n' ' '; }

"$KMS" completion bash > comp.bash
"$KMS" completion zsh > _kms-envelope
bash -n comp.bash || fail "bash -n refuses the bash script"
zsh -n _kms-envelope || fail "zsh -n refuses the zsh script"
ok "bash -n and zsh -n accept the scripts"

# complete_bash WORD...: what bash offers for the last word (the one under the cursor).
complete_bash() {
  bash -c 'source "$1"; shift
           COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _kms_envelope
           for w in "${COMPREPLY[@]}"; do printf "%s " "$w"; done' _ comp.bash kms-envelope "$@"
}
# What --help lists: subcommand names, or every option name of a (sub)command.
help_subcommands() { "$KMS" "$@" --help | awk '/^Subcommands:/ {s=1; next} s && /^  [a-z]/ {print $1}' | sort | tr '\n' ' '; }
help_options() {
  "$KMS" "$@" --help | awk '/^Options:/ {s=1; next} /^[A-Z]/ {s=0} s' |
    grep -oE '(^|[ ,])--?[a-zA-Z][a-zA-Z0-9-]*' | tr -d ' ,' | sort -u | tr '\n' ' '
}

[ "$(complete_bash en)" = "encrypt " ] || fail "en<TAB> gave '$(complete_bash en)'"
[ "$(complete_bash key cr)" = "create " ] || fail "key cr<TAB> gave '$(complete_bash key cr)'"
# A value that happens to be a subcommand's name stays a value ("key" is --home's directory).
[ "$(complete_bash --home key en)" = "encrypt " ] || fail "--home key en<TAB>: '$(complete_bash --home key en)'"
[ "$(complete_bash encrypt --key-id '')" = "" ] || fail "the value of --key-id completed as a word"
[ "$(complete_bash rewrap --rec)" = "--recursive " ] || fail "rewrap --rec<TAB>: '$(complete_bash rewrap --rec)'"
top=$(complete_bash '' | sorted)
[ "$top" = "$(help_subcommands)" ] || fail "subcommands: completion '$top' vs --help '$(help_subcommands)'"
for cmd in encrypt decrypt rewrap "key create" "datakey generate"; do
  # shellcheck disable=SC2086
  got=$(complete_bash $cmd - | sorted)
  # shellcheck disable=SC2086
  want=$(help_options $cmd)
  [ "$got" = "$want" ] || fail "$cmd -<TAB>: completion '$got' vs --help '$want'"
done
ok "bash: en -> encrypt, nested subcommands, option values skipped, options equal to --help's"

# zsh: the installed layout (a directory on $fpath holding _kms-envelope) with the real compinit
# registers the function; driving it with compadd / _files recorded (compadd keeps, as zsh's
# does, the words that start with the one under the cursor) shows the words it offers.
mkdir -p fpath && cp _kms-envelope fpath/
registered=$(zsh -f -c 'fpath=(./fpath $fpath); autoload -U compinit; compinit -u -D
                        print -r -- $_comps[kms-envelope]')
[ "$registered" = "_kms-envelope" ] || fail "compinit did not register _kms-envelope: '$registered'"
complete_zsh() {
  zsh -f -c 'compadd() { [[ $1 == -- ]] && shift; local w
                         for w; do [[ $w == ${words[CURRENT]}* ]] && print -rn -- "$w "; done; }
             _files() { print -rn -- "<files> "; }
             compdef() { :; }
             source ./_kms-envelope
             words=("$@"); CURRENT=$#; _kms-envelope' _ kms-envelope "$@"
}
[ "$(complete_zsh en)" = "encrypt " ] || fail "zsh en<TAB>: '$(complete_zsh en)'"
[ "$(complete_zsh encrypt - | sorted)" = "$(help_options encrypt)" ] || fail "zsh encrypt -<TAB>: '$(complete_zsh encrypt -)'"
[ "$(complete_zsh encrypt --key-id '')" = "<files> " ] || fail "zsh option value: '$(complete_zsh encrypt --key-id '')'"
ok "zsh: registered by compinit from \$fpath; en -> encrypt; encrypt's options; values are files"

# An unknown or missing shell is a usage error (exit 2, JSON on stderr), nothing on stdout.
for args in "completion fish" "completion"; do
  rc=0
  # shellcheck disable=SC2086
  "$KMS" $args > out.txt 2> err.json || rc=$?
  [ "$rc" = 2 ] || fail "'$args' exit $rc"
  json '["Code"]' < err.json | grep -qE '^(InvalidParameter|MissingParameter)$' || fail "'$args': $(cat err.json)"
  [ ! -s out.txt ] || fail "'$args' printed a script"
done
ok "unknown or missing shell refused (exit 2)"

echo "PASS"
