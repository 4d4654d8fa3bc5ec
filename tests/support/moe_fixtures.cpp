#include "tests/support/moe_fixtures.hpp"

#include "sim/core/config.hpp"

namespace moesim::test_support {

model::ModelSpec tiny_moe(int64_t experts, int64_t top_k, int64_t layers) {
  model::ModelSpec m;
  m.name = "tiny";
  m.family = "decoder";
  m.layers = layers;
  m.d_model = 256;
  m.vocab_size = 1000;
  m.heads = 8;
  m.kv_heads = 2;
  m.head_dim = 32;
  m.experts = experts;
  m.top_k = top_k;
  m.expert_ffn_dim = 512;
  m.dense_ffn_dim = 1024;
  return m;
}

routing::LayerRouting RuleRouting::route(const routing::RouteRequest& r) {
  ++calls;
  routing::LayerRouting out;
  out.tokens = r.tokens;
  out.k = k_;
  for (int64_t t = 0; t < r.tokens; ++t)
    for (int32_t s = 0; s < k_; ++s) out.experts.push_back(rule_(r.step, r.layer, t, s));
  return out;
}

Rule round_robin(int32_t experts, int32_t k) {
  return [experts, k](int64_t, int32_t, int64_t t, int32_t s) { return static_cast<int32_t>((t * k + s) % experts); };
}

workload::ComputeTimer flat_timer(double flops_per_s) {
  return [flops_per_s](const graph::ComputeWork& w) { return Seconds(w.flops.value / flops_per_s + 1e-6 * w.kernels); };
}

std::vector<int32_t> nodes_of(int32_t devices, int32_t per_node) {
  std::vector<int32_t> out;
  for (int32_t d = 0; d < devices; ++d) out.push_back(d / per_node);
  return out;
}

void fill_setup(Setup& s, model::ModelSpec m, int32_t devices, int32_t per_node, const std::string& parallel,
                Rule rule, workload::ComputeTimer timer) {
  s.model = std::move(m);
  workload::ShardingContext sc;
  sc.num_experts = static_cast<int32_t>(s.model.experts);
  sc.devices = devices;
  sc.node_of = nodes_of(devices, per_node);
  auto doc = config::Document::parse(parallel, "parallel.toml");
  s.sharding = workload::ShardingRegistry::instance().create(config::Table::root(doc), sc);
  s.routing = std::make_unique<RuleRouting>(static_cast<int32_t>(s.model.top_k), std::move(rule));
  s.ctx.model = &s.model;
  s.ctx.cluster.devices = devices;
  s.ctx.cluster.node_of = sc.node_of;
  s.ctx.compute_time = std::move(timer);
  s.ctx.routing = s.routing.get();
  s.ctx.sharding = s.sharding.get();
}

double sum_bytes(const std::vector<graph::MemDelta>& v, int32_t device, graph::MemCategory c) {
  double s = 0;
  for (const auto& m : v)
    if (m.device == device && m.category == c) s += m.bytes.value;
  return s;
}

}  // namespace moesim::test_support
