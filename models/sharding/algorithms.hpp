#pragma once
// Pure placement algorithms of the training sharding strategies: expert-load prediction
// from a sliding window, Hecate's sparse materialization (Algorithm 1) and heterogeneous sharding
// (Algorithm 2), and the load-balancing relocation of SmartMoE/FlexMoE. No graph, no SimGrid: a
// placement in, a placement out. Equations and sources: docs/sharding.md.
#include <cstdint>
#include <map>
#include <vector>

#include "models/workload/placement.hpp"

namespace moesim::sharding {

using workload::ExpertPlacement;

// Observed expert loads, per MoE layer and iteration (summed over micro-batches and groups).
class LoadHistory {
 public:
  // Records one observation; observing the same (step, routing_step, layer, group) again replaces it.
  void record(const workload::LoadObservation& o);
  // Hecate Sec. 4.2: the next iteration's load of every expert is the mean of the last `window`
  // observed iterations before `step` (expert loads drift smoothly). Empty when none is observed.
  std::vector<double> predict(int64_t step, int32_t moe_layer, int32_t window) const;

 private:
  // layer -> step -> (routing_step, group) -> load
  std::map<int32_t, std::map<int64_t, std::map<std::pair<int64_t, int32_t>, std::vector<int64_t>>>> seen_;
};

// Trivial sharding: expert e owned by device e / (E / D) (identical to EP's static placement).
std::vector<int32_t> even_owners(int32_t experts, int32_t devices);
ExpertPlacement owners_only(const std::vector<int32_t>& owners);

// Experts sorted by load, hottest first (ties: lower expert id first).
std::vector<int32_t> by_load_descending(const std::vector<double>& load);

struct MaterializeParams {
  int32_t overlap_degree = 0;  // t: experts that can be shipped within the attention time
  int32_t memory_slots = 0;    // m: extra experts one device can hold
  bool topology_aware = true;  // place replicas on nodes without a copy first
};

// Hecate Algorithm 1 (sparse materialization of one layer): t <- min(t, E), m <- min(m, t);
// if t <= m the top-t experts by predicted load go to every device; else |D|*m slots are
// shared among the top-t experts in proportion to their load, each replica placed on the node
// (then device) that does not hold the expert yet and has the most free slots.
// `owners` is the shard placement P (one holder each); the result P' keeps holders[e][0].
ExpertPlacement sparse_materialize(const ExpertPlacement& owners, const std::vector<double>& load,
                                   const MaterializeParams& p, const std::vector<int32_t>& node_of);

// Hecate Algorithm 2 (heterogeneous sharding over all MoE layers jointly): the top-t experts of
// each layer (materialized anyway) are set aside; the others are placed hottest first on the
// least-loaded node, then its least-loaded device (ties: fewer free slots first); the set-aside
// experts fill the remaining slots. Every device keeps E*L/D slots. Returns owners per layer.
std::vector<std::vector<int32_t>> heterogeneous_shards(const std::vector<std::vector<double>>& layer_load,
                                                       int32_t overlap_degree, const std::vector<int32_t>& node_of);

// SmartMoE / FlexMoE-style rearrangement of one layer: experts hottest first onto the device with
// the least load so far among those with a free slot (E/D slots each: longest-processing-time
// greedy), then `replica_slots` extra slots per device filled with persistent replicas of the
// expert with the highest load per copy, each on the least-loaded device without it.
ExpertPlacement balanced_relocation(const std::vector<double>& load, int32_t devices, int32_t replica_slots);

}  // namespace moesim::sharding
