#pragma once
// Replays a pipeline plan with given op durations and no communication time: each stage runs its
// slots in order, an op starts when its stage is free and its inputs exist (forward of chunk c
// after the forward of chunk c-1; backward of chunk c after the backward of chunk c+1 and this
// chunk's forward; W after its B). The closed forms of the schedules' papers assume exactly this
// (uniform stage times, free sends), so the tests check the bubble formulas on it; the builder uses
// the replay's start times to emit tasks in an order close to the one they run in.
#include <cstdint>
#include <functional>
#include <vector>

#include "models/workload/pipeline_schedule.hpp"

namespace moesim::workload {

struct ReplayedOp {
  int32_t stage = 0;
  int32_t slot = 0;
  PipelineOp op;
  double start = 0, end = 0;
};

struct PipelineReplay {
  std::vector<ReplayedOp> ops;       // sorted by (start, stage, slot, position in slot)
  double makespan = 0;
  std::vector<double> busy;          // per stage: sum of op durations
  // Bubble fraction: idle share of the stages' time, 1 - sum(busy) / (stages * makespan).
  double bubble_fraction() const;
  // Largest number of micro-batches whose forward of some chunk on `stage` has run but whose
  // backward (B, or full backward) of that chunk has not: the activations the stage holds.
  static int32_t max_in_flight(const PipelinePlan& plan, int32_t stage);
};

using OpDuration = std::function<double(int32_t stage, const PipelineOp& op)>;
// Time of an overlapped pair (DualPipe's F&B, DeepSeek-V3 report Table 2); both ops end with it.
using PairDuration = std::function<double(int32_t stage, const PipelineOp& a, const PipelineOp& b)>;

// Throws std::logic_error when the plan deadlocks (an op waits for one that never runs). A slot
// of two ops takes `pair` when given, else the sum of the two durations (no overlap).
PipelineReplay replay(const PipelinePlan& plan, const OpDuration& duration, const PairDuration& pair = {});

}  // namespace moesim::workload
