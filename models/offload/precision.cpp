#include "models/offload/precision.hpp"

#include <algorithm>
#include <cmath>

namespace moesim::offload {

const std::vector<std::string>& bit_width_names() {
  static const std::vector<std::string> n{"int2", "int3", "int4", "int5", "int6", "int7", "int8", "fp16", "fp32"};
  return n;
}

std::optional<Bits> bits_from_name(std::string_view name) {
  static const std::vector<Bits> v{2, 3, 4, 5, 6, 7, 8, 16, 32};
  const auto& n = bit_width_names();
  for (size_t i = 0; i < n.size(); ++i)
    if (n[i] == name) return v[i];
  return std::nullopt;
}

bool is_float_bits(Bits b) { return b >= 16; }

std::string bits_name(Bits b) { return (is_float_bits(b) ? "fp" : "int") + std::to_string(b); }

double quantized_bytes(double params, Bits b, const QuantFormat& f) {
  double bytes = params * static_cast<double>(b) / 8.0;
  if (is_float_bits(b)) return bytes;
  double groups = std::ceil(params / static_cast<double>(std::max<int64_t>(f.group_size, 1)));
  return bytes + groups * (f.asymmetric ? 4.0 : 2.0);  // FP16 scale (+ FP16 zero point)
}

PrecisionMap uniform_precision(int32_t layers, int32_t experts, Bits b) {
  return PrecisionMap(static_cast<size_t>(layers), std::vector<Bits>(static_cast<size_t>(experts), b));
}

PrecisionMap precision_by_importance(const std::vector<std::vector<double>>& importance, Bits low, Bits high,
                                     double low_fraction) {
  struct Item { double importance; size_t layer, expert; };
  std::vector<Item> items;
  PrecisionMap out;
  for (size_t l = 0; l < importance.size(); ++l) {
    out.emplace_back(importance[l].size(), high);
    for (size_t e = 0; e < importance[l].size(); ++e) items.push_back({importance[l][e], l, e});
  }
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.importance < b.importance; });
  auto k = static_cast<size_t>(std::llround(std::clamp(low_fraction, 0.0, 1.0) * static_cast<double>(items.size())));
  for (size_t i = 0; i < k; ++i) out[items[i].layer][items[i].expert] = low;
  return out;
}

}  // namespace moesim::offload
