#include <algorithm>

#include "hardware/spec.hpp"

namespace moesim::hw {

const std::vector<std::string>& dtype_names() {
  static const std::vector<std::string> names = {"fp32", "tf32", "bf16", "fp16", "fp8", "int8", "int4", "int2"};
  return names;
}

std::optional<Dtype> dtype_from_name(std::string_view name) {
  const auto& n = dtype_names();
  auto it = std::find(n.begin(), n.end(), name);
  if (it == n.end()) return std::nullopt;
  return static_cast<Dtype>(it - n.begin());
}

std::string_view dtype_name(Dtype d) { return dtype_names()[static_cast<size_t>(d)]; }

double dtype_bytes(Dtype d) {
  switch (d) {
    case Dtype::fp32: case Dtype::tf32: return 4.0;  // tf32 is stored as fp32
    case Dtype::bf16: case Dtype::fp16: return 2.0;
    case Dtype::fp8: case Dtype::int8: return 1.0;
    case Dtype::int4: return 0.5;
    case Dtype::int2: return 0.25;
  }
  return 2.0;
}

}  // namespace moesim::hw
