#!/bin/bash
# Runs suite.js (Alibaba Cloud's Node SDKs against a real `kms-envelope serve`) under Bazel.
# node_modules lives beside the real suite.js (the runfile is a symlink into the source tree),
# installed by scripts/compat_setup.sh; a missing install is a failure, never a skip.
# KMS_COMPAT_NODE overrides the node binary (default: node on PATH).
set -euo pipefail
BIN=$(readlink -f "$1")
C_DATAKEY=$(readlink -f "$2")
SUITE=$(readlink -f tests/compat/suite.js)
DIR=$(dirname "$SUITE")
NODE="${KMS_COMPAT_NODE:-$(command -v node || true)}"
[ -n "$NODE" ] || { echo "FAIL: no node on PATH (scripts/setup.sh installs Debian's nodejs)" >&2; exit 1; }
if [ ! -f "$DIR/node_modules/.package-lock.json" ]; then
  echo "FAIL: $DIR/node_modules is missing: run scripts/compat_setup.sh (npm ci)" >&2
  exit 1
fi
exec "$NODE" "$SUITE" --bin "$BIN" --c-datakey "$C_DATAKEY" --tmp "${TEST_TMPDIR:-$(mktemp -d)}" \
  ${XML_OUTPUT_FILE:+--junit "$XML_OUTPUT_FILE"}
