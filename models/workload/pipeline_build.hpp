#pragma once
// One step of pipelined training being built (pipeline_training.hpp explains the model). Internal
// to pipeline_training.cpp / pipeline_build.cpp / pipeline_passes.cpp.
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "models/workload/layout.hpp"
#include "models/workload/pipeline_replay.hpp"
#include "models/workload/step_assembler.hpp"
#include "models/workload/training.hpp"
#include "models/workload/zero.hpp"

namespace moesim::workload {

// Share of the saved activations of a forward task of class `op` kept under `r` (the rest is
// recomputed before the backward).
double recompute_keep_share(Recompute r, const std::string& op);
// The context of one stage: its devices renumbered 0..D-1 (compute times still those of the
// global devices).
std::unique_ptr<WorkloadContext> stage_context(const WorkloadContext& ctx, const std::vector<int32_t>& devices);

// What does not change from step to step.
struct PipelineSetup {
  TrainingParams params;
  const model::ModelSpec* model = nullptr;
  const Layout* layout = nullptr;
  PipelinePlan plan;
  std::vector<ReplayedOp> order;                    // emission order (replay with nominal times)
  std::vector<std::unique_ptr<WorkloadContext>> stage_ctx;  // one stage's devices, local ids
  std::vector<std::vector<int32_t>> stage_chunks;   // chunks each stage holds
  std::vector<std::vector<int32_t>> stage_of;       // [mb][chunk] -> stage
  std::map<std::tuple<int32_t, int32_t>, int32_t> last_grad_slot;  // (stage, chunk) -> slot of its last gradient op
  std::map<std::tuple<int32_t, int32_t>, int32_t> last_backward_mb;  // (stage, chunk) -> mb of its last backward
};

// Per-task labels kept for the metrics (pipeline bubble, exposed All-to-All).
struct PipelineTags {
  std::vector<int32_t> slot;         // per task: global slot id, -1 outside any slot
  std::vector<int32_t> slot_stage;   // per slot id: its stage
};

class PipelineBuild {
 public:
  PipelineBuild(const PipelineSetup& s, graph::StepGraph& g, StepInfo& info, int64_t step);
  void run();
  PipelineTags take_tags() { return std::move(tags_); }

 private:
  using Ends = std::vector<std::vector<graph::TaskId>>;  // per local device
  using Key = std::tuple<int32_t, int32_t, int32_t>;     // kind, mb, chunk

  void emit_slot(int32_t stage, int32_t slot, const PipelineSlot& ops);
  Ends emit_op(int32_t stage, int32_t slot, const PipelineOp& op, const Ends& before);
  Ends forward(int32_t stage, const PipelineOp& op, const Ends& before);
  Ends backward(int32_t stage, int32_t slot, const PipelineOp& op, const Ends& before);
  Ends weight_gradient(int32_t stage, int32_t slot, const PipelineOp& op, const Ends& before);
  void send(int32_t stage, const PipelineOp& op, const Ends& ends);
  void finish();

  // pipeline_passes.cpp: rewrites of a just-built task range.
  void keep_activations(int32_t stage, const PipelineOp& op, graph::TaskId from);
  graph::TaskId recompute_task(int32_t stage, const PipelineOp& op, int32_t d, std::vector<graph::TaskId> deps);
  void split_weight_gradient(int32_t stage, const PipelineOp& op, graph::TaskId from);
  void interleave(int32_t stage, graph::TaskId first, graph::TaskId second, graph::TaskId end,
                  const std::vector<PipelineOp>& ops);
  void layer_reductions(int32_t stage, int32_t layer, const std::vector<graph::TaskId>& deps);
  void gather_weights(int32_t stage, const PipelineOp& op, Ends& into);
  void optimizer(int32_t stage);
  void relabel();

  graph::TaskId add_global(graph::Task t);  // a task with global device ids (no relabelling)
  void tag_new(int32_t stage, int32_t slot, graph::TaskId from);
  std::vector<graph::TaskId> stage_deps(int32_t stage) const;
  std::vector<int32_t> dense_group(int32_t stage_size, int32_t tp, int32_t rank) const;
  // Holder sets of the experts of `layer` on a stage (local ids) -> experts they hold.
  std::map<std::vector<int32_t>, int32_t> expert_groups(int32_t stage, int32_t layer) const;

  const PipelineSetup& s_;
  graph::StepGraph& g_;
  StepInfo& info_;
  int64_t step_;
  double grad_bytes_;
  std::vector<std::unique_ptr<StepAssembler>> asm_;
  std::vector<int32_t> local_stage_;  // per task: stage whose local ids it uses (-1: global ids)
  PipelineTags tags_;
  std::map<std::pair<int32_t, int32_t>, MicroBatch> mbs_;  // (mb, chunk)
  std::map<Key, Ends> arrivals_;                           // inputs received for an op
  std::vector<Ends> front_;                                // per stage: last slot's ends
  std::vector<std::vector<Ends>> history_;                 // per stage: ends of earlier slots (ZeRO-3 prefetch)
  std::map<std::pair<int32_t, int32_t>, std::vector<double>> removed_act_;   // (mb, chunk): bytes dropped per device
  std::map<std::pair<int32_t, int32_t>, std::vector<double>> forward_secs_;  // (mb, chunk): forward compute per device
  std::map<std::pair<int32_t, int32_t>, std::vector<double>> forward_flops_;
  std::map<std::pair<int32_t, int32_t>, std::vector<double>> wgrad_secs_;    // (mb, chunk): W time per device
  std::map<std::pair<int32_t, int32_t>, std::vector<double>> wgrad_flops_;
  std::map<std::pair<int32_t, int32_t>, std::vector<double>> wgrad_frees_;   // activations W frees
  std::vector<std::vector<graph::TaskId>> reductions_;     // per stage
  std::vector<double> gathered_;                           // ZeRO-3 weights gathered for the op being built, per device
  std::vector<std::vector<DeviceParams>> params_;          // per stage, per local device
};

}  // namespace moesim::workload
