#pragma once
// Bit-widths of offloaded experts.
//  - Stored size of an expert at b bits, per-group scales: bytes = params * b / 8
//    + (params / group_size) * scale_bytes (one FP16 scale per group, plus an FP16 zero point for
//    asymmetric formats; EdgeMoE: per-channel symmetric, D²MoE: group 128 asymmetric).
//  - Per-expert precision from an importance list (EdgeMoE §"expert-wise bitwidth adaptation",
//    MoQE): the K = round(low_fraction * experts) least important experts get `low` bits, the rest
//    `high`.
//  - Dequantization cost by width and where the runtime does it: quant_compute.hpp.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hardware/spec.hpp"

namespace moesim::offload {

// Bits per weight; 3, 5, 6, 7 are D²MoE's nested intermediate widths.
using Bits = int32_t;
const std::vector<std::string>& bit_width_names();  // int2 int3 int4 int5 int6 int7 int8 fp16 fp32
std::optional<Bits> bits_from_name(std::string_view name);
std::string bits_name(Bits b);
bool is_float_bits(Bits b);  // 16, 32: stored as-is, no scales, no dequantization

struct QuantFormat {
  int64_t group_size = 128;   // weights per scale
  bool asymmetric = false;    // adds a zero point per group
};

double quantized_bytes(double params, Bits b, const QuantFormat& f);

// [layer][expert] bit-widths.
using PrecisionMap = std::vector<std::vector<Bits>>;
PrecisionMap uniform_precision(int32_t layers, int32_t experts, Bits b);
// importance[layer][expert]: larger = more important. Ties: lower (layer, expert) is less important.
PrecisionMap precision_by_importance(const std::vector<std::vector<double>>& importance, Bits low, Bits high,
                                     double low_fraction);

}  // namespace moesim::offload
