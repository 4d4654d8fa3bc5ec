// The roofline compute time and the dtype fallback rule (equations in compute_model.hpp).
#include "hardware/compute_model.hpp"

#include <algorithm>

namespace moesim::hw {

const std::vector<Dtype>& fallback_chain(Dtype d) {
  using enum Dtype;
  // Integers widen within integers, then run dequantized in 16-bit float; floats widen to the
  // next wider float; bf16 and fp16 are not swapped for each other first (different ranges), but
  // both widen to fp32. tf32 is an fp32 tensor-core mode.
  static const std::vector<Dtype> chains[] = {
      /* fp32 */ {},
      /* tf32 */ {fp32},
      /* bf16 */ {fp16, fp32},
      /* fp16 */ {bf16, fp32},
      /* fp8  */ {fp16, bf16, fp32},
      /* int8 */ {fp8, fp16, bf16, fp32},
      /* int4 */ {int8, fp8, fp16, bf16, fp32},
      /* int2 */ {int4, int8, fp8, fp16, bf16, fp32},
  };
  return chains[static_cast<size_t>(d)];
}

Dtype effective_dtype(const DeviceSpec& dev, Dtype d) {
  if (dev.peak.count(d)) return d;
  for (Dtype w : fallback_chain(d)) {
    if (dev.peak.count(w)) return w;
  }
  // Nothing on the chain (e.g. a device listing only int8): its slowest listed dtype.
  auto slowest = std::min_element(dev.peak.begin(), dev.peak.end(),
                                  [](const auto& a, const auto& b) { return a.second < b.second; });
  return slowest == dev.peak.end() ? d : slowest->first;
}

FlopsPerSecond effective_peak(const DeviceSpec& dev, Dtype d) {
  auto it = dev.peak.find(effective_dtype(dev, d));
  return it == dev.peak.end() ? FlopsPerSecond(0.0) : it->second;
}

double gemm_efficiency(const GemmEfficiency& g, int64_t m) {
  if (m <= 0) return g.eff_max;
  double rows = static_cast<double>(m);
  return g.eff_max * rows / (rows + g.m_half);
}

namespace {

Seconds roofline(const DeviceSpec& dev, Flops flops, Bytes bytes, Dtype dtype, double eff, int32_t kernels) {
  double compute = 0.0;
  if (flops.value > 0.0) {
    double rate = effective_peak(dev, dtype).value * eff;
    compute = rate > 0.0 ? flops.value / rate : 0.0;
  }
  double memory = 0.0;
  if (bytes.value > 0.0) {
    double rate = dev.memory_bandwidth.value * dev.memory_efficiency;
    memory = rate > 0.0 ? bytes.value / rate : 0.0;
  }
  return Seconds(std::max(compute, memory) + std::max(kernels, 0) * dev.kernel_launch.value);
}

class Roofline final : public IComputeModel {
 public:
  explicit Roofline(RooflineParams p) : p_(p) {}
  Seconds time(const DeviceSpec& dev, const ComputeOp& op) const override {
    double eff = p_.efficiency_ramp ? gemm_efficiency(dev.gemm, op.gemm_m) : dev.gemm.eff_max;
    return roofline(dev, op.flops, op.bytes, op.dtype, eff, p_.launch_overhead ? op.kernels : 0);
  }

 private:
  RooflineParams p_;
};

}  // namespace

Seconds op_time(const DeviceSpec& dev, Flops flops, Bytes bytes, Dtype dtype, int64_t gemm_m, int32_t kernels) {
  return roofline(dev, flops, bytes, dtype, gemm_efficiency(dev.gemm, gemm_m), kernels);
}

std::unique_ptr<IComputeModel> make_roofline(const RooflineParams& p) { return std::make_unique<Roofline>(p); }

std::unique_ptr<IComputeModel> make_compute_model(const config::Table& t) {
  return ComputeModelRegistry::instance().create_or(t, "roofline");
}

}  // namespace moesim::hw
