#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, -DMOESIM_FUZZ=ON, clang++-14, ASan + UBSan) and runs each for
# SECONDS (default 60) on a seed corpus made from the shipped scenarios and traces. Crashes, leaks
# and timeouts are written to fuzz-out/<target>/ (crash-*, timeout-*); turn each into a case in
# tests/corpus/ (docs/robustness.md). Not part of the default test command.
#   scripts/fuzz.sh                  # every target, 60 s each
#   SECONDS_PER_TARGET=600 scripts/fuzz.sh fuzz_trace_npy fuzz_set
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${BUILD_DIR:-build-fuzz}
OUT=${FUZZ_OUT:-fuzz-out}
SECS=${SECONDS_PER_TARGET:-60}
CXX_FUZZ=${CXX_FUZZ:-clang++-14}
JOBS=${JOBS:-$(nproc)}
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  TARGETS=(fuzz_scenario_toml fuzz_set fuzz_units fuzz_trace_jsonl fuzz_trace_vllm_jsonl fuzz_trace_csv fuzz_trace_npy
           fuzz_trace_binary fuzz_trace_load_matrix)
fi
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$CXX_FUZZ" -DMOESIM_FUZZ=ON \
  -DMOESIM_BUILD_TESTS=OFF -DMOESIM_BUILD_VALIDATE=OFF >/dev/null
# Only the targets asked for (the reader targets build in minutes; scenario/set need every layer).
cmake --build "$BUILD" -j"$JOBS" --target "${TARGETS[@]}"

# Seeds: scenarios (TOML), --set lines, unit strings, and one trace of each format converted from a
# generated one with the normal build's binary (build/moesim) when it exists.
SEEDS="$BUILD/seeds"
rm -rf "$SEEDS" && mkdir -p "$SEEDS"/{toml,set,units,jsonl,vllm_jsonl,csv,npy,binary,load_matrix}
find scenarios -name '*.toml' -exec cp {} "$SEEDS/toml/" \;
printf 'workload.batch=32\n' >"$SEEDS/set/1"
printf 'cluster.device.memory_capacity="40GiB"\nrouting.kind=zipf\n' >"$SEEDS/set/2"
printf 'name="x"\nparallel.ep=4\n' >"$SEEDS/set/3"
for u in 80GiB 3.35TBps 400Gbps 1.5us 989TFlops 1e3GFlop 12ms; do printf '%s' "$u" >"$SEEDS/units/$u"; done
cp tests/corpus/traces/*.jsonl "$SEEDS/jsonl/" 2>/dev/null || true
cp tests/corpus/traces/vllm_*.jsonl "$SEEDS/vllm_jsonl/" 2>/dev/null || true
cp tests/corpus/traces/*.csv "$SEEDS/csv/"; cp tests/corpus/traces/*.npy "$SEEDS/npy/"
cp tests/corpus/traces/*.mtrace "$SEEDS/binary/"; cp tests/corpus/traces/*.loads "$SEEDS/load_matrix/"
[ -f ../shared/data/routing/olmoe-1b-7b_layer0_vllm.jsonl ] && head -c 200000 ../shared/data/routing/olmoe-1b-7b_layer0_vllm.jsonl >"$SEEDS/vllm_jsonl/olmoe"
if [ -x build/moesim ]; then
  G="$SEEDS/gen.toml"
  printf 'seed = 1\nsteps = 2\ntokens = 16\n[model]\nexperts = 8\ntop_k = 2\nmoe_layers = 2\n[routing]\nkind = "uniform"\n' >"$G"
  build/moesim trace gen "$G" -o "$SEEDS/jsonl/gen.jsonl" >/dev/null
  build/moesim trace convert "$SEEDS/jsonl/gen.jsonl" "$SEEDS/csv/gen.csv" >/dev/null
  build/moesim trace convert "$SEEDS/jsonl/gen.jsonl" "$SEEDS/binary/gen.mtrace" >/dev/null
  build/moesim trace convert "$SEEDS/jsonl/gen.jsonl" "$SEEDS/load_matrix/gen.loads" >/dev/null
  printf 'seed = 1\nsteps = 1\ntokens = 16\n[model]\nexperts = 8\ntop_k = 2\nmoe_layers = 2\n[routing]\nkind = "uniform"\n' >"$G"
  build/moesim trace gen "$G" -o "$SEEDS/npy/gen.npy" >/dev/null
fi

seed_dir() {
  case "$1" in
    fuzz_scenario_toml) echo toml ;; fuzz_set) echo set ;; fuzz_units) echo units ;;
    fuzz_trace_*) echo "${1#fuzz_trace_}" ;;
  esac
}
mkdir -p "$OUT"
status=0
for t in "${TARGETS[@]}"; do
  mkdir -p "$OUT/$t/corpus"
  echo "== $t: ${SECS}s"
  # -rss_limit_mb: a reader must refuse absurd sizes, not allocate them; -timeout: no hangs.
  # Per-input time limit: 20 s; 90 s for whole scenarios, whose largest shipped seeds (DeepSeek-V3
  # serving on 32 GPUs: 1.2 s to check natively) take over 20 s under ASan + coverage instrumentation.
  limit=20; [ "$t" = fuzz_scenario_toml ] && limit=90
  if ! (cd "$OUT/$t" && MOESIM_DATA_DIR="$ROOT" "$ROOT/$BUILD/fuzz/$t" -max_total_time="$SECS" -timeout="$limit" -rss_limit_mb=2048 \
          -max_len=65536 -print_final_stats=1 corpus "$ROOT/$SEEDS/$(seed_dir "$t")" 2>"log.txt"); then
    status=1
    echo "   FINDING: see $OUT/$t/log.txt and $OUT/$t/crash-* / timeout-*"
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$OUT/$t/log.txt" | sed 's/^/   /' || true
done
exit $status
