#pragma once
// Training setups for the sharding tests, on the shared fixtures (tests/support): the tiny model
// (3 layers, every layer MoE, GELU FFN, 8 K/V heads), a sharding strategy read from TOML, a flat
// 100 TFLOP/s compute timer, and byte counters over the step graph.
#include <memory>
#include <string>

#include "models/workload/step_assembler.hpp"
#include "models/workload/training.hpp"
#include "tests/support/moe_fixtures.hpp"

namespace moesim::sharding::testing {

using test_support::Rule;
using test_support::RuleRouting;
using test_support::sum_bytes;
// round_robin with E = 2P: every token's k = 2 slots go to one device and each device's tokens
// spread evenly over all devices (uniform routing, exactly).
using test_support::round_robin;
// Skewed: expert `hot(step)` takes 3/4 of first choices and expert hot+1 half of second choices.
Rule skewed(int32_t experts, int64_t drift_every = 0);

struct Rig : test_support::Setup {
  workload::TrainingParams training;
  std::unique_ptr<workload::IWorkload> workload;
};

model::ModelSpec tiny_moe(int64_t experts = 8, int64_t layers = 3);
// `parallel`: the body of a [parallel] table, e.g. "kind = \"fssdp\"\noverlap_degree = 2".
std::unique_ptr<Rig> make_rig(const std::string& parallel, int32_t devices, int32_t per_node, Rule rule,
                              int64_t tokens_per_device = 64, int64_t steps = 4, model::ModelSpec m = tiny_moe());

// Bytes a collective task moves (send_recv: matrix off-diagonal; broadcast/reduce: bytes per
// non-root member; all_gather/reduce_scatter: ring volume is not needed here, so bytes * (n-1)).
double moved_bytes(const graph::Task& t);
double op_bytes(const graph::StepGraph& g, const std::string& op);
int32_t op_count(const graph::StepGraph& g, const std::string& op);

}  // namespace moesim::sharding::testing
