#!/usr/bin/env bash
# Builds every libFuzzer target (fuzz/BUILD.bazel) with clang + ASan/UBSan and runs each for a
# bounded time, starting from its checked-in seed corpus.
#
#   scripts/fuzz.sh [seconds-per-target]          # default 60
#   FUZZ_TARGETS="header_fuzzer context_fuzzer" scripts/fuzz.sh 30
#
# Prints per target: executions, execs/s, coverage, result. Exits 1 when any target found a
# crash, leak, timeout, sanitizer report or an allocation above -malloc_limit_mb (an
# attacker-sized allocation is a finding); the reproducer is kept under $FUZZ_OUT/<target>/.
# New corpus entries go to $FUZZ_OUT, never into fuzz/corpus (minimize and copy by hand).
# The targets tolerate no finding (the former KMS_FUZZ_SKIP_KNOWN switch is gone; setting it
# has no effect).
# Environment: FUZZ_OUT (default /tmp/kms-fuzz), BAZEL_OUTPUT_BASE (default
# /root/.cache/bazel_fuzz), FUZZ_JOBS (bazel --jobs, default 2).
set -u -o pipefail

cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-60}"
ALL_TARGETS="header_fuzzer context_fuzzer blob_fuzzer open_fuzzer store_fuzzer store_file_fuzzer server_request_fuzzer instance_request_fuzzer cli_args_fuzzer"
OUTPUT_BASE="${BAZEL_OUTPUT_BASE:-/root/.cache/bazel_fuzz}"
FUZZ_OUT="${FUZZ_OUT:-/tmp/kms-fuzz}"
BAZEL=(bazel --output_base="$OUTPUT_BASE")
FLAGS=(--config=fuzz --symlink_prefix=/ --jobs="${FUZZ_JOBS:-2}")

# Only the targets that exist in this checkout (components land one by one).
if [[ -n "${FUZZ_TARGETS:-}" ]]; then
  TARGETS="$FUZZ_TARGETS"
else
  TARGETS=""
  for t in $ALL_TARGETS; do
    grep -q "name = \"$t\"" fuzz/BUILD.bazel && TARGETS="$TARGETS $t"
  done
fi
LABELS=()
for t in $TARGETS; do LABELS+=("//fuzz:$t"); done
echo "== building ${LABELS[*]}"
if ! "${BAZEL[@]}" build "${FLAGS[@]}" "${LABELS[@]}" >"$FUZZ_OUT.build.log" 2>&1; then
  mkdir -p "$FUZZ_OUT"
  tail -40 "$FUZZ_OUT.build.log"
  echo "fuzz build failed (log: $FUZZ_OUT.build.log)"
  exit 2
fi
BIN="$("${BAZEL[@]}" info "${FLAGS[@]}" bazel-bin 2>/dev/null)/fuzz"

status=0
total_execs=0
total_seconds=0
printf '%-24s %12s %10s %8s %8s  %s\n' target executions exec/s cov ft result
for t in $TARGETS; do
  work="$FUZZ_OUT/$t"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  log="$work/fuzz.log"
  start=$(date +%s)
  # The targets find their fixed test key store through KMS_FUZZ_DATA (fuzz/testdata).
  KMS_FUZZ_DATA="$PWD/fuzz/testdata" \
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:allocator_may_return_null=0" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    "$BIN/$t" -max_total_time="$SECONDS_PER_TARGET" -malloc_limit_mb=64 -rss_limit_mb=2048 \
      -timeout=25 -print_final_stats=1 -dict=fuzz/kms.dict \
      -artifact_prefix="$work/artifacts/" "$work/corpus" "fuzz/corpus/$t" \
      $( [[ -d "fuzz/regressions/$t" ]] && echo "fuzz/regressions/$t" ) >"$log" 2>&1
  rc=$?
  elapsed=$(( $(date +%s) - start ))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  execs=${execs:-0}
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  rate=$(( execs / (elapsed > 0 ? elapsed : 1) ))
  if [[ $rc -eq 0 ]]; then
    result="ok"
  else
    result="FINDING (exit $rc): $(grep -m1 -E 'ERROR:|runtime error|fuzz invariant|out-of-memory|malloc\(|timeout' "$log" | cut -c1-120)"
    result="$result; reproducer: $(ls "$work/artifacts" | head -1); log: $log"
    status=1
  fi
  printf '%-24s %12s %10s %8s %8s  %s\n' "$t" "$execs" "$rate" "${cov:-?}" "${ft:-?}" "$result"
  total_execs=$((total_execs + execs))
  total_seconds=$((total_seconds + elapsed))
done
echo "total: $total_execs executions in $total_seconds s of fuzzing ($(( (total_seconds + 59) / 60 )) CPU-minutes, one core per target)"
exit $status
