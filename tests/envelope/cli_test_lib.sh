# Sourced (from the runfiles root) by the CLI shell tests, before they cd anywhere:
#   source tests/envelope/cli_test_lib.sh && cli_test_init "$1" NAME
# sets KMS (the kms-envelope binary given as the test's first argument), a fresh scratch
# directory $T/…/NAME with its own key store (KMS_ENVELOPE_HOME), cds into it, and defines
# fail / ok / json (json EXPR: the Python subscript EXPR of the JSON on stdin).

cli_test_init() {
  KMS="$PWD/$1"
  T="${TEST_TMPDIR:-$(mktemp -d)}/$2"
  rm -rf "$T" && mkdir -p "$T"
  export KMS_ENVELOPE_HOME="$T/home"
  cd "$T"
}

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1"; }
