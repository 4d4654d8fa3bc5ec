#pragma once
// Hand-built training setups for the sharding tests: a small MoE model (every layer MoE), a routing
// source with a fixed rule, a sharding strategy read from TOML, a flat compute timer.
#include <functional>
#include <memory>
#include <string>

#include "models/workload/step_assembler.hpp"
#include "models/workload/training.hpp"

namespace moesim::sharding::testing {

using Rule = std::function<int32_t(int64_t step, int32_t layer, int64_t token, int32_t slot)>;

class RuleRouting final : public routing::IRoutingSource {
 public:
  RuleRouting(int32_t k, Rule rule) : k_(k), rule_(std::move(rule)) {}
  routing::LayerRouting route(const routing::RouteRequest& r) override;

 private:
  int32_t k_;
  Rule rule_;
};

// Token t, slot s -> expert (t*k + s) mod E: with E = 2P every token's k = 2 slots go to one
// device and each device's tokens spread evenly over all devices (uniform routing, exactly).
Rule round_robin(int32_t experts, int32_t k);
// Skewed: expert `hot(step)` takes 3/4 of first choices and expert hot+1 half of second choices.
Rule skewed(int32_t experts, int64_t drift_every = 0);

struct Rig {
  model::ModelSpec model;
  std::unique_ptr<workload::IShardingStrategy> sharding;
  std::unique_ptr<RuleRouting> routing;
  workload::WorkloadContext ctx;
  workload::TrainingParams training;
  std::unique_ptr<workload::IWorkload> workload;
};

model::ModelSpec tiny_moe(int64_t experts = 8, int64_t layers = 3);
// `parallel`: the body of a [parallel] table, e.g. "kind = \"fssdp\"\noverlap_degree = 2".
std::unique_ptr<Rig> make_rig(const std::string& parallel, int32_t devices, int32_t per_node, Rule rule,
                              int64_t tokens_per_device = 64, int64_t steps = 4, model::ModelSpec m = tiny_moe());

double sum_bytes(const std::vector<graph::MemDelta>& v, int32_t device, graph::MemCategory c);
// Bytes a collective task moves (send_recv: matrix off-diagonal; broadcast/reduce: bytes per
// non-root member; all_gather/reduce_scatter: ring volume is not needed here, so bytes * (n-1)).
double moved_bytes(const graph::Task& t);
double op_bytes(const graph::StepGraph& g, const std::string& op);
int32_t op_count(const graph::StepGraph& g, const std::string& op);

}  // namespace moesim::sharding::testing
