#pragma once
// Hand-built inputs for the workload builders: a small Mixtral-like model, a routing source with a
// fixed rule, and a compute timer proportional to FLOPs.
#include <functional>

#include "models/workload/workload.hpp"

namespace moesim::workload::testing {

model::ModelSpec tiny_moe(int64_t experts = 8, int64_t top_k = 2, int64_t layers = 2);

// Routes token i's slot s to rule(step, layer, i, s).
class RuleRouting final : public routing::IRoutingSource {
 public:
  using Rule = std::function<int32_t(int64_t step, int32_t layer, int64_t token, int32_t slot)>;
  RuleRouting(int32_t k, Rule rule) : k_(k), rule_(std::move(rule)) {}
  routing::LayerRouting route(const routing::RouteRequest& r) override;
  int64_t calls = 0;

 private:
  int32_t k_;
  Rule rule_;
};

// Uniform-ish rule: (token * k + slot) mod E, distinct experts per token when k <= E.
RuleRouting::Rule round_robin(int32_t experts, int32_t k);

// 1 PFLOP/s flat plus 1 us per kernel: time proportional to work, no shape effects.
Seconds flat_timer(const graph::ComputeWork& w);

struct Setup {
  model::ModelSpec model;
  std::unique_ptr<IShardingStrategy> sharding;
  std::unique_ptr<RuleRouting> routing;
  WorkloadContext ctx;
};
// devices on nodes of `per_node`, EP degree `ep`.
std::unique_ptr<Setup> make_setup(model::ModelSpec m, int32_t devices, int32_t per_node, int32_t ep,
                                  RuleRouting::Rule rule);

double sum_bytes(const std::vector<graph::MemDelta>& v, int32_t device, graph::MemCategory c);

}  // namespace moesim::workload::testing
