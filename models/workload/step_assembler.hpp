#pragma once
// Appends the tasks of transformer layers to a StepGraph, one micro-batch at a time: attention,
// gate, dispatch alltoallv (byte matrix from this step's routing and the placement), per-device
// expert GEMMs (token counts from the same routing), shared experts, combine alltoallv, dense FFN;
// and their backward mirrors for training. Shared by the inference and training builders.
#include <cstdint>
#include <string>
#include <vector>

#include "models/sharding/materialize.hpp"
#include "models/workload/dispatch.hpp"
#include "models/workload/token_costs.hpp"
#include "models/workload/workload.hpp"

namespace moesim::workload {

// One micro-batch in flight through the layers.
struct MicroBatch {
  int32_t index = 0;
  int64_t routing_step = 0;              // step number given to the routing source
  std::vector<int64_t> tokens;           // tokens per device
  double context = 0;                    // mean KV length one query attends to
  model::AttentionSpan attention;        // one sequence's attention in this pass (what the costs use;
                                         // start() sets a decode over `context`, builders refine it)
  bool save_activations = false;         // training: keep activations for backward
  bool last_accumulation = true;         // training: last micro-batch of the iteration (gradients reduced)
  std::vector<std::vector<graph::TaskId>> frontier;  // per device: what the next task waits for
  // Dispatch plans of each MoE layer (by model layer, then EP group), kept for backward.
  std::vector<std::vector<DispatchPlan>> plans;
};

// Wire bytes of a token copy in `d` over the plans' bytes_per_token (d_model x activation bytes):
// the dispatch and combine dtypes (models/model_spec.hpp; FP8 carries one fp32 scale per 128
// elements, workload::token_bytes).
double wire_scale(const model::ModelSpec& m, hw::Dtype d);
// Both directions of one layer pass (dispatch + combine): what StepInfo's a2a byte counts add.
double wire_scales(const model::ModelSpec& m);

class StepAssembler {
 public:
  StepAssembler(const WorkloadContext& ctx, graph::StepGraph& g, StepInfo& info, double capacity_factor);

  MicroBatch start(int32_t index, int64_t routing_step, std::vector<int64_t> tokens, double context,
                   bool save_activations) const;
  void forward_layer(MicroBatch& mb, int32_t layer);
  void backward_layer(MicroBatch& mb, int32_t layer);
  // LM head over `tokens[d]` tokens per device (forward, or backward at 2x).
  void lm_head(MicroBatch& mb, const std::vector<int64_t>& tokens, bool backward);

  graph::TaskId compute(int32_t device, const std::string& name, const std::string& op, int32_t layer,
                        int32_t mb, double flops, double bytes, int64_t gemm_m, int32_t kernels,
                        std::vector<graph::TaskId> deps);
  graph::TaskId collective(graph::CollectiveWork work, const std::string& name, const std::string& op,
                           int32_t layer, int32_t mb, std::vector<graph::TaskId> deps);
  graph::Task& task(graph::TaskId id) { return g_.tasks[static_cast<size_t>(id)]; }
  void alloc(graph::TaskId id, int32_t device, graph::MemCategory c, double bytes, bool at_start);

  int32_t devices() const { return ctx_.cluster.devices; }
  int32_t ep() const { return ep_; }
  std::vector<int32_t> group_devices(int32_t group) const;
  std::vector<graph::TaskId> all_frontier(const MicroBatch& mb) const;
  // Parameters each device holds at `step`: replicated non-expert weights plus the routed experts
  // the placement gives it, summed over MoE layers.
  std::vector<double> params_per_device(int64_t step) const;
  // Adds `per_param` bytes per held parameter of every device to the graph's resident memory.
  void add_resident(const std::vector<double>& params, graph::MemCategory c, double per_param);

  // Sharding-strategy hooks (models/sharding/materialize.hpp).
  const WorkloadContext& context() const { return ctx_; }
  int64_t step() const { return g_.step; }
  int32_t moe_index(int32_t layer) const;
  sharding::MaterializationState& materialization_state() { return mat_; }
  // Tasks the optimizer must wait for besides the gradient all-reduces (spRS, replica all-reduces).
  const std::vector<graph::TaskId>& sharding_reductions() const { return mat_.reductions; }

  // Tensor parallelism (kind "ep_tp", step_assembler_tp.cpp). tp() = 1 leaves every path as plain EP.
  int32_t tp() const { return tp_.tp; }
  // Tokens the TP group of `device` holds (every rank holds all of them): the sum of the workload's
  // per-device shares over the group, so the global batch does not change with tp.
  int64_t tp_group_tokens(const MicroBatch& mb, int32_t device) const;
  // Gradient all-reduces of layer `layer` (-1: embeddings) under TP: non-expert shards over the
  // data-parallel devices of each TP rank, expert slices over the replicas holding the same slice.
  void tp_gradient_reductions(int32_t layer, const std::vector<graph::TaskId>& deps, double grad_bytes_per_param,
                              std::vector<graph::TaskId>& reductions);

