#!/usr/bin/env bash
# Builds the benchmark binaries (-c opt), runs them with repetitions and writes
# docs/performance.md (+ chart) through scripts/perf_report.py.
#
#   scripts/run_benchmarks.sh                    # all binaries
#   BENCHES="data_key envelope" scripts/run_benchmarks.sh
#   OUTPUT_BASE=/root/.cache/bazel_x MIN_TIME=0.5 REPS=5 scripts/run_benchmarks.sh
#
# Single-thread variants run pinned to CPU 1 (taskset) to cut scheduler noise; the 2-thread
# variants run unpinned (they need both cores). Each ratio is computed inside the binary, from
# one run (see benchmarks/bench_util.h).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCHES=${BENCHES:-"primitives data_key envelope remote"}
OUT=${OUT:-build/bench}
REPS=${REPS:-5}
MIN_TIME=${MIN_TIME:-0.2}
BAZEL=(bazel)
[ -n "${OUTPUT_BASE:-}" ] && BAZEL+=(--output_base="$OUTPUT_BASE")
mkdir -p "$OUT"

targets=()
for b in $BENCHES; do targets+=("//benchmarks:${b}_benchmark"); done
"${BAZEL[@]}" build -c opt --jobs=2 "${targets[@]}"
BIN=$("${BAZEL[@]}" info -c opt bazel-bin 2>/dev/null)/benchmarks

PIN=()
command -v taskset >/dev/null && PIN=(taskset -c 1)
common=(--benchmark_repetitions="$REPS" --benchmark_report_aggregates_only=true
        --benchmark_min_time="$MIN_TIME" --benchmark_format=json)
for b in $BENCHES; do
  echo "== $b (1 thread, pinned)" >&2
  "${PIN[@]}" "$BIN/${b}_benchmark" "${common[@]}" --benchmark_filter='threads:1|CacheWorkload' \
    --benchmark_out="$OUT/$b-1t.json" --benchmark_out_format=json >/dev/null
  echo "== $b (2 threads)" >&2
  "$BIN/${b}_benchmark" "${common[@]}" --benchmark_filter='threads:2' \
    --benchmark_out="$OUT/$b-2t.json" --benchmark_out_format=json >/dev/null
done
python3 scripts/perf_report.py "$OUT"/*.json --out docs/performance.md \
  --png docs/performance_throughput.png --append benchmarks/performance_notes.md \
  --note "Single-thread rows ran pinned to CPU 1 (taskset), ${REPS} repetitions, medians reported; one run on a shared 2-core VM."
