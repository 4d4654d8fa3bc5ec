#!/usr/bin/env bash
# Runs every microbenchmark kernel of validate/ on this machine and writes their CSVs (with
# provenance), a headline summary and a README.md into one folder.
#
#   validate/scripts/microbench.sh [--quick|--full] [--out DIR] [--build DIR] [--only LIST]
#
#   --quick   (default) a few minutes on a 2-core machine: fewer shapes, sizes and repeats
#   --full    every shape/size of docs/validation.md (tens of minutes)
#   --out     result folder (default validate/data/<host>-<date>)
#   --build   CMake build folder (default $BUILD_DIR or build); the kernels are built if missing
#   --only    comma list of gemm,membw,storage,mpi,cuda (default: all that were built)
#   --scratch scratch file for the storage kernel (default /var/tmp/moesim-storage.bin): put it on
#             the disk you want to measure
set -euo pipefail
cd "$(dirname "$0")/../.."

MODE=quick
OUT=""
BUILD=${BUILD_DIR:-build}
ONLY="gemm,membw,storage,mpi,cuda"
SCRATCH=/var/tmp/moesim-storage.bin
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) MODE=quick ;;
    --full) MODE=full ;;
    --out) OUT=$2; shift ;;
    --build) BUILD=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --scratch) SCRATCH=$2; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "microbench.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$OUT" ] || OUT="validate/data/$(hostname)-$(date -u +%Y-%m-%d)"
mkdir -p "$OUT"
BIN="$BUILD/validate"

if [ ! -x "$BIN/mb_membw" ]; then
  echo "== building the kernels in $BUILD"
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD" --target microbench
fi

export MOESIM_BENCH_MODE=$MODE
MOESIM_GIT_REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain -- validate 2>/dev/null | grep -v '^??' || true)" ]; then
  MOESIM_GIT_REV="$MOESIM_GIT_REV+dirty"
fi
export MOESIM_GIT_REV

wants() { [[ ",$ONLY," == *",$1,"* ]]; }
LOG="$OUT/run.log"
: > "$LOG"
step() {  # step NAME COMMAND...: runs, times and logs one kernel invocation
  local name=$1; shift
  local t0=$SECONDS
  echo "== $name: $*" | tee -a "$LOG"
  if "$@" >>"$LOG" 2>&1; then
    echo "   done in $((SECONDS - t0)) s" | tee -a "$LOG"
  else
    echo "   FAILED after $((SECONDS - t0)) s (see $LOG)" | tee -a "$LOG"
  fi
}

if [ "$MODE" = quick ]; then
  GEMM_ARGS=(--threads 1,2 --dtypes fp32 --m 1..4096 --kn 768x3072 --square 512,1024,2048
             --groups 8,64 --tokens 64,512,4096 --skews 0,1 --grouped-kn 768x3072
             --warmup 1 --min-reps 3 --max-reps 15 --budget 0.15)
  MEMBW_ARGS=(--threads 1,2 --array-sizes 256KiB,4MiB,128MiB --memcpy-sizes 4KiB..256MiB
              --warmup 1 --min-reps 5 --max-reps 20 --budget 0.15)
  STORAGE_ARGS=(--file-size 512MiB --block-sizes 64KiB..256MiB --block-factor 4 --queue-depths 1,4
                --budget 0.2)
  MPI_RANKS="2 4 8"
  MPI_ARGS=(--sizes 1KiB,8KiB,64KiB,512KiB,4MiB,64MiB --skews 1 --max-buffer-gib 0.25
            --warmup 1 --min-reps 3 --max-reps 20 --budget 0.1)
  CUDA_ARGS=(--m 1..8192 --square 4096,8192 --groups 8,64 --tokens 512,8192 --reps 10
             --copy-sizes 1MiB..1GiB --host-sizes 64KiB..256MiB)
else
  GEMM_ARGS=(--threads 1,2 --dtypes fp32,fp64 --m 1..4096 --kn 768x3072,3072x768,2048x1024,1024x2048,4096x14336
             --square 256..4096 --groups 8,16,64,128 --tokens 16..8192 --skews 0,0.5,1,1.5
             --grouped-kn 768x3072 --max-gflop 500 --max-weights-gib 2 --budget 1)
  MEMBW_ARGS=(--threads 1,2 --array-sizes 64KiB..512MiB --memcpy-sizes 1KiB..1GiB --budget 0.5)
  STORAGE_ARGS=(--file-size 4GiB --block-sizes 64KiB..256MiB --block-factor 2 --queue-depths 1,2,4,8,16
                --budget 1)
  MPI_RANKS="2 3 4 6 8"
  MPI_ARGS=(--sizes 1KiB..64MiB --size-factor 2 --skews 0.5,1,1.5 --max-buffer-gib 2 --budget 0.5)
  CUDA_ARGS=()
