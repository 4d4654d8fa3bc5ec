#pragma once
// Small helpers shared by the calibrator's fits: selecting rows and printing size lists.
#include <fmt/format.h>

#include <string>
#include <vector>

#include "validate/calibrate/rows.hpp"

namespace moesim::calibrate {

using Rows = std::vector<const Row*>;

template <class Pred>
Rows select(const DataSet& d, Pred p) {
  Rows out;
  for (const Row& r : d.rows)
    if (p(r.r)) out.push_back(&r);
  return out;
}

inline std::string sizes_text(const std::vector<double>& v) {
  std::string out;
  for (double x : v) out += (out.empty() ? "" : ",") + fmt::format("{:g}", x);
  return out;
}

}  // namespace moesim::calibrate
