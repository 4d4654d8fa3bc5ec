// Template body of split_by_size (included by calibrate.hpp).
#include <algorithm>

namespace moesim::calibrate {

template <class Key>
SplitRows split_by_size(const std::vector<const Row*>& series, Key key) {
  std::vector<double> sizes;
  for (const Row* r : series) sizes.push_back(static_cast<double>(key(*r)));
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  SplitRows s;
  const auto off_grid = static_cast<size_t>(std::count_if(sizes.begin(), sizes.end(), [](double v) { return !on_grid(v); }));
  const bool by_grid = off_grid >= kMinOffGrid && off_grid < sizes.size();
  s.rule = by_grid ? "grid of 2^k and 3*2^k fitted, off-grid sizes held out" : "even-indexed sizes fitted, odd-indexed held out";
  for (size_t i = 0; i < sizes.size(); ++i)
    ((by_grid ? on_grid(sizes[i]) : i % 2 == 0) ? s.fit_sizes : s.held_sizes).push_back(sizes[i]);
  for (const Row* r : series) {
    const double v = static_cast<double>(key(*r));
    const bool fit = std::binary_search(s.fit_sizes.begin(), s.fit_sizes.end(), v);
    (fit ? s.fit : s.held_out).push_back(r);
  }
  return s;
}

}  // namespace moesim::calibrate
