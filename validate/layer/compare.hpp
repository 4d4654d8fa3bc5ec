#pragma once
// Measured (kernel CSV) against simulated (SimResult) for the two layer-level checks, and the
// markdown report. Error of a point = |predicted - measured| / measured (APE, %); per quantity the
// median, p90 (linear interpolation, validate/common/stats.hpp) and max; points more than
// kOffPercent off are marked OFF. Pure (tested).
//
// Quantities, per step (moe_layer) or per token (offload):
//   moe_layer: step (kernel step time vs simulated moe_s), gate (vs op gate), permute (vs op
//              dispatch: on one device the simulator's dispatch is a local alltoallv), experts (vs
//              expert_ffn), combine (vs op combine); memory (kernel buffer bytes vs the layer's
//              simulated memory) and memory_vmhwm (process VmHWM vs the same)
//   offload  : token (vs simulated moe_s), read (time in pread vs expert_load tasks), compute (the
//              rest vs gate + expert_ffn), bytes_read (must be EXACT: the same LRU on the same trace)
#include <string>
#include <vector>

#include "validate/common/csv.hpp"
#include "validate/layer/simulate.hpp"

namespace moesim::layercheck {

inline constexpr double kOffPercent = 25.0;

struct Point {
  std::string quantity;
  int64_t index = 0;  // step or token (-1 for run-level quantities)
  double measured = 0, predicted = 0;
  double ape = 0;     // %, |pred - meas| / meas
};

struct QuantityStats {
  std::string quantity;
  size_t count = 0;
  double median = 0, p90 = 0, max = 0;
  size_t off = 0;
};

struct RunComparison {
  std::string run;    // the CSV's file name
  std::string check;  // moe_layer | offload
  std::vector<Point> points;
  std::vector<QuantityStats> stats;  // in order of first appearance
  std::vector<std::string> notes;    // skipped points, routing notes, byte mismatches
  bool bytes_exact = true;           // offload: every token's bytes read equal
};

RunComparison compare_moe_layer(const bench::ResultFile& measured, const SimResult& sim, const std::string& run);
RunComparison compare_offload(const bench::ResultFile& measured, const SimResult& sim, const std::string& run);

// Fills stats from points.
void summarize_points(RunComparison& c);

// The whole report (every run, every point).
std::string report_markdown(const std::vector<RunComparison>& runs, const std::string& title, const std::string& intro);

// "step=3 slots=.." -> 3 for key "step"; -1 when absent.
int64_t note_int(const std::string& note, const std::string& key);

}  // namespace moesim::layercheck
