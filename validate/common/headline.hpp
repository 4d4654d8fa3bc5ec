#pragma once
// Headline numbers of a microbenchmark run (what docs/validation.md and the data README report):
// peak GEMM rate, GEMM efficiency at small m, STREAM copy/triad, disk sequential/random rates and
// latency, All-to-All latency and bandwidth. Pure functions of the records.
#include <string>
#include <vector>

#include "validate/common/record.hpp"

namespace moesim::bench {

struct Headline {
  std::string name;   // e.g. "gemm.fp32.threads2.peak"
  double value = 0;
  std::string unit;   // GFLOP/s, GB/s (1e9 B/s), MB/s (1e6 B/s), us, fraction
  std::string where;  // the configuration it came from
};

std::vector<Headline> headlines(const std::vector<Record>& records);

// "name = value unit  (where)" lines.
std::string format_headlines(const std::vector<Headline>& h);

}  // namespace moesim::bench
