# Machine load around a measurement (sourced by microbench.sh and layer_check.sh).
#
#   load_guard_start OUT_DIR REQUIRE_IDLE MAX_LOAD   appends the load before measuring to
#                                                   OUT_DIR/LOAD.txt (one section per run); with REQUIRE_IDLE=1 it
#                                                   refuses (exit 3) when the 1-minute load
#                                                   average exceeds MAX_LOAD
#   load_guard_end OUT_DIR                          appends the load after, and the verdict
#
# LOAD.txt: /proc/loadavg before and after, the logical cores, the ten busiest OTHER processes
# (%CPU over their lifetime, from ps) and a verdict line "verdict: IDLE" or "verdict: BUSY (...)".
# A BUSY run is not hidden: its numbers are reported with the verdict (docs/validation.md).

load_guard_busy_procs() {  # the ten busiest processes that are not this script's own tree
  ps -eo pid,ppid,pcpu,etimes,comm --sort=-pcpu 2>/dev/null | awk -v me=$$ 'NR == 1 || ($1 != me && $2 != me)' | head -11
}

load_guard_start() {
  local out=$1 require=$2 max=$3
  local load1 cores
  load1=$(cut -d' ' -f1 /proc/loadavg)
  cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
  {
    echo "# Machine load around one measurement run (validate/scripts/load_guard.sh) by $0"
    echo "date_utc_start: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cpu_logical_cores: $cores"
    echo "loadavg_start: $(cat /proc/loadavg)"
    echo "idle_threshold_load1: $max"
    echo "busiest_processes_start:"
    load_guard_busy_procs | sed 's/^/  /'
  } >> "$out/LOAD.txt"
  if awk -v l="$load1" -v m="$max" 'BEGIN { exit !(l > m) }'; then
    LOAD_GUARD_BUSY_START="1-minute load $load1 > $max at start"
    if [ "$require" = 1 ]; then
      echo "verdict: REFUSED ($LOAD_GUARD_BUSY_START; --require-idle)" >> "$out/LOAD.txt"
      echo "load guard: machine busy ($LOAD_GUARD_BUSY_START): refusing to measure (--require-idle); see $out/LOAD.txt" >&2
      exit 3
    fi
  else
    LOAD_GUARD_BUSY_START=""
  fi
}

load_guard_end() {
  local out=$1 max load1 verdict
  max=$(sed -n 's/^idle_threshold_load1: //p' "$out/LOAD.txt" | tail -1)
  load1=$(cut -d' ' -f1 /proc/loadavg)
  {
    echo "date_utc_end: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "loadavg_end: $(cat /proc/loadavg)"
    echo "busiest_processes_end:"
    load_guard_busy_procs | sed 's/^/  /'
  } >> "$out/LOAD.txt"
  verdict="IDLE"
  local why="$LOAD_GUARD_BUSY_START"
  # The benchmark itself raises the load: only the start is compared with the threshold, the end
  # is reported (a load far above the kernels' own threads means competing work).
  [ -n "$why" ] && verdict="BUSY ($why)"
  echo "verdict: $verdict" >> "$out/LOAD.txt"
  echo "== load: $verdict (start $(sed -n 's/^loadavg_start: //p' "$out/LOAD.txt" | tail -1), end $(cat /proc/loadavg))"
}
