#!/usr/bin/env bash
# Runs every microbenchmark kernel of validate/ on this machine and writes their CSVs (with
# provenance), a headline summary and a README.md into one folder.
#
#   validate/scripts/microbench.sh [--quick|--full] [--out DIR] [--build DIR] [--only LIST]
#
#   --quick   (default) about 9 minutes on a 2-core machine: fewer shapes, sizes and repeats
#   --full    every shape/size of docs/validation.md (tens of minutes)
#   --out     result folder (default validate/data/<host>-<date>)
#   --build   CMake build folder (default $BUILD_DIR or build); the kernels are built if missing
#   --only    comma list of gemm,membw,storage,mpi,cuda (default: all that were built)
#   --scratch scratch file for the storage kernel (default /var/tmp/moesim-storage.bin): put it on
#             the disk you want to measure
#   --require-idle  refuse to measure (exit 3) when the 1-minute load average exceeds --max-load
#   --max-load L    idle threshold (default: 0.5); the load is always recorded in OUT/LOAD.txt
set -euo pipefail
cd "$(dirname "$0")/../.."

MODE=quick
OUT=""
BUILD=${BUILD_DIR:-build}
ONLY="gemm,membw,storage,mpi,cuda"
SCRATCH=/var/tmp/moesim-storage.bin
REQUIRE_IDLE=0
MAX_LOAD=0.5
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) MODE=quick ;;
    --full) MODE=full ;;
    --out) OUT=$2; shift ;;
    --build) BUILD=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --scratch) SCRATCH=$2; shift ;;
    --require-idle) REQUIRE_IDLE=1 ;;
    --max-load) MAX_LOAD=$2; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "microbench.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$OUT" ] || OUT="validate/data/$(hostname)-$(date -u +%Y-%m-%d)"
mkdir -p "$OUT"
BIN="$BUILD/validate"
. validate/scripts/load_guard.sh
load_guard_start "$OUT" "$REQUIRE_IDLE" "$MAX_LOAD"

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

# Off-grid sizes, held out by the calibrator (the power-of-two grid is fitted): drawn once,
# log-uniformly, with Python's random.Random(16) (storage: 64 KiB..256 MiB in 4 KiB steps; links:
# 1 KiB..16 MiB in 64 B steps) and listed here so every machine measures the same points.
STORAGE_OFFGRID=69632B,212992B,540672B,565248B,806912B,864256B,1064960B,1327104B,1974272B,2101248B,2695168B,3567616B,12890112B,15572992B,16883712B,31764480B,46505984B,54194176B,110731264B,186482688B
# 32 off-grid link sizes (the last 18 log-uniform in 1.1 KB..15 MB, multiples of 64 B, seed 20261207),
# so the rank counts on their own cores alone have >= 30 held-out points.
LINK_OFFGRID=1344B,1600B,9024B,12544B,17600B,18112B,20672B,29952B,62144B,86208B,448448B,525120B,2140544B,10166848B
LINK_OFFGRID=$LINK_OFFGRID,1216B,2368B,2432B,4352B,4480B,7360B,8128B,21120B,22848B,69824B,182272B,309952B,466368B,494080B,517824B,1999104B,7804352B,9868352B
if [ "$MODE" = quick ]; then
  # GEMM: the shape grid (m x n*k x alignment of B's rows) the shape table is fitted on, 40 random
  # off-grid shapes held out. Eight (k, n) bases, each with n + 0/16/32/64/128 so B's row pitch
  # (n x 4 bytes) is aligned to >= 1 KiB / 64 / 128 / 256 / 512 bytes (docs/validation.md).
  GEMM_ARGS=(--threads 1,2 --dtypes fp32 --m 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,32,48,64,96,128,192,256,512,1024,2048
             --kn 512x512,1024x1024,768x3072,3072x768,2048x1024,1024x2048,2048x2048,3072x3072,512x528,1024x1040,768x3088,3072x784,2048x1040,1024x2064,2048x2064,3072x3088,512x544,1024x1056,768x3104,3072x800,2048x1056,1024x2080,2048x2080,3072x3104,512x576,1024x1088,768x3136,3072x832,2048x1088,1024x2112,2048x2112,3072x3136,512x640,1024x1152,768x3200,3072x896,2048x1152,1024x2176,2048x2176,3072x3200
             --random-shapes 40 --random-m 1,2048 --random-nk 512,3072 --square 512,1024,2048
             --groups 8,16,64 --tokens 16,64,256,1024,4096 --skews 0,1 --grouped-kn 768x3072
             --warmup 1 --min-reps 3 --max-reps 18 --budget 0.15 --cold-weights-mib 1024 --passes 9 --shuffle-seed 1)
  # GEMM register tile (calibrator: validate/calibrate/gemm_tile.hpp): every m from 16 to 48 on six
  # of the grid's (k, n), in one run, so periods up to 16 rows can be told (rows: pattern tile).
  GEMM_TILE_ARGS=(--threads 1,2 --dtypes fp32 --m "$(seq -s, 16 48)"
                  --kn 512x512,2048x1024,1024x2048,3072x768,2048x1040,1024x2112 --grid-only --pattern tile
                  --warmup 1 --min-reps 3 --max-reps 18 --budget 0.15 --cold-weights-mib 1024 --passes 9 --shuffle-seed 1)
  MEMBW_ARGS=(--threads 1,2 --array-sizes 256KiB,4MiB,128MiB --memcpy-sizes 4KiB..256MiB
              --warmup 1 --min-reps 5 --max-reps 20 --budget 0.15)
  # Storage: O_DIRECT qd1 on the grid + off-grid sizes (the regimes fit and its held-out check);
  # then the page-cache modes and queue depth 4 on a coarser grid (storage-modes.csv).
  STORAGE_ARGS=(--file-size 512MiB --block-sizes "64KiB..256MiB,96KiB..192MiB,$STORAGE_OFFGRID" --block-factor 2
                --modes direct --queue-depths 1 --passes 15 --shuffle-seed 1 --budget 0.5)
  STORAGE_MODES_ARGS=(--file-size 512MiB --block-sizes 64KiB..256MiB --block-factor 4 --queue-depths 1,4
                      --modes buffered_cold,buffered_warm --budget 0.2)
  MPI_RANKS="2 4 8"
  # The fit grid: 2^k and 3*2^k bytes per pair (calibrate.hpp on_grid).
  MPI_ARGS=(--sizes "1KiB..16MiB,1536B..12MiB,$LINK_OFFGRID" --size-factor 2 --shuffle-seed 1 --passes 9 --skews 1 --max-buffer-gib 0.25
            --warmup 1 --min-reps 3 --max-reps 20 --budget 0.1)
  CUDA_ARGS=(--m 1..8192 --square 4096,8192 --groups 8,64 --tokens 512,8192 --reps 10
             --copy-sizes 1MiB..1GiB --host-sizes 64KiB..256MiB)
  # cuBLAS's tile in m (tile quantisation): every m from 16 to 400, so periods up to 128 can be told
  # (gemm_tile.hpp needs m = u..3u-1); fp32, the dtype the calibrator fits when it is measured.
  CUDA_TILE_ARGS=(--dtypes fp32 --m "$(seq -s, 16 400)" --kn 4096x14336 --grid-only --pattern tile --reps 10)
