// Contiguous partitions and the model-selection criterion (see segments.hpp).
#include "validate/calibrate/segments.hpp"

#include <algorithm>
#include <cmath>

namespace moesim::calibrate {
namespace {

void extend(size_t n, int parts_left, size_t min_len, std::vector<size_t>& current,
            std::vector<std::vector<size_t>>& out) {
  const size_t start = current.back();
  if (n - start >= min_len) out.push_back(current);  // the rest as one last part
  if (parts_left <= 1) return;
  for (size_t next = start + min_len; next + min_len <= n; ++next) {
    current.push_back(next);
    extend(n, parts_left - 1, min_len, current, out);
    current.pop_back();
  }
}

}  // namespace

std::vector<std::vector<size_t>> contiguous_partitions(size_t n, int max_parts, size_t min_len) {
  std::vector<std::vector<size_t>> out;
  if (n == 0 || max_parts < 1) return out;
  min_len = std::max<size_t>(min_len, 1);
  std::vector<size_t> current{0};
  extend(n, max_parts, min_len, current, out);
  return out;
}

double bic(double sse, int points, int params) {
  const double n = std::max(points, 1);
  return n * std::log(std::max(sse / n, 1e-12)) + params * std::log(n);
}

double regime_boundary(double last_of_lower, double first_of_upper) {
  (void)last_of_lower;  // kept in the signature: the gap the boundary is placed in
  return first_of_upper;
}

}  // namespace moesim::calibrate
