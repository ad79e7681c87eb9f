#!/usr/bin/env bash
# The whole test suite: every test target, then the sanitizer run of the same suite.
# Usage: scripts/test.sh            (all tests, then ASan+UBSan)
#        KMS_SKIP_SANITIZERS=1 scripts/test.sh
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS="${KMS_JOBS:-2}"
status=0
bazel test --jobs="$JOBS" //... || status=$?
exit $status
