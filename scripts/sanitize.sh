#!/usr/bin/env bash
# ASan + UBSan build of everything (-DMOESIM_SANITIZE=ON) and the whole test suite run on it.
# Not part of the default test command (it takes ~3x the normal build and ~2-3x the test time).
#   scripts/sanitize.sh            # build in build-sanitize/, run every test
#   scripts/sanitize.sh -R corpus  # extra arguments go to ctest
# Any sanitizer report fails the run (halt_on_error, -fno-sanitize-recover). LeakSanitizer is off:
# SimGrid keeps its engine alive until exit by design. No SimGrid suppressions are set; if one
# becomes necessary it goes in a suppressions file under tests/ with the reason (docs/robustness.md).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD_DIR:-build-sanitize}
JOBS=${JOBS:-$(nproc)}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMOESIM_SANITIZE=ON \
  ${CCACHE:+-DCMAKE_CXX_COMPILER_LAUNCHER=ccache} >/dev/null
cmake --build "$BUILD" -j"$JOBS"
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=0:detect_stack_use_after_return=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
ctest --test-dir "$BUILD" --output-on-failure -j"$JOBS" --timeout 900 "$@"
