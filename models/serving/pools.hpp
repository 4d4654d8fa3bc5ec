#pragma once
// Device pools of a serving system: the whole cluster, or the prefill and decode sides of a
// disaggregated one. Each pool's iteration is built on a context of its own devices (local ids
// 0..n-1) and merged into the step's graph with its device ids shifted to the global ones.
#include <cstdint>

#include "models/workload/workload.hpp"

namespace moesim::serving {

// The context of devices [offset, offset + devices): node and memory slices, compute times looked
// up on the global device. Throws InfeasibleError when the sharding strategy's groups do not fit
// inside the pool (a pool must hold whole expert-parallel groups).
workload::WorkloadContext pool_context(const workload::WorkloadContext& ctx, int32_t offset, int32_t devices);

// Appends `part` (built on a pool context) to `whole`: device ids shifted by `offset`, task ids by
// the tasks already in `whole`.
void merge_graph(graph::StepGraph& whole, graph::StepGraph part, int32_t offset);

}  // namespace moesim::serving
