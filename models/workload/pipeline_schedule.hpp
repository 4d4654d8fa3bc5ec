#pragma once
// Pipeline schedules: a schedule only decides the ORDER of micro-batch chunks on each
// pipeline stage; the pipelined training builder (pipeline_training.cpp) turns that order into
// tasks and the sends between stages into transfer tasks. Pluggable (IPipelineSchedule, registry
// "pipeline_schedule", TOML [parallel.schedule] kind = ...); each kind is one schedule_*.cpp:
//   gpipe             Huang et al. 2019: all forwards, then all backwards
//   1f1b              PipeDream-Flush, Narayanan et al. 2021 (SC'21) Sec. 2.2, Fig. 4 top
//   interleaved_1f1b  Narayanan et al. 2021 Sec. 2.2, Fig. 4 bottom (v model chunks per stage)
//   zero_bubble       ZB-H1, Qi et al. 2024 (ICLR) Sec. 3: backward split into B (input) and W (weight)
//   dualpipe          DeepSeek-V3 technical report (2024) Sec. 3.2.1, deepseek-ai/DualPipe
//
// Terms: a micro-batch travels through `chunks` model chunks (consecutive layer ranges, chunk 0
// holds the embedding, the last the LM head); each chunk lives on one stage. A slot is what a stage
// does next: one op, or two ops run together (DualPipe's overlapped forward + backward pair).
#include <cstdint>
#include <string>
#include <vector>

#include "sim/core/registry.hpp"

namespace moesim::workload {

struct PipelineOp {
  enum class Kind : uint8_t {
    forward,
    backward,         // full backward: input and weight gradients together
    backward_input,   // zero-bubble B: input gradient only (what the previous stage waits for)
    backward_weight,  // zero-bubble W: weight gradient of an earlier backward_input
  };
  Kind kind = Kind::forward;
  int32_t micro_batch = 0;
  int32_t chunk = 0;  // model chunk along the micro-batch's path, 0 .. chunks-1
  bool operator==(const PipelineOp& o) const {
    return kind == o.kind && micro_batch == o.micro_batch && chunk == o.chunk;
  }
};

struct PipelineSlot {
  std::vector<PipelineOp> ops;  // 1, or 2 run together (overlapped)
};

struct PipelinePlan {
  int32_t stages = 1;
  int32_t micro_batches = 1;
  int32_t chunks = 1;  // model chunks (stages x virtual stages; DualPipe: stages)
  std::vector<std::vector<PipelineSlot>> slots;  // per stage, in execution order
  // Whether each stage holds two copies of its parameters' chunks (DualPipe: both directions).
  int32_t parameter_copies = 1;
};

class IPipelineSchedule {
 public:
  static constexpr const char* kInterface = "pipeline_schedule";
  virtual ~IPipelineSchedule() = default;
  // The order for `stages` stages and `micro_batches` micro-batches. Throws InfeasibleError when
  // the schedule cannot run them (e.g. interleaving needs micro_batches % stages == 0).
  virtual PipelinePlan plan(int32_t stages, int32_t micro_batches) const = 0;
  // Model chunks a micro-batch passes through.
  virtual int32_t chunks(int32_t stages) const { return stages; }
  virtual std::string name() const = 0;
};

using PipelineScheduleRegistry = Registry<IPipelineSchedule>;

// Checks a plan: every (micro-batch, chunk) has exactly one forward and one backward (or one B
// and one W, W after B), each on one stage; a stage runs a chunk's forward before its backward.
// Returns "" when valid, else what is wrong.
std::string validate_plan(const PipelinePlan& plan);
// Stage that runs chunk `chunk` of micro-batch `mb` (from the plan; -1 if absent).
std::vector<std::vector<int32_t>> stage_of_chunks(const PipelinePlan& plan);  // [mb][chunk]

// Helpers shared by the schedules.
PipelineOp fwd(int32_t mb, int32_t chunk);
PipelineOp bwd(int32_t mb, int32_t chunk);
PipelineSlot one(PipelineOp op);

}  // namespace moesim::workload
