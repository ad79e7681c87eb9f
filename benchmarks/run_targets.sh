#!/usr/bin/env bash
# One run of every performance target in docs/performance.md, back to back, then the report:
# raw intel-ipsec-mb and OpenSSL EVP AES-256-GCM (the limit rows), Seal/Open of 64 B, 1 MiB and
# 64 MiB (AES suite, cache off), the small-message chain step by step, data keys and cache
# scaling, RocksDB plain vs encrypted, and kms-envelope encrypt/decrypt of a file vs cp.
#
#   benchmarks/run_targets.sh                 # REPS=3, writes benchmarks/results/*.json
#
# Single-thread rows run pinned to CPU 1 (taskset); the 2-thread rows need both cores. The load
# average at the start and the end of the run is written into the report's header note.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS="${REPS:-3}"
OUT="${OUT:-benchmarks/results}"
mkdir -p "$OUT"
bazel build -c opt --jobs=2 //benchmarks:primitives_benchmark //benchmarks:data_key_benchmark \
  //benchmarks:envelope_benchmark //benchmarks:seal_steps_benchmark \
  //benchmarks/rocksdb:rocksdb_encryption_benchmark //kms_envelope/cli:kms-envelope >/dev/null
BIN="$(bazel info -c opt bazel-bin 2>/dev/null)"
PIN=()
command -v taskset >/dev/null && PIN=(taskset -c 1)
common=(--benchmark_repetitions="$REPS" --benchmark_report_aggregates_only=true
        --benchmark_min_time=0.2 --benchmark_out_format=json)
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
run() {  # run NAME BINARY FILTER [pinned]
  local name=$1 bin=$2 filter=$3 pin=${4:-pin}
  echo "== $name" >&2
  local cmd=("$bin" "${common[@]}" --benchmark_filter="$filter" --benchmark_out="$OUT/$name.json")
  if [ "$pin" = pin ]; then cmd=("${PIN[@]}" "${cmd[@]}"); fi
  "${cmd[@]}" >/dev/null
}
run primitives "$BIN/benchmarks/primitives_benchmark" \
  'BM_Bare(IpsecMbGcm|AesGcm)(Seal|Open)/(64|1048576|67108864)/threads:1$|BM_IpsecMbFreshKeySeal64'
run envelope "$BIN/benchmarks/envelope_benchmark" \
  'BM_(Seal|Open)/suite:1/bytes:(64|1048576|67108864)/cache:0/.*threads:1$'
run seal_steps "$BIN/benchmarks/seal_steps_benchmark" '.'
run data_key "$BIN/benchmarks/data_key_benchmark" 'BM_GenerateDataKey/.*bytes:32.*threads:1|BM_Decrypt/.*threads:1'
run cache_scaling "$BIN/benchmarks/data_key_benchmark" 'BM_CacheHitScaling' nopin
run rocksdb "$BIN/benchmarks/rocksdb/rocksdb_encryption_benchmark" 'BM_(FillRandom|ReadRandom)/[01]/'
KMS="$BIN/kms_envelope/cli/kms-envelope" OUT="$OUT/file_copy.json" REPS="$REPS" \
  benchmarks/file_copy_benchmark.sh >/dev/null
load_end="$(cut -d' ' -f1-3 /proc/loadavg)"
python3 scripts/perf_report.py "$OUT"/{primitives,envelope,seal_steps,data_key,cache_scaling,rocksdb,file_copy}.json \
  --out docs/performance.md --png docs/performance_throughput.png \
  --append benchmarks/performance_notes.md \
  --note "One run of benchmarks/run_targets.sh: single-thread rows pinned to CPU 1 (taskset), ${REPS} repetitions, medians; load average ${load_start} at the start and ${load_end} at the end (1, 5, 15 min) on a shared 2-core VM."