fi

if wants gemm; then
  if [ -x "$BIN/mb_gemm" ]; then step gemm "$BIN/mb_gemm" "${GEMM_ARGS[@]}" --out "$OUT/gemm.csv"
  else echo "== gemm: skipped (mb_gemm not built: OpenBLAS missing)" | tee -a "$LOG"; fi
fi
if wants membw; then step membw "$BIN/mb_membw" "${MEMBW_ARGS[@]}" --out "$OUT/membw.csv"; fi
if wants storage; then
  step storage "$BIN/mb_storage" "${STORAGE_ARGS[@]}" --file "$SCRATCH" --out "$OUT/storage.csv"
fi
if wants mpi; then
  if [ -x "$BIN/mb_alltoall" ] && command -v mpirun >/dev/null; then
    ROOT_FLAG=()
    [ "$(id -u)" -eq 0 ] && ROOT_FLAG=(--allow-run-as-root)
    for transport in sm tcp; do
      if [ $transport = sm ]; then MCA=(--mca pml ob1 --mca btl vader,self)
      else MCA=(--mca pml ob1 --mca btl tcp,self --mca btl_tcp_if_include lo); fi
      for p in $MPI_RANKS; do
        # --oversubscribe: more ranks than cores is measured as it is (and noted in every row).
        step "alltoall $transport P=$p" mpirun -np "$p" --oversubscribe "${ROOT_FLAG[@]}" "${MCA[@]}" \
          "$BIN/mb_alltoall" --transport $transport "${MPI_ARGS[@]}" --out "$OUT/alltoall-$transport-p$p.csv"
      done
    done
  else
    echo "== mpi: skipped (mb_alltoall not built or no mpirun)" | tee -a "$LOG"
  fi
fi
if wants cuda; then
  if [ -x "$BIN/mb_cuda" ] && command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
    step cuda "$BIN/mb_cuda" "${CUDA_ARGS[@]}" --out "$OUT/cuda.csv"
  else
    echo "== cuda: skipped (mb_cuda not built or no GPU)" | tee -a "$LOG"
  fi
fi

shopt -s nullglob
CSVS=("$OUT"/*.csv)
if [ ${#CSVS[@]} -gt 0 ]; then
  "$BIN/mb_summary" "${CSVS[@]}" > "$OUT/summary.txt"
fi
field() { grep -m1 "^# $1: " "${CSVS[0]}" | sed "s/^# $1: //"; }
{
  echo "# Microbenchmarks: $(hostname), $(date -u +%Y-%m-%d) ($MODE mode)"
  echo
  echo "Written by \`validate/scripts/microbench.sh --$MODE\` (docs/validation.md describes every"
  echo "kernel, the CSV schema and the equations the calibrator fits)."
  echo
  echo "| provenance | |"
  echo "|---|---|"
  for k in host cpu_model cpu_logical_cores cpu_mhz kernel os memory_total_bytes compiler git_rev loadavg_start; do
    [ ${#CSVS[@]} -gt 0 ] && echo "| $k | $(field $k) |"
  done
  for f in "${CSVS[@]}"; do
    for k in blas mpi drop_caches page_cache_resident_after_evict storage_device gpu cublas; do
      v=$(grep -m1 "^# $k: " "$f" | sed "s/^# $k: //" || true)
      [ -n "$v" ] && echo "| $(basename "$f" .csv): $k | $v |"
    done
  done
  echo
  echo "Files: $(cd "$OUT" && ls *.csv | tr '\n' ' ')"
  echo
  echo '## Headline numbers (mb_summary)'
  echo
  echo '```'
  cat "$OUT/summary.txt" 2>/dev/null || true
  echo '```'
  echo
  echo '## Run log'
  echo
  echo '```'
  grep -E '^(==|   )' "$LOG"
  echo '```'
} > "$OUT/README.md"
echo "== results in $OUT (summary: $OUT/summary.txt)"
