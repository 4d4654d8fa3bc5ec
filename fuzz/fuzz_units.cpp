// libFuzzer target: the unit parser and the checked-number path. Every accepted value must be
// finite and inside its dimension's limits.
#include <cmath>
#include <cstdlib>
#include <string>

#include "sim/core/units.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  using moesim::Dimension;
  for (auto d : {Dimension::bytes, Dimension::seconds, Dimension::flops, Dimension::bytes_per_second, Dimension::flops_per_second}) {
    auto r = moesim::parse_quantity(text, d);
    if (r && !(std::isfinite(*r) && *r >= 0 && *r <= moesim::quantity_limits(d).max)) std::abort();
  }
  return 0;
}
