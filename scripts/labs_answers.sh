#!/usr/bin/env bash
# Recomputes the numeric answers of the lab pages (docs/labs/NN_*.md) by running the command block
# shown beside each one (```sh answer=A1.2```), the same way tests/labs does: bash -eo pipefail in a
# scratch folder that links the repository's scenarios/, validate/, hardware/, models/ and docs/,
# with `moesim` on PATH; the block's last output line is the answer.
#
#   scripts/labs_answers.sh                 # compare every answer with the value on its page
#   scripts/labs_answers.sh --update        # rewrite the values (`= **N**`) on the pages, same decimals
#   scripts/labs_answers.sh --figures       # also run the ```sh figure=NAME.svg``` blocks and copy the
#                                           # SVG each one draws to docs/labs/figures/<NAME>.svg (gnuplot)
#   scripts/labs_answers.sh [--build DIR] [docs/labs/03_training_sharding.md ...]
#
# Needs bash, awk, jq (scripts/install-deps.sh) and a built moesim (build/, or --build / $BUILD_DIR).
# Exit 1 when an answer differs from its page beyond the page's tolerance (without --update).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD_DIR:-$ROOT/build}"
UPDATE=0 FIGURES=0 PAGES=()
while [ $# -gt 0 ]; do
  case "$1" in
    --update) UPDATE=1 ;;
    --figures) FIGURES=1 ;;
    --build) BUILD="$2"; shift ;;
    -h|--help) sed -n 2,15p "$0"; exit 0 ;;
    *) PAGES+=("$1") ;;
  esac
  shift
done
[ ${#PAGES[@]} -gt 0 ] || mapfile -t PAGES < <(ls "$ROOT"/docs/labs/[0-9][0-9]_*.md)
MOESIM="$(cd "$BUILD" && pwd)/moesim"
[ -x "$MOESIM" ] || { echo "labs_answers: no moesim at $MOESIM (build it, or --build DIR)" >&2; exit 4; }
command -v jq >/dev/null || { echo "labs_answers: jq is needed (scripts/install-deps.sh)" >&2; exit 4; }
export MOESIM_DATA_DIR="$ROOT"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# Splits a page into $2/<kind>-<id> files (kind answer or figure), first line "#needs <path>".
split_blocks() {
  awk -v dir="$2" '
    /^```/ && !inblock && length($0) > 3 {
      inblock = 1; out = ""; needs = ""
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^answer=/) out = dir "/answer-" substr($i, 8)
        if ($i ~ /^figure=/) out = dir "/figure-" substr($i, 8)
        if ($i ~ /^needs=/) needs = substr($i, 7)
      }
      if (out != "") print "#needs " needs > out
      next
    }
    /^```/ && inblock { inblock = 0; if (out != "") close(out); out = ""; next }
    inblock && out != "" { print >> out }
  ' "$1"
}

# Runs a block file in a fresh scratch repository; prints its stdout; the scratch folder is left in $3.
run_block() {
  local block="$1" base="$2"
  rm -rf "$base"; mkdir -p "$base/repo/bin"
  for d in scenarios validate docs hardware models; do ln -s "$ROOT/$d" "$base/repo/$d"; done
  [ -d "$ROOT/../shared" ] && ln -s "$(cd "$ROOT/../shared" && pwd)" "$base/shared"
  ln -s "$MOESIM" "$base/repo/bin/moesim"
  tail -n +2 "$block" > "$base/repo/block.sh"
  (cd "$base/repo" && PATH="$base/repo/bin:$PATH" bash -eo pipefail block.sh)
}

# The value line of an answer: prints "<number> <tolerance %>".
page_value() {
  grep -m1 -E "\*\*$2\*\*.*= \*\*-?[0-9]" "$1" | sed -E 's/.*= \*\*(-?[0-9.]+([eE][-+]?[0-9]+)?)\*\*[^(]*\(±([0-9.]+) ?%\).*/\1 \3/'
}

# Formats $2 like $1 (same number of decimals, or the same e-notation).
like() {
  local old="$1" new="$2" mant="${1%%[eE]*}" d=0 int
  int="${mant%%.*}"
  [[ "$mant" == *.* ]] && d=$(( ${#mant} - ${#int} - 1 ))
  if [[ "$old" == *[eE]* ]]; then printf "%.${d}e" "$new"; else printf "%.${d}f" "$new"; fi
}

status=0
for page in "${PAGES[@]}"; do
  blocks="$WORK/$(basename "$page" .md)"; mkdir -p "$blocks"
  split_blocks "$page" "$blocks"
  for b in "$blocks"/answer-*; do
    [ -e "$b" ] || continue
    id="${b##*/answer-}"
    needs="$(head -1 "$b" | cut -c8-)"
    if [ -n "$needs" ] && [ ! -e "$ROOT/$needs" ]; then echo "$id: skipped ($needs absent)"; continue; fi
    read -r old tol < <(page_value "$page" "$id") || { echo "$id: no value line on $page" >&2; status=1; continue; }
    new="$(run_block "$b" "$WORK/run" | tail -1)"
    ok=$(jq -n --arg o "$old" --arg n "$new" --arg t "$tol" --arg t0 "$old" \
      '($o|tonumber) as $o | ($n|tonumber) as $n | (($n - $o)|fabs) <= ($t|tonumber)/100 * ($o|fabs) + 1e-12 + ($t0|split(".")|if length > 1 then pow(10; -(.[1]|length)) / 2 else 0.5 end)' 2>/dev/null || echo false)
    printf '%-6s %-28s page %-12s now %-14s ±%s%%  %s\n' "$id" "$(basename "$page")" "$old" "$new" "$tol" "$([ "$ok" = true ] && echo ok || echo DIFFERS)"
    if [ "$UPDATE" = 1 ]; then
      fmt="$(like "$old" "$new")"
      awk -v id="**$id**" -v old="= **$old**" -v new="= **$fmt**" '
        !done && index($0, id) && index($0, old) { i = index($0, old); $0 = substr($0, 1, i - 1) new substr($0, i + length(old)); done = 1 }
        { print }' "$page" > "$WORK/page" && cat "$WORK/page" > "$page"
    elif [ "$ok" != true ]; then
      status=1
    fi
  done
  if [ "$FIGURES" = 1 ]; then
    command -v gnuplot >/dev/null || { echo "labs_answers: --figures needs gnuplot" >&2; exit 4; }
    for b in "$blocks"/figure-*; do
      [ -e "$b" ] || continue
      name="${b##*/figure-}"
      run_block "$b" "$WORK/fig" >/dev/null
      mapfile -t svgs < <(find "$WORK/fig/repo/out" -name '*.svg')
      [ ${#svgs[@]} -eq 1 ] || { echo "$name: the block drew ${#svgs[@]} SVGs, expected one" >&2; status=1; continue; }
      cp "${svgs[0]}" "$ROOT/docs/labs/figures/$name"
      echo "figure docs/labs/figures/$name"
    done
  fi
done
exit $status
