#pragma once
// Placement of routed experts on devices, and the sharding strategies that choose it. A strategy is
// pluggable (IShardingStrategy, registry "sharding", TOML [parallel] kind = "..."): "ep" is static
// expert parallelism; FSSDP-style strategies add kinds that change placement per step.
#include <cstdint>
#include <vector>

#include "sim/core/registry.hpp"

namespace moesim::workload {

// Where each routed expert of one MoE layer lives, for one expert-parallel group.
struct ExpertPlacement {
  // holders[e]: global device ids holding a copy of expert e; holders[e][0] is its owner.
  std::vector<std::vector<int32_t>> holders;
  int32_t experts() const { return static_cast<int32_t>(holders.size()); }
  // Experts whose owner is `device` (used for weights and optimizer state).
  std::vector<int32_t> owned_by(int32_t device) const;
  // Experts with a copy on `device`.
  std::vector<int32_t> held_by(int32_t device) const;
};

// What a sharding strategy sees of the model and the cluster.
struct ShardingContext {
  int32_t num_experts = 0;
  int32_t devices = 1;             // all devices of the cluster
  std::vector<int32_t> node_of;    // node of each device (size devices)
};

// One placement request: the EP group `group` (devices [group*ep, (group+1)*ep)) at MoE layer
// `moe_layer` of step `step`.
struct PlacementRequest {
  int64_t step = 0;
  int32_t moe_layer = 0;
  int32_t group = 0;
};

// How the copies beyond the owner (holders[e][1..]) of a placement come to exist
// (models/sharding/materialize.hpp emits the tasks, docs/sharding.md gives the equations).
struct Materialization {
  enum class Copies : uint8_t {
    persistent,  // full replicas: own weights, gradients and optimizer state; gradients all-reduced
                 // over the holders (EP data-parallel groups, FlexMoE replicas)
    ephemeral,   // gathered from the owner every iteration (SparseAllGather) and their gradients
                 // reduced back to it (SparseReduceScatter): FSSDP, FSDP, FasterMoE shadows
  };
  Copies copies = Copies::persistent;
  // The sharding module (models/sharding/materialize.hpp) emits the copies' tasks: gathers and
  // reductions, replica gradient all-reduces, migrations. False (EP): the workload's own
  // expert-data-parallel all-reduce handles copies, the hooks add nothing.
  bool sharding_tasks = false;
  bool full_gather = false;        // ephemeral: every expert everywhere, as all_gather/reduce_scatter (FSDP)
  bool overlap_attention = true;   // ephemeral: gather starts with the attention forward (else after the gate)
  bool rematerialize = false;      // ephemeral: free copies after forward, gather again for backward
  bool per_chunk = false;          // ephemeral: one broadcast/reduce task per expert instead of one grouped set of flows
};

// Tensor parallelism of a strategy (kind "ep_tp"; DeepSpeed-MoE, Rajbhandari et al. 2022,
// Sec. 5.2 and 6.3; Megatron-LM, Shoeybi et al. 2019): `tp` consecutive devices form a TP group that
// holds the same tokens, slices the non-expert layers (2 all-reduces per layer forward) and the
// experts it owns (column/row split of the expert FFN). The All-to-All runs among the devices that
// share a TP rank; `coordinated`: each TP rank dispatches 1/tp of the group's tokens and an
// all-gather inside the TP group restores them (Sec. 6.3); else every rank sends every token.
// models/workload/step_assembler_tp.cpp builds the tasks; tp = 1 is plain expert parallelism.
struct TensorParallel {
  int32_t tp = 1;
  bool coordinated = true;
};

// Tokens routed to each expert of one MoE layer, as the workload saw them (reactive strategies).
struct LoadObservation {
  int64_t step = 0;          // iteration
  int64_t routing_step = 0;  // micro-batch (several per iteration with gradient accumulation)
  int32_t moe_layer = 0;
  int32_t group = 0;
  std::vector<int64_t> load;  // size E
};

class IShardingStrategy {
 public:
  static constexpr const char* kInterface = "sharding";
  virtual ~IShardingStrategy() = default;
  virtual ExpertPlacement place(const PlacementRequest& request) = 0;
  // Expert-parallel degree the strategy was built with.
  virtual int32_t ep() const = 0;
  // How copies beyond the owner exist (default: persistent, which is what EP groups are).
  virtual Materialization materialization() const { return {}; }
  // Tensor parallelism (default none: every device holds its own tokens and whole experts).
  virtual TensorParallel tensor_parallel() const { return {}; }
  // The routing of a step that was just built (default: ignored). A strategy's placement for step
  // s may only depend on observations of steps < s.
  virtual void observe_load(const LoadObservation& observation) {}
};

using ShardingRegistry = Registry<IShardingStrategy, const ShardingContext&>;

}  // namespace moesim::workload
