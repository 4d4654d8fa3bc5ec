// Analytical bounds of a cpu_gpu_hybrid run (hybrid_workload.hpp): MoE-Lens Eq. 1-4 and the
// MoE-Lightning HRM per-layer time Eq. 12-14, with the run's own model, batch and rates.
#include <algorithm>

#include "models/offload/hybrid_workload.hpp"
#include "models/workload/token_costs.hpp"

namespace moesim::offload {

double hybrid_layer_weight_bytes(const model::ModelSpec& m, int64_t layer) {
  double params = workload::layer_non_expert_params(m, layer);
  if (m.is_moe_layer(layer)) params += static_cast<double>(m.experts) * workload::expert_params(m);
  return params * hw::dtype_bytes(m.weight_dtype);
}

double hybrid_kv_bytes_per_token(const model::ModelSpec& m) {
  double kv = 0;
  for (int64_t l = 0; l < m.layers; ++l) kv += workload::layer_token_costs(m, l, 0).kv_bytes;
  return kv;
}

namespace {

double active_params(const model::ModelSpec& m) {
  double a = workload::embedding_params(m);
  for (int64_t l = 0; l < m.layers; ++l) {
    a += workload::layer_non_expert_params(m, l);
    if (m.is_moe_layer(l)) a += static_cast<double>(m.top_k) * workload::expert_params(m);
  }
  return a;
}

double model_weight_bytes(const model::ModelSpec& m) {
  double w = workload::embedding_params(m) * hw::dtype_bytes(m.weight_dtype);
  for (int64_t l = 0; l < m.layers; ++l) w += hybrid_layer_weight_bytes(m, l);
  return w;
}

}  // namespace

HybridBounds hybrid_bounds(const HybridParams& p, const model::ModelSpec& m, const HybridBoundInputs& in) {
  HybridBounds b;
  const double N = static_cast<double>(p.batch);
  double streamed = 0;
  for (int64_t l = 0; l < m.layers; ++l) streamed += hybrid_layer_weight_bytes(m, l);
  double kv_budget = p.kv_budget_bytes > 0 ? p.kv_budget_bytes
                                           : p.host_cpu.memory_capacity.value - p.host_cpu.reserved_memory.value - model_weight_bytes(m);
  MoeLensInputs li;
  li.h = static_cast<double>(m.d_model);
  li.h_i = static_cast<double>(m.expert_ffn_dim);
  li.experts = static_cast<double>(m.experts);
  li.top_k = static_cast<double>(m.top_k);
  li.gqa_group = m.kv_heads > 0 ? static_cast<double>(m.heads) / static_cast<double>(m.kv_heads) : 1.0;
  li.gpu_flops = in.gpu_flops;
  li.io_bandwidth = in.io_bandwidth;
  li.model_bytes = streamed;
  li.kv_tokens = std::max(0.0, kv_budget) / hybrid_kv_bytes_per_token(m);
  li.prompt = static_cast<double>(p.prompt_tokens);
  li.generate = static_cast<double>(p.generate_tokens);
  li.active_params = active_params(m);
  b.lens = moe_lens_bound(li);

  // HRM at the mean decode context: attention core on the CPU, everything else on the GPU.
  const double ctx = static_cast<double>(p.prompt_tokens) + (static_cast<double>(p.generate_tokens) + 1.0) / 2.0;
  const HrmLevel gpu{in.gpu_flops, in.gpu_bandwidth}, cpu{in.cpu_flops, in.cpu_bandwidth};
  double step = 0;
  for (int64_t l = 0; l < m.layers; ++l) {
    auto c = workload::layer_token_costs(m, l, ctx);
    auto c0 = workload::layer_token_costs(m, l, 0);
    HrmLayerWork w;
    w.weight_bytes_streamed = hybrid_layer_weight_bytes(m, l);
    double per_token = c0.attention.flops + c.gate.flops +
                       (m.is_moe_layer(l) ? static_cast<double>(m.top_k) * c.expert.flops + c.shared_expert.flops : c.dense_ffn.flops);
    w.gpu_flops = N * per_token;
    w.gpu_bytes = w.weight_bytes_streamed;
    w.cpu_flops = N * (c.attention.flops - c0.attention.flops);
    w.cpu_bytes = N * ctx * c.kv_bytes;
    HrmLayerTime t = hrm_layer_time(w, gpu, cpu, in.io_bandwidth);
    b.hrm_comm_s += t.comm_s;
    b.hrm_cpu_s += t.cpu_s;
    b.hrm_gpu_s += t.gpu_s;
    step += t.layer_s;
  }
  b.hrm_layer_s = m.layers > 0 ? step / static_cast<double>(m.layers) : 0;
  b.hrm_tokens_per_s = step > 0 ? N / step : 0;
  return b;
}

}  // namespace moesim::offload