 private:
  void moe_forward(MicroBatch& mb, int32_t layer, int32_t moe_index, const LayerTokenCosts& c,
                   std::vector<graph::TaskId>& attn);
  void moe_backward(MicroBatch& mb, int32_t layer, const LayerTokenCosts& c);
  // The alltoallv that carries tokens (or output gradients) to the experts: each rank's send and
  // receive buffers allocated at its start, the send side freed at its end.
  graph::TaskId exchange_to_experts(const std::vector<int32_t>& devs, const DispatchPlan& plan, const std::string& op,
                                    int32_t layer, int32_t mb, std::vector<graph::TaskId> deps);
  // The alltoallv that brings expert outputs (or input gradients) back, freeing both buffers.
  graph::TaskId exchange_from_experts(const std::vector<int32_t>& devs, const DispatchPlan& plan, const std::string& op,
                                      int32_t layer, int32_t mb, std::vector<graph::TaskId> deps);
  // The local permutation around an exchange, one memory-bound task per rank of `devs` after
  // `deps[r]` (step_assembler.cpp, local_permute): `gather` = the rows of each slot copied into
  // expert order before the dispatch (or combine_bwd); otherwise the weighted scatter-add of the
  // returned rows into token order after the combine (or dispatch_bwd).
  std::vector<graph::TaskId> local_permute(const std::vector<int32_t>& devs, const DispatchPlan& plan,
                                           const MicroBatch& mb, bool gather, const std::string& op,
                                           int32_t layer, const std::vector<std::vector<graph::TaskId>>& deps);
  // One task per rank of `devs` running its experts' GEMMs (factor 1 forward, 2 backward) after `after`.
  std::vector<graph::TaskId> expert_ffns(const std::vector<int32_t>& devs, const DispatchPlan& plan, const OpWork& expert,
                                         double factor, const std::string& op, int32_t layer, int32_t mb,
                                         graph::TaskId after);
  DispatchPlan route_group(const MicroBatch& mb, int32_t moe_index, int32_t group, const ExpertPlacement& place);
  double expert_seconds(int32_t device, const DispatchPlan& plan, int32_t rank, const OpWork& expert,
                        double factor, graph::ComputeWork& summary) const;
  // TP (step_assembler_tp.cpp): one all_reduce of `per_token_bytes` x group tokens per TP group,
  // after `after[d]` of its members; returns, per device, the task that ends it.
  std::vector<graph::TaskId> tp_all_reduce(const MicroBatch& mb, int32_t layer, const std::string& op,
                                           const std::vector<std::vector<graph::TaskId>>& after, double per_token_bytes);
  std::vector<int32_t> tp_group(int32_t device) const;
  // The task running the experts of rank `rank` of `merged` on `device` (forward factor 1, backward
  // 2) after `dep`: one GEMM segment per expert at its own shape. Under TP, one rank's slice.
  graph::TaskId expert_slice_task(int32_t device, const DispatchPlan& merged, int32_t rank, const OpWork& expert,
                                  double factor, const std::string& op, int32_t layer, int32_t mb_index,
                                  graph::TaskId dep);
  // The slices' partial sums of TP group `group`: coordinated, a reduce-scatter back to the ranks'
  // shares (releasing the gathered `bytes`); naive, an all-reduce. Op tp_scatter|tp_allreduce + suffix.
  graph::TaskId tp_reduce_slices(const std::vector<int32_t>& group, double bytes, bool coordinated,
                                 const std::string& suffix, int32_t layer, int32_t mb_index,
                                 const std::vector<graph::TaskId>& slices);
  void moe_forward_tp(MicroBatch& mb, int32_t layer, int32_t moe_index, const LayerTokenCosts& c,
                      const std::vector<graph::TaskId>& attn);
  void moe_backward_tp(MicroBatch& mb, int32_t layer, const LayerTokenCosts& c);
  std::vector<DispatchPlan> route_replica_tp(const MicroBatch& mb, int32_t moe_index, int32_t replica);

  const WorkloadContext& ctx_;
  graph::StepGraph& g_;
  StepInfo& info_;
  double capacity_factor_;
  int32_t ep_;
  sharding::MaterializationState mat_;
  TensorParallel tp_;
};

std::string layer_task_name(int32_t layer, std::string_view op);
// GEMMs of one FFN: 3 for SwiGLU (gate, up, down), 2 otherwise.
int32_t ffn_kernels(const model::ModelSpec& m);

}  // namespace moesim::workload
