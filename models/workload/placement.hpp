#pragma once
// Placement of routed experts on devices, and the sharding strategies that choose it. A strategy is
// pluggable (IShardingStrategy, registry "sharding", TOML [parallel] kind = "..."): "ep" is static
// expert parallelism; FSSDP-style strategies (issue 6) add kinds that change placement per step.
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

class IShardingStrategy {
 public:
  static constexpr const char* kInterface = "sharding";
  virtual ~IShardingStrategy() = default;
  virtual ExpertPlacement place(const PlacementRequest& request) = 0;
  // Expert-parallel degree the strategy was built with.
  virtual int32_t ep() const = 0;
};

using ShardingRegistry = Registry<IShardingStrategy, const ShardingContext&>;

}  // namespace moesim::workload
