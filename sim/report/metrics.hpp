#pragma once
// Headline metrics of a run, computed from the graphs, the Timeline and the memory report.
// Definitions (docs/scenarios.md, "Outputs"):
//  - step time: end - start of a step; tokens/s: output tokens of all steps / total simulated time
//  - TTFT: the prefill step's time; TPOT: mean decode step time (inference only)
//  - prefill tokens/s: prompt tokens of the prefill steps / the prefill steps' time
//  - per layer: time of each operator class per step: collectives (dispatch, combine, their
//    backward mirrors) by their span, compute by the mean over devices and the slowest device;
//    a2a_share = the layer's All-to-All time / mean step time
//  - compute utilization of a device: busy time of its compute stream / total simulated time
//  - busiest link: the link that carried the most bytes; utilization = bytes / (capacity * time)
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sim/report/pipeline.hpp"

namespace moesim::report {

struct StepMetrics {
  workload::StepInfo info;
  double start = 0, end = 0;
  double a2a_seconds = 0;  // sum of All-to-All task spans in the step
};

struct LayerMetrics {
  int32_t layer = 0;
  bool moe = false;
  double attention_s = 0;        // per step, mean over devices (forward + backward)
  double expert_mean_s = 0;      // routed expert GEMMs per step, mean over devices
  double expert_max_s = 0;       // the same on the slowest device (the straggler)
  double other_compute_s = 0;    // gate, shared experts, dense FFN
  double dispatch_s = 0;         // per step, All-to-All spans
  double combine_s = 0;
  double a2a_bytes = 0;          // per step, bytes between devices
  double a2a_share = 0;          // (dispatch + combine) / mean step time
};

struct DeviceMetrics {
  int32_t device = 0;
  int32_t node = 0;
  double compute_busy_s = 0;
  double compute_utilization = 0;
  double memory_peak_bytes = 0;
  double memory_peak_time = 0;
  double capacity_bytes = 0;
  std::vector<double> at_peak;  // by category
};

struct Summary {
  std::string name;
  uint64_t seed = 0;
  std::string workload;        // "inference" | "training"
  std::string cluster;         // topology description
  int32_t devices = 0;
  int64_t steps = 0;
  double total_time = 0;
  double step_mean = 0, step_p50 = 0, step_max = 0, step_min = 0;
  double tokens_per_s = 0;     // output tokens per second
  double ttft = -1, tpot = -1; // inference only (-1: not applicable)
  // Prompt tokens of the prefill steps / their time (-1: no prefill step). tokens_per_s counts
  // the tokens a step produces: one per request in a prefill step, whatever the prompt length.
  double prefill_tokens_per_s = -1;
  double a2a_seconds_per_step = 0, a2a_bytes_per_step = 0, a2a_share = 0;
  double inter_node_bytes = 0; // over the run
  int64_t routed_slots = 0, dropped_slots = 0;
  std::string busiest_link;
  double busiest_link_bytes = 0, busiest_link_utilization = 0;
  double mean_compute_utilization = 0;
  double memory_peak_bytes = 0;
  int32_t memory_peak_device = 0;
  // Workload-specific headline metrics (IWorkload::run_metrics, e.g. offload: cache_hit_rate, io_stall_s).
  std::map<std::string, double> workload_metrics;
  bool workload_metrics_top_level = false;  // summary.json lists them at its top level (serving)
  std::vector<std::string> findings;  // memory over capacity, and routing notes
  std::vector<std::string> notes;
  std::vector<StepMetrics> step_metrics;
  std::vector<LayerMetrics> layers;
  std::vector<DeviceMetrics> device_metrics;
};

Summary summarize(const scenario::Scenario& s, const RunResult& r);

// dispatch, combine and their backward mirrors.
bool is_all_to_all(const std::string& op);
// Wall-clock time of one step during which at least one All-to-All is in flight (the union of
// their spans): concurrent All-to-Alls of different groups (the TP ranks of ep_tp, data-parallel
// replicas) count once, unlike StepMetrics::a2a_seconds, which sums the spans.
double a2a_wall_seconds(const graph::StepGraph& g, const graph::StepTimeline& t);

}  // namespace moesim::report
