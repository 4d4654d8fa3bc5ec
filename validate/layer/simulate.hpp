#pragma once
// Runs a layer-check scenario through the FULL simulator (scenario::load_scenario ->
// report::run_scenario, in a forked child: one SimGrid engine per process) and extracts, per
// simulated step, what the kernels measure.
//
// The simulator's workloads always run attention and the LM head around the MoE blocks; the
// kernels run only the MoE part. On the single device every task of a decode step sits on one
// serial chain (attention -> gate -> [dispatch | loads] -> experts -> [combine] -> next block ->
// LM head: each waits for the previous, docs/workloads.md, docs/offload.md), so the simulated time
// of the part the kernel runs is exactly
//     moe_s = (step end - step start) - sum of attention and lm_head task durations.
// Per phase (moe_layer check): the summed durations of the tasks with op gate, dispatch,
// expert_ffn, combine. Offload: bytes read and misses are the workload's per-step counters.
// Memory (moe_layer check): the simulator's memory of the MoE layer = the layer's resident weights
// (E experts + router, from the same per-token cost model the builder uses) + the peak over the
// step's MoE tasks of its transient buffers (categories a2a_buffers + workspace); the whole
// device peak is reported beside it.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "validate/layer/scenario_gen.hpp"

namespace moesim::layercheck {

struct SimStep {
  int64_t step = 0;
  double step_s = 0;               // simulated step time (with attention, LM head)
  double moe_s = 0;                // the part the kernel runs (see above)
  std::map<std::string, double> op_s;  // summed task durations by op
  double bytes_read = 0;           // offload: bytes loaded from storage
  double misses = 0;               // offload: cache misses
  double layer_memory_bytes = 0;   // moe_layer: the layer's memory at its peak in the step
};

struct SimResult {
  std::vector<SimStep> steps;
  double device_peak_bytes = 0;    // the whole device's memory peak (resident model, KV, ...)
  std::vector<std::string> notes;  // routing notes (layer reuse, token cycling)
};

SimResult simulate(const std::filesystem::path& scenario);

// The [workload] numbers of a generated scenario (for the kernels). Throws ConfigError when the
// scenario is not one of the two checks.
WorkloadShape read_workload_shape(const std::filesystem::path& scenario);

// Text round trip used to carry a SimResult out of the forked child (tested).
std::string serialize(const SimResult& r);
SimResult deserialize(const std::string& text);

}  // namespace moesim::layercheck
