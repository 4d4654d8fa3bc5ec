#pragma once
// Command-line pieces every microbenchmark shares (header-only: the kernels link CLI11, the
// common library does not).
#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>

#include "validate/common/measure.hpp"

namespace moesim::bench {

// --warmup, --min-reps, --max-reps, --budget onto a MeasureOptions.
inline void add_measure_options(CLI::App& app, MeasureOptions& m, const char* warmup_help = "warm-up calls") {
  app.add_option("--warmup", m.warmup, warmup_help);
  app.add_option("--min-reps", m.min_reps, "timed samples at least");
  app.add_option("--max-reps", m.max_reps, "timed samples at most");
  app.add_option("--budget", m.budget_s, "seconds of sampling per configuration");
}

// Runs a benchmark's body; an exception is printed as "<name>: error: ..." and gives exit code 1.
inline int run_reporting(const char* name, const std::function<void()>& body) {
  try {
    body();
  } catch (const std::exception& e) {
    std::cerr << name << ": error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}

}  // namespace moesim::bench
