#include "rig.hpp"

namespace moesim::sharding::testing {

Rule skewed(int32_t experts, int64_t drift_every) {
  return [experts, drift_every](int64_t step, int32_t layer, int64_t t, int32_t s) {
    int32_t hot = static_cast<int32_t>((drift_every > 0 ? step / drift_every : 0) + layer) % experts;
    if (s == 0) return t % 4 < 3 ? hot : static_cast<int32_t>(t % experts);
    return t % 2 == 0 ? (hot + 1) % experts : static_cast<int32_t>((t * 3 + 1) % experts);
  };
}

model::ModelSpec tiny_moe(int64_t experts, int64_t layers) {
  model::ModelSpec m = test_support::tiny_moe(experts, 2, layers);
  m.kv_heads = 8;
  m.ffn = model::FfnKind::gelu2;
  return m;
}

std::unique_ptr<Rig> make_rig(const std::string& parallel, int32_t devices, int32_t per_node, Rule rule,
                              int64_t tokens_per_device, int64_t steps, model::ModelSpec m) {
  auto r = std::make_unique<Rig>();
  test_support::fill_setup(*r, std::move(m), devices, per_node, parallel, std::move(rule), test_support::flat_timer(1e14));
  r->training.steps = steps;
  r->training.micro_batch_size = 1;
  r->training.seq_len = tokens_per_device;
  r->workload = workload::make_training(r->training, r->ctx);
  return r;
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
