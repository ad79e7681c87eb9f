#!/usr/bin/env bash
# Builds the kms-envelope CLI (optimized) and installs it on the PATH.
# PREFIX defaults to /usr/local (binary in $PREFIX/bin).
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX="${PREFIX:-/usr/local}"
bazel build -c opt --jobs="${KMS_JOBS:-2}" //:kms-envelope >&2
SUDO=""
if [ ! -w "$PREFIX/bin" ] && [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO install -m 0755 build/bin/kms_envelope/cli/kms-envelope "$PREFIX/bin/kms-envelope"
echo "installed $PREFIX/bin/kms-envelope" >&2
