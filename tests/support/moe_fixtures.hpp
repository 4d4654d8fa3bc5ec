#pragma once
// Hand-built inputs for tests that assemble step graphs without a scenario file: a small
// Mixtral-like MoE model, a routing source that follows a fixed rule, a compute timer proportional
// to work, and a small cluster (devices on nodes of a given size) with a sharding strategy read
// from a [parallel] table. Shared by tests/workload and tests/sharding.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/workload/workload.hpp"

namespace moesim::test_support {

// 2 layers of 8 experts, top-2, d_model 256, GQA 8/2 heads of 32: small enough for hand counts.
model::ModelSpec tiny_moe(int64_t experts = 8, int64_t top_k = 2, int64_t layers = 2);

using Rule = std::function<int32_t(int64_t step, int32_t layer, int64_t token, int32_t slot)>;

// Routes token i's slot s to rule(step, layer, i, s); counts how often it was asked.
class RuleRouting final : public routing::IRoutingSource {
 public:
  using Rule = test_support::Rule;
  RuleRouting(int32_t k, Rule rule) : k_(k), rule_(std::move(rule)) {}
  routing::LayerRouting route(const routing::RouteRequest& r) override;
  int64_t calls = 0;

 private:
  int32_t k_;
  Rule rule_;
};

// Token t, slot s -> expert (t*k + s) mod E: distinct experts per token when k <= E, every expert
// equally loaded when the token count is a multiple of E.
Rule round_robin(int32_t experts, int32_t k);

// `flops_per_s` flat plus 1 us per kernel: time proportional to work, no shape effects.
workload::ComputeTimer flat_timer(double flops_per_s = 1e15);

// Device d sits on node d / per_node.
std::vector<int32_t> nodes_of(int32_t devices, int32_t per_node);

// A model, its routing and sharding, and the workload context pointing at them (heap-allocated
// once: the context holds pointers into it).
struct Setup {
  model::ModelSpec model;
  std::unique_ptr<workload::IShardingStrategy> sharding;
  std::unique_ptr<RuleRouting> routing;
  workload::WorkloadContext ctx;
};

// Fills `s` for `devices` devices on nodes of `per_node`; `parallel` is the body of a [parallel]
// table, e.g. "kind = \"ep\"\nep = 4".
void fill_setup(Setup& s, model::ModelSpec m, int32_t devices, int32_t per_node, const std::string& parallel,
                Rule rule, workload::ComputeTimer timer);

// Bytes of category `c` that the deltas `v` add on `device`.
double sum_bytes(const std::vector<graph::MemDelta>& v, int32_t device, graph::MemCategory c);

}  // namespace moesim::test_support
