#pragma once
// Statistics of repeated timings: median and spread (percentiles by linear interpolation between
// order statistics, the "type 7" definition of Hyndman & Fan 1996, as numpy's default).
#include <cstdint>
#include <vector>

namespace moesim::bench {

struct Summary {
  std::size_t count = 0;
  double median = 0, p10 = 0, p90 = 0, min = 0, max = 0, mean = 0, stddev = 0;
};

// q in [0, 1]; `sorted` ascending and non-empty.
double percentile_sorted(const std::vector<double>& sorted, double q);

// Summary of samples (any order). An empty input gives a Summary with count 0.
Summary summarize(std::vector<double> samples);

// Number of calls to batch into one timed sample so that a sample lasts at least min_sample_s,
// given the duration of one call (timer resolution and loop overhead then stay below ~0.1%).
// Clamped to [1, max_inner].
int64_t choose_inner_iterations(double one_call_s, double min_sample_s, int64_t max_inner);

}  // namespace moesim::bench
