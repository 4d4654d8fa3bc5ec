#!/usr/bin/env bash
# Run-to-run repeatability of the held-out GEMMs: how far apart two measurements of the same
# random off-grid shapes land, and how much of that is a shift of the whole run (the machine
# faster or slower in those minutes) rather than noise of single rows. The noise left after the
# shift is the floor under any model's held-out error (docs/validation.md, "Noise floor of a
# held-out point").
#
#   validate/scripts/repeatability.sh [--out DIR] [--runs R] [--configs "NAME:PASSES:MAXREPS ..."]
#
# Every config is measured R times, the configs interleaved (run 1 of each, then run 2, ...), each
# run with its own shuffle seed. mb_gemm measures microbench.sh --quick's 40 random shapes (same
# seed and ranges, threads 1 and 2, cold weights) and little else. For every pair of runs of a
# config and each thread count, the report gives the median log-ratio of the rows (the run's
# shift) and the median and p90 of |log-ratio - shift| (the rows' own noise), in percent.
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=""
RUNS=3
CONFIGS="p3:3:15 p9:9:18"
BUILD=build
while [ $# -gt 0 ]; do
  case $1 in
    --out) OUT=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --configs) CONFIGS=$2; shift ;;
    --build) BUILD=$2; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "repeatability.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$OUT" ] || OUT="validate/data/$(hostname)-$(date -u +%Y-%m-%d)-repeatability"
BIN=$BUILD/validate/mb_gemm
[ -x "$BIN" ] || { echo "repeatability.sh: $BIN not built" >&2; exit 1; }
mkdir -p "$OUT"

for i in $(seq 1 "$RUNS"); do
  for c in $CONFIGS; do
    IFS=: read -r name passes maxreps <<<"$c"
    "$BIN" --threads 1,2 --dtypes fp32 --m 1 --kn 512x512 --random-shapes 40 --random-m 1,2048 --random-nk 512,3072 \
      --square 512 --groups 8 --tokens 16 --skews 0 --grouped-kn 768x3072 --warmup 1 --min-reps 3 \
      --max-reps "$maxreps" --budget 0.15 --cold-weights-mib 1024 --passes "$passes" --shuffle-seed "$i" \
      --out "$OUT/$name-$i.csv"
  done
done

# key (threads,m,n,k) -> median_s of the random rows of one CSV
rows() { awk -F, '/^#/ {next} !h {for (i = 1; i <= NF; i++) c[$i] = i; h = 1; next}
  $c["pattern"] == "random" {print $c["threads"] "," $c["m"] "," $c["n"] "," $c["k"], $c["median_s"]}' "$1" | sort; }
quantile() { sort -g | awk -v q="$1" '{v[NR] = $1} END {i = int(q * NR + 0.5); if (i < 1) i = 1; if (i > NR) i = NR; print v[i]}'; }

{
  echo "| config | threads | runs | shift % | residual median % | residual p90 % |"
  echo "|---|---|---|---|---|---|"
  for c in $CONFIGS; do
    name=${c%%:*}
    for t in 1 2; do
      for a in $(seq 1 "$RUNS"); do
        for b in $(seq $((a + 1)) "$RUNS"); do
          lr=$(join <(rows "$OUT/$name-$a.csv") <(rows "$OUT/$name-$b.csv") |
               awk -v t="$t" '{split($1, k, ","); if (k[1] == t) print log($2 / $3)}')
          shift_=$(quantile 0.5 <<<"$lr")
          res=$(awk -v s="$shift_" '{d = $1 - s; print (d < 0 ? -d : d) * 100}' <<<"$lr")
          printf '| %s | %s | %s-%s | %+.1f | %.1f | %.1f |\n' "$name" "$t" "$a" "$b" \
            "$(awk -v s="$shift_" 'BEGIN {print s * 100}')" "$(quantile 0.5 <<<"$res")" "$(quantile 0.9 <<<"$res")"
        done
      done
    done
  done
} | tee "$OUT/repeatability.md"
