#pragma once
// Workload builders: pure functions from (model, placement, routing, compute model) to one
// StepGraph per simulated step. Pluggable (IWorkload, registry "workload", TOML [workload]
// kind = "inference" | "training"); each kind is one .cpp with a typed Params struct.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/model_spec.hpp"
#include "models/routing/routing.hpp"
#include "models/workload/placement.hpp"
#include "sim/core/registry.hpp"
#include "sim/graph/step_graph.hpp"
#include "sim/graph/timeline.hpp"

namespace moesim::workload {

// Fills ComputeWork::duration (the hardware compute model of the task's device).
using ComputeTimer = std::function<Seconds(const graph::ComputeWork&)>;

struct Layout;  // layout.hpp: pipeline stages, ZeRO, recomputation

// What a builder sees of the cluster.
struct ClusterView {
  int32_t devices = 1;
  std::vector<int32_t> node_of;  // node of each device
  int32_t nodes = 0;             // nodes of the whole cluster (0: max(node_of) + 1; a pipeline stage's view sets it)
  std::vector<double> memory_bytes;  // usable memory of each device (capacity - reserved); may be empty
};

struct WorkloadContext {
  const model::ModelSpec* model = nullptr;
  ClusterView cluster;
  ComputeTimer compute_time;
  routing::IRoutingSource* routing = nullptr;
  IShardingStrategy* sharding = nullptr;
  // The parallel layout (null: one stage, no ZeRO, no recomputation). With pp > 1 the sharding
  // strategy was built over one stage's devices.
  const Layout* layout = nullptr;
  uint64_t seed = 0;  // the scenario seed (workloads that draw, e.g. serving arrivals)
};

// What one step did, for the reports (the Timeline says when).
struct StepInfo {
  int64_t step = 0;
  std::string phase;            // "prefill" | "decode" | "train"
  int64_t tokens = 0;           // tokens processed by the step, all devices
  int64_t output_tokens = 0;    // tokens produced (inference) or trained on (training)
  int64_t routed_slots = 0;     // (token, expert) pairs routed over all MoE layers
  int64_t dropped_slots = 0;    // of those, dropped by the capacity limit
  double a2a_bytes = 0;         // dispatch + combine bytes between devices (local copies excluded)
  double inter_node_bytes = 0;  // of those, between nodes
  // Workload-specific counters of the step (e.g. offload: cache hits, bytes read); the workload's
  // run_metrics() turns them into headline metrics.
  std::map<std::string, double> extra;
};

struct BuiltStep {
  graph::StepGraph graph;
  StepInfo info;
};

// Per-device memory peak of a graph if its tasks ran one at a time in index order (resident
// memory, then each task's on_start and on_end): what `moesim check` compares with capacity,
// before any simulation. Indexed [device][category]: the bytes at that device's peak.
struct MemoryPeak {
  double total = 0;
  std::vector<double> by_category;  // kMemCategories entries, at the peak
};
class IWorkload {
 public:
  static constexpr const char* kInterface = "workload";
  virtual ~IWorkload() = default;
  virtual int64_t steps() const = 0;
  virtual BuiltStep build(int64_t step) = 0;
  // Whether the workload measures time to first token / time per output token.
  virtual bool is_inference() const = 0;
  // Workload-specific headline metrics of a finished run (name -> value; names carry their unit,
  // e.g. "io_stall_s"), printed by the report beside the generic ones. Default: none.
  virtual std::map<std::string, double> run_metrics(const std::vector<StepInfo>& /*steps*/,
                                                    const std::vector<graph::StepGraph>& /*graphs*/,
                                                    const graph::Timeline& /*timeline*/) const {
    return {};
  }
  // Per-device memory peaks (by category) from the model and layout alone, when the workload can
  // give them without building step graphs (`moesim check` at any scale). Default: none.
  virtual std::optional<std::vector<MemoryPeak>> static_memory() const { return std::nullopt; }
  // Request-driven workloads (serving) form each step from what ran so far: called before every
  // build() with the timeline of the steps run; steps() may grow as they go. Default: nothing.
  virtual void observe(const graph::Timeline& /*so_far*/) {}
  // Output files besides the standard ones (file name -> contents), e.g. serving's requests.csv.
  virtual std::map<std::string, std::string> extra_outputs() const { return {}; }
  // Whether summary.json lists run_metrics() at its top level (serving: ttft_p99_s, ...) rather
  // than under "workload_metrics".
  virtual bool top_level_metrics() const { return false; }
};

using WorkloadRegistry = Registry<IWorkload, const WorkloadContext&>;

std::vector<MemoryPeak> sequential_memory_peaks(const graph::StepGraph& g, int32_t devices);

}  // namespace moesim::workload
