#include "validate/common/stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace moesim::bench {

double percentile_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.size() == 1) return sorted.front();
  const double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return sorted[lo] + frac * (sorted[hi] - sorted[lo]);
}

Summary summarize(std::vector<double> samples) {
  Summary s;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  s.count = samples.size();
  s.median = percentile_sorted(samples, 0.5);
  s.p10 = percentile_sorted(samples, 0.1);
  s.p90 = percentile_sorted(samples, 0.9);
  s.min = samples.front();
  s.max = samples.back();
  s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(s.count);
  double ss = 0;
  for (double x : samples) ss += (x - s.mean) * (x - s.mean);
  s.stddev = s.count > 1 ? std::sqrt(ss / static_cast<double>(s.count - 1)) : 0.0;
  return s;
}

int64_t choose_inner_iterations(double one_call_s, double min_sample_s, int64_t max_inner) {
  if (max_inner < 1) max_inner = 1;
  if (!(one_call_s > 0)) return max_inner;
  // (1 - 1e-12): 1e-3 / 1e-6 is 1000.0000000000001 in binary floating point, not 1001 calls.
  const double want = std::ceil(min_sample_s / one_call_s * (1 - 1e-12));
  if (want <= 1) return 1;
  if (want >= static_cast<double>(max_inner)) return max_inner;
  return static_cast<int64_t>(want);
}

}  // namespace moesim::bench
