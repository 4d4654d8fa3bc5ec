#include "rig.hpp"

#include <fmt/format.h>

namespace moesim::sharding::testing {

routing::LayerRouting RuleRouting::route(const routing::RouteRequest& r) {
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

Rule skewed(int32_t experts, int64_t drift_every) {
  return [experts, drift_every](int64_t step, int32_t layer, int64_t t, int32_t s) {
    int32_t hot = static_cast<int32_t>((drift_every > 0 ? step / drift_every : 0) + layer) % experts;
    if (s == 0) return t % 4 < 3 ? hot : static_cast<int32_t>(t % experts);
    return t % 2 == 0 ? (hot + 1) % experts : static_cast<int32_t>((t * 3 + 1) % experts);
  };
}

model::ModelSpec tiny_moe(int64_t experts, int64_t layers) {
  model::ModelSpec m;
  m.name = "tiny";
  m.family = "decoder";
  m.layers = layers;
  m.d_model = 256;
  m.vocab_size = 1000;
  m.heads = 8;
  m.kv_heads = 8;
  m.head_dim = 32;
  m.experts = experts;
  m.top_k = 2;
  m.expert_ffn_dim = 512;
  m.dense_ffn_dim = 1024;
  m.ffn = model::FfnKind::gelu2;
  return m;
}

std::unique_ptr<Rig> make_rig(const std::string& parallel, int32_t devices, int32_t per_node, Rule rule,
                              int64_t tokens_per_device, int64_t steps, model::ModelSpec m) {
  auto r = std::make_unique<Rig>();
  r->model = std::move(m);
  workload::ShardingContext sc;
  sc.num_experts = static_cast<int32_t>(r->model.experts);
  sc.devices = devices;
  for (int32_t d = 0; d < devices; ++d) sc.node_of.push_back(d / per_node);
  auto doc = config::Document::parse(parallel, "parallel.toml");
  r->sharding = workload::ShardingRegistry::instance().create(config::Table::root(doc), sc);
  r->routing = std::make_unique<RuleRouting>(static_cast<int32_t>(r->model.top_k), std::move(rule));
  r->ctx.model = &r->model;
  r->ctx.cluster.devices = devices;
  r->ctx.cluster.node_of = sc.node_of;
  r->ctx.compute_time = [](const graph::ComputeWork& w) { return Seconds(w.flops.value / 1e14 + 1e-6 * w.kernels); };
  r->ctx.routing = r->routing.get();
  r->ctx.sharding = r->sharding.get();
  r->training.steps = steps;
  r->training.micro_batch_size = 1;
  r->training.seq_len = tokens_per_device;
  r->workload = workload::make_training(r->training, r->ctx);
  return r;
}

double sum_bytes(const std::vector<graph::MemDelta>& v, int32_t device, graph::MemCategory c) {
  double s = 0;
  for (const auto& m : v)
    if (m.device == device && m.category == c) s += m.bytes.value;
  return s;
}

double moved_bytes(const graph::Task& t) {
  const auto* c = std::get_if<graph::CollectiveWork>(&t.work);
  if (!c) return 0;
  const size_t n = c->group.size();
  switch (c->kind) {
    case graph::CollectiveKind::send_recv:
    case graph::CollectiveKind::alltoallv: {
      double s = 0;
      for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j < n; ++j)
          if (i != j) s += c->matrix[i * n + j];
      return s;
    }
    default: return c->bytes.value * static_cast<double>(n - 1);
  }
}

double op_bytes(const graph::StepGraph& g, const std::string& op) {
  double s = 0;
  for (const auto& t : g.tasks)
    if (t.op == op) s += moved_bytes(t);
  return s;
}

int32_t op_count(const graph::StepGraph& g, const std::string& op) {
  int32_t n = 0;
  for (const auto& t : g.tasks) n += t.op == op;
  return n;
}

}  // namespace moesim::sharding::testing
