#!/usr/bin/env bash
# The whole test suite.
#   scripts/test.sh                   every test target (gcc, fastbuild)
#   KMS_SANITIZERS=1 scripts/test.sh  then the same suite under ASan+UBSan (clang) and the
#                                     tests tagged "concurrency" under TSan
#   KMS_PACKAGE_CHECK=1 scripts/test.sh  then the packaging checks (scripts/package_check.sh)
#   (always)                          then scripts/size_check.py over kms_envelope/
#   KMS_FUZZ_SECONDS=60 scripts/test.sh  then every libFuzzer target for that long (scripts/fuzz.sh);
#                                     each target counts as one test case
# Ends with "N passed, N failed" counting individual test cases over all phases.
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS="${KMS_JOBS:-2}"
mkdir -p build
rm -f build/phase-*.txt
status=0

phase() {  # phase <name> <output_base or ""> <bazel test args...>
  local name=$1 base=$2; shift 2
  local startup=()
  [ -n "$base" ] && startup=(--output_base="$base")
  echo "== phase $name: bazel ${startup[*]} test $*"
  bazel "${startup[@]}" test --jobs="$JOBS" --test_summary=short "$@" 2>&1 | tee "build/phase-$name.log"
  local rc=${PIPESTATUS[0]}
  [ "$rc" -ne 0 ] && status=$rc
  local logs
  logs=$(bazel "${startup[@]}" info "${@:1:0}" bazel-testlogs 2>/dev/null)
  python3 scripts/count_tests.py "build/phase-$name.log" "$logs" | tee "build/phase-$name.txt"
}

phase main "" //...
# Function and file sizes in kms_envelope/ (<= 80 and <= 700 lines, the brief's "small rooms"):
# any offender fails the run.
echo "== phase size: scripts/size_check.py kms_envelope"
if python3 scripts/size_check.py kms_envelope | tee build/phase-size.log; then
  echo "1 passed, 0 failed" > build/phase-size.txt
else
  status=1; echo "0 passed, 1 failed" > build/phase-size.txt
fi
if [ "${KMS_SANITIZERS:-0}" = "1" ]; then
  # Tests tagged "timing" (kill counts, load figures within a time budget) run in the plain phase only.
  phase asan "$HOME/.cache/bazel_kms_asan" --config=asan --test_tag_filters=-timing,-manual //...
  phase tsan "$HOME/.cache/bazel_kms_tsan" --config=tsan --test_tag_filters=concurrency //...
fi

if [ "${KMS_PACKAGE_CHECK:-0}" = "1" ]; then
  # The library as users outside Bazel get it: .deb build + lintian, consumer examples (CMake,
  # pkg-config, C) and the Python binding against the unpacked packages, install/uninstall.
  echo "== phase package: scripts/package_check.sh"
  bash scripts/package_check.sh 2>&1 | tee build/phase-package.log
  rc=${PIPESTATUS[0]}
  [ "$rc" -ne 0 ] && status=$rc
  tail -n 1 build/phase-package.log | grep -E '^[0-9]+ passed, [0-9]+ failed$' > build/phase-package.txt ||
    echo "0 passed, 1 failed" > build/phase-package.txt
fi

if [ -n "${KMS_FUZZ_SECONDS:-}" ]; then
  echo "== phase fuzz: scripts/fuzz.sh $KMS_FUZZ_SECONDS"
  bash scripts/fuzz.sh "$KMS_FUZZ_SECONDS" 2>&1 | tee build/phase-fuzz.log
  rc=${PIPESTATUS[0]}
  [ "$rc" -ne 0 ] && status=$rc
  awk '$1 ~ /_fuzzer$/ { if ($6 == "ok") p++; else f++ } END { printf "%d passed, %d failed\n", p, f + 0 }' \
    build/phase-fuzz.log | tee build/phase-fuzz.txt
  if [ "$rc" -ne 0 ] && ! grep -q "_fuzzer " build/phase-fuzz.log; then echo "0 passed, 1 failed" > build/phase-fuzz.txt; fi
fi

cat build/phase-*.txt | awk '{p+=$1; f+=$3} END {printf "%d passed, %d failed\n", p, f}'
exit $status