else
  GEMM_ARGS=(--threads 1,2 --dtypes fp32,fp64 --m 1..4096
             --kn 512x512,1024x1024,768x3072,3072x768,2048x1024,1024x2048,2048x2048,4096x14336
             --random-shapes 100 --random-m 1,4096 --random-nk 512,4096
             --square 256..4096 --groups 8,16,64,128 --tokens 16..8192 --skews 0,0.5,1,1.5
             --grouped-kn 768x3072 --max-gflop 500 --max-weights-gib 2 --budget 1 --cold-weights-mib 1024 --passes 9 --shuffle-seed 1)
  GEMM_TILE_ARGS=(--threads 1,2 --dtypes fp32,fp64 --m "$(seq -s, 16 48)"
                  --kn 512x512,2048x1024,1024x2048,3072x768,2048x1040,1024x2112 --grid-only --pattern tile
                  --budget 1 --cold-weights-mib 1024 --passes 9 --shuffle-seed 1)
  MEMBW_ARGS=(--threads 1,2 --array-sizes 64KiB..512MiB --memcpy-sizes 1KiB..1GiB --budget 0.5)
  STORAGE_ARGS=(--file-size 4GiB --block-sizes "64KiB..256MiB,96KiB..192MiB,$STORAGE_OFFGRID" --block-factor 2
                --modes direct --queue-depths 1 --passes 15 --shuffle-seed 1 --budget 2)
  STORAGE_MODES_ARGS=(--file-size 4GiB --block-sizes 64KiB..256MiB --block-factor 2 --queue-depths 1,2,4,8,16
                      --budget 1)
  MPI_RANKS="2 3 4 6 8"
  MPI_ARGS=(--sizes "1KiB..64MiB,1536B..48MiB,$LINK_OFFGRID" --size-factor 2 --shuffle-seed 1 --passes 9 --skews 0.5,1,1.5 --max-buffer-gib 2 --budget 0.5)
  CUDA_ARGS=()
  CUDA_TILE_ARGS=(--dtypes fp32 --m "$(seq -s, 16 400)" --kn 4096x14336 --grid-only --pattern tile)
fi

if wants gemm; then
  if [ -x "$BIN/mb_gemm" ]; then
    step gemm "$BIN/mb_gemm" "${GEMM_ARGS[@]}" --out "$OUT/gemm.csv"
    step "gemm tile" "$BIN/mb_gemm" "${GEMM_TILE_ARGS[@]}" --out "$OUT/gemm-tile.csv"
  else echo "== gemm: skipped (mb_gemm not built: OpenBLAS missing)" | tee -a "$LOG"; fi
fi
if wants membw; then step membw "$BIN/mb_membw" "${MEMBW_ARGS[@]}" --out "$OUT/membw.csv"; fi
if wants storage; then
  step storage "$BIN/mb_storage" "${STORAGE_ARGS[@]}" --file "$SCRATCH" --out "$OUT/storage.csv"
  step "storage modes" "$BIN/mb_storage" "${STORAGE_MODES_ARGS[@]}" --file "$SCRATCH" --out "$OUT/storage-modes.csv"
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
    step "cuda tile" "$BIN/mb_cuda" "${CUDA_TILE_ARGS[@]}" --out "$OUT/cuda-tile.csv"
  else
    echo "== cuda: skipped (mb_cuda not built or no GPU)" | tee -a "$LOG"
  fi
fi

load_guard_end "$OUT"

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
  echo "Machine load (LOAD.txt, one section per run of this script):"
  paste -d' ' <(sed -n 's/^loadavg_start: /- start /p' "$OUT/LOAD.txt") <(sed -n 's/^loadavg_end: /end /p' "$OUT/LOAD.txt") \
    <(sed -n 's/^verdict: /verdict /p' "$OUT/LOAD.txt")
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
