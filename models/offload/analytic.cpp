#include "models/offload/analytic.hpp"

#include <algorithm>

namespace moesim::offload {

double moe_lens_intensity(double n, double h, double h_i, double experts, double top_k, double gqa_group) {
  const double attn = 4.0 * h * h + 4.0 * h * h / gqa_group;
  return n * (6.0 * top_k * h * h_i + attn) / (6.0 * experts * h * h_i + attn);
}

double moe_lens_pme(double prompt, double generate) {
  if (generate <= 0) return 0;
  return 2.0 * (prompt + generate) / ((2.0 * prompt + generate) * generate);
}

MoeLensBound moe_lens_bound(const MoeLensInputs& in) {
  MoeLensBound b;
  b.pme = moe_lens_pme(in.prompt, in.generate);
  b.delta_s = in.io_bandwidth > 0 ? in.model_bytes / in.io_bandwidth : 0;
  b.saturation_tokens = in.io_bandwidth > 0 && in.top_k > 0 ? in.gpu_flops / in.io_bandwidth * in.experts / in.top_k : 0;
  b.memory_bound_tps = b.delta_s > 0 ? b.pme * in.kv_tokens / b.delta_s : 0;
  b.gpu_bound_tps = in.active_params > 0 ? in.gpu_flops / (2.0 * in.active_params) : 0;
  b.max_tps = std::min(b.memory_bound_tps, b.gpu_bound_tps);
  return b;
}

double hrm_attainable(const HrmLevel& i, double link_bandwidth, double intensity_i, double intensity_j) {
  return std::min({i.peak_flops, i.bandwidth * intensity_i, link_bandwidth * intensity_j});
}

double hrm_turning_point_p1(const HrmLevel& j, double intensity_j, double link_bandwidth) {
  return std::min(j.peak_flops, j.bandwidth * intensity_j) / link_bandwidth;
}

double hrm_turning_point_p2(const HrmLevel& i, double intensity_i, double link_bandwidth) {
  return std::min(i.peak_flops, i.bandwidth * intensity_i) / link_bandwidth;
}

HrmLayerTime hrm_layer_time(const HrmLayerWork& w, const HrmLevel& gpu, const HrmLevel& cpu, double link_bandwidth) {
  HrmLayerTime t;
  t.comm_s = w.weight_bytes_streamed / link_bandwidth;
  t.gpu_s = std::max(w.gpu_bytes / gpu.bandwidth, w.gpu_flops / gpu.peak_flops);
  t.cpu_s = std::max(w.cpu_bytes / cpu.bandwidth, w.cpu_flops / cpu.peak_flops);
  t.layer_s = std::max({t.comm_s, t.cpu_s, t.gpu_s});
  return t;
}

}  // namespace moesim::offload
