// Quantised-weight GEMM work (equations and sources in quant_compute.hpp).
#include "models/offload/quant_compute.hpp"

#include <stdexcept>

namespace moesim::offload {

const std::vector<std::string>& dequant_mode_names() {
  static const std::vector<std::string> n{"separate", "fused", "none"};
  return n;
}

DequantMode dequant_mode_from_name(const std::string& name) {
  if (name == "fused") return DequantMode::fused;
  if (name == "none") return DequantMode::none;
  if (name == "separate") return DequantMode::separate;
  throw std::invalid_argument("unknown dequant mode '" + name + "'");
}

double dequant_ops_per_weight(Bits b, bool asymmetric) {
  if (is_float_bits(b)) return 0.0;
  const double convert_and_scale = 2.0;
  if (b == 8) return convert_and_scale + (asymmetric ? 1.0 : 0.0);
  const double offset = 1.0;  // zero point, or the constant offset of a symmetric unsigned code
  const double unpack = (8 % b == 0) ? 2.0 : 5.0;  // within a byte, or straddling two fields
  return convert_and_scale + offset + unpack;
}

QuantGemmWork quantized_gemm(double params, Bits b, const QuantFormat& f, DequantMode mode,
                             double activation_bytes_per_weight) {
  QuantGemmWork w;
  const double stored = quantized_bytes(params, b, f);
  w.gemm_weight_bytes = stored;
  if (is_float_bits(b) || mode == DequantMode::none) return w;
  const double ops = params * dequant_ops_per_weight(b, f.asymmetric);
  if (mode == DequantMode::fused) {
    w.gemm_extra_ops = ops;
    return w;
  }
  const double dequantised = params * activation_bytes_per_weight;
  w.dequant_ops = ops;
  w.dequant_bytes = stored + dequantised;
  w.gemm_weight_bytes = dequantised;
  return w;
}

int64_t ramp_rows(int64_t rows, int64_t gemv_rows) { return rows <= gemv_rows ? 0 : rows; }

}  // namespace moesim::offload
