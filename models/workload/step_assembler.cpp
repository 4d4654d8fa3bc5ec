// The step assembler's building blocks: task constructors, memory annotations, routing of one EP
// group into a dispatch plan, per-expert GEMM timing and the parameters each device holds. The
// layers built from them are in step_assembler_layers.cpp (forward and backward), tensor
// parallelism in step_assembler_tp.cpp.
#include "models/workload/step_assembler.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace moesim::workload {

using graph::MemCategory;
using graph::TaskId;

std::string layer_task_name(int32_t layer, std::string_view op) { return fmt::format("L{}.{}", layer, op); }

namespace {

hw::Dtype compute_dtype(const model::ModelSpec& m) {
  return hw::dtype_bytes(m.weight_dtype) >= 1.0 ? m.weight_dtype : m.activation_dtype;
}

// One task of `stream` appended to `g`.
TaskId add_task(graph::StepGraph& g, graph::Stream stream, graph::Work work, const std::string& name, const std::string& op,
                int32_t layer, int32_t mb, std::vector<TaskId> deps) {
  graph::Task t;
  t.name = name;
  t.op = op;
  t.layer = layer;
  t.micro_batch = mb;
  t.stream = stream;
  t.work = std::move(work);
  t.deps = std::move(deps);
  return g.add(std::move(t));
}

}  // namespace

int32_t ffn_kernels(const model::ModelSpec& m) { return m.ffn == model::FfnKind::swiglu3 ? 3 : 2; }

StepAssembler::StepAssembler(const WorkloadContext& ctx, graph::StepGraph& g, StepInfo& info, double capacity_factor)
    : ctx_(ctx), g_(g), info_(info), capacity_factor_(capacity_factor),
      ep_(ctx.sharding ? ctx.sharding->ep() : ctx.cluster.devices),
      tp_(ctx.sharding ? ctx.sharding->tensor_parallel() : TensorParallel{}) {}

int32_t StepAssembler::moe_index(int32_t layer) const {
  int32_t n = 0;
  for (int32_t l = 0; l < layer; ++l) n += ctx_.model->is_moe_layer(l) ? 1 : 0;
  return n;
}

std::vector<int32_t> StepAssembler::group_devices(int32_t group) const {
  // Under TP, group g = replica * tp + rank: the devices with TP rank `rank` of that replica.
  std::vector<int32_t> d(static_cast<size_t>(ep_));
  const int32_t replica = group / tp_.tp, rank = group % tp_.tp;
  for (int32_t r = 0; r < ep_; ++r) d[r] = (replica * ep_ + r) * tp_.tp + rank;
  return d;
}

MicroBatch StepAssembler::start(int32_t index, int64_t routing_step, std::vector<int64_t> tokens, double context,
                                bool save_activations) const {
  MicroBatch mb;
  mb.index = index;
  mb.routing_step = routing_step;
  mb.tokens = std::move(tokens);
  mb.context = context;
  mb.attention = model::decode_span(context);
  mb.save_activations = save_activations;
  mb.frontier.assign(static_cast<size_t>(devices()), {});
  mb.plans.assign(static_cast<size_t>(ctx_.model->layers), {});
  return mb;
}

std::vector<TaskId> StepAssembler::all_frontier(const MicroBatch& mb) const {
  std::vector<TaskId> out;
  for (const auto& f : mb.frontier) out.insert(out.end(), f.begin(), f.end());
  return out;
}

std::vector<double> StepAssembler::params_per_device(int64_t step) const {
  const auto& m = *ctx_.model;
  double shared = embedding_params(m);
  for (int64_t l = 0; l < m.layers; ++l) shared += layer_non_expert_params(m, l);
  // TP slices the non-expert layers and every owned expert over the group's ranks.
  std::vector<double> p(static_cast<size_t>(devices()), shared / tp_.tp);
  double per_expert = expert_params(m) / tp_.tp;
  int32_t moe = 0;
  for (int64_t l = 0; l < m.layers; ++l) {
    if (!m.is_moe_layer(l)) continue;
    for (int32_t g = 0; g < devices() / ep_; ++g) {
      ExpertPlacement place = ctx_.sharding->place(PlacementRequest{step, moe, g});
      for (int32_t d : group_devices(g)) {
        // Ephemeral copies (FSSDP, FSDP) are gathered by tasks; only the owner keeps state.
        auto held = ctx_.sharding->materialization().copies == Materialization::Copies::ephemeral ? place.owned_by(d)
                                                                                                   : place.held_by(d);
        p[d] += per_expert * static_cast<double>(held.size());
      }
    }
    ++moe;
  }
  return p;
}

void StepAssembler::add_resident(const std::vector<double>& params, MemCategory c, double per_param) {
  for (int32_t d = 0; d < static_cast<int32_t>(params.size()); ++d)
    g_.resident.push_back(graph::MemDelta{d, c, Bytes(params[d] * per_param)});
}

void StepAssembler::alloc(TaskId id, int32_t device, MemCategory c, double bytes, bool at_start) {
  if (bytes == 0) return;
  auto& t = task(id);
  (at_start ? t.on_start : t.on_end).push_back(graph::MemDelta{device, c, Bytes(bytes)});
}

TaskId StepAssembler::compute(int32_t device, const std::string& name, const std::string& op, int32_t layer,
                              int32_t mb, double flops, double bytes, int64_t gemm_m, int32_t kernels,
                              std::vector<TaskId> deps) {
  graph::ComputeWork w;
  w.device = device;
  w.flops = Flops(flops);
  w.bytes = Bytes(bytes);
  w.dtype = compute_dtype(*ctx_.model);
  w.gemm_m = gemm_m;
  w.kernels = kernels;
  w.duration = ctx_.compute_time(w);
  return add_task(g_, graph::Stream::compute, w, name, op, layer, mb, std::move(deps));
}

TaskId StepAssembler::collective(graph::CollectiveWork work, const std::string& name, const std::string& op,
                                 int32_t layer, int32_t mb, std::vector<TaskId> deps) {
  return add_task(g_, graph::Stream::comm, std::move(work), name, op, layer, mb, std::move(deps));
}

DispatchPlan StepAssembler::route_group(const MicroBatch& mb, int32_t moe_index, int32_t group,
                                        const ExpertPlacement& place) {
  auto devs = group_devices(group);
  routing::CountRequest cq;
  if (capacity_factor_ <= 0) {  // dropless: only counts matter; ask for them where they are sampled
    cq.step = mb.routing_step;
    cq.layer = moe_index;
    cq.experts = place.experts();
    cq.devices = devs;
    for (int32_t d : devs) cq.tokens.push_back(mb.tokens[d]);
  }
  if (capacity_factor_ <= 0 && ctx_.routing->samples_counts(cq)) {
    routing::LayerCounts counts = ctx_.routing->route_counts(cq);
    if (counts.sources != static_cast<int32_t>(devs.size()) || counts.experts != place.experts())
      throw std::runtime_error(fmt::format("routing source returned {} x {} counts for a request of {} x {} (step {}, MoE layer {})",
                                           counts.sources, counts.experts, devs.size(), place.experts(), cq.step, moe_index));
    if (cq.total_tokens() > 0)
      ctx_.sharding->observe_load(LoadObservation{g_.step, mb.routing_step, moe_index, group, counts.expert_load()});
    CountDispatchInput in;
    in.counts = &counts;
    in.placement = &place;
    in.group = devs;
    in.node_of = ctx_.cluster.node_of;
    in.bytes_per_token = static_cast<double>(ctx_.model->d_model) * hw::dtype_bytes(ctx_.model->activation_dtype);
    in.nodes = ctx_.cluster.nodes;
    in.tokens = cq.tokens;
    return plan_dispatch_counts(in);
  }
  routing::RouteRequest req;
  req.step = mb.routing_step;
  req.layer = moe_index;
  for (int32_t d : devs)
    for (int64_t i = 0; i < mb.tokens[d]; ++i) req.token_device.push_back(d);
  req.tokens = static_cast<int64_t>(req.token_device.size());
  routing::LayerRouting r;
  if (req.tokens > 0) r = ctx_.routing->route(req);
  if (req.tokens > 0)
    ctx_.sharding->observe_load(LoadObservation{g_.step, mb.routing_step, moe_index, group, r.expert_load(place.experts())});
  if (r.tokens != req.tokens || static_cast<int64_t>(r.experts.size()) != r.tokens * r.k)
    throw std::runtime_error(fmt::format("routing source returned {} tokens for a request of {} (step {}, MoE layer {})",
                                         r.tokens, req.tokens, req.step, moe_index));
  DispatchInput in;
  in.routing = &r;
  in.token_device = std::move(req.token_device);
  in.placement = &place;
  in.group = devs;
  in.node_of = ctx_.cluster.node_of;
  in.nodes = ctx_.cluster.nodes;
  in.bytes_per_token = static_cast<double>(ctx_.model->d_model) * hw::dtype_bytes(ctx_.model->activation_dtype);
  in.capacity_factor = capacity_factor_;
  return plan_dispatch(in);
}

double StepAssembler::expert_seconds(int32_t device, const DispatchPlan& plan, int32_t rank, const OpWork& expert,
                                     double factor, graph::ComputeWork& summary) const {
  double seconds = 0;
  int32_t kernels = ffn_kernels(*ctx_.model) * (factor > 1.0 ? 2 : 1);  // backward: dgrad + wgrad
  for (int32_t e = 0; e < plan.experts; ++e) {
    int64_t m = plan.expert_tokens[static_cast<size_t>(rank) * plan.experts + e];
    if (m == 0) continue;
    graph::ComputeWork w;
    w.device = device;
    w.flops = Flops(static_cast<double>(m) * expert.flops * factor);
    w.bytes = Bytes(expert.weight_bytes * (factor > 1.0 ? 2.0 : 1.0) + static_cast<double>(m) * expert.activation_bytes * factor);
    w.dtype = compute_dtype(*ctx_.model);
    w.gemm_m = m;
    w.kernels = kernels;
    seconds += ctx_.compute_time(w).value;  // one grouped-GEMM segment per expert, each at its own shape
    summary.flops += w.flops;
    summary.bytes += w.bytes;
    summary.gemm_m = std::max(summary.gemm_m, m);
    summary.kernels += kernels;
  }
  return seconds;
}

double wire_scale(const model::ModelSpec& m, hw::Dtype d) {
  return token_bytes(d, m.d_model) / (static_cast<double>(m.d_model) * hw::dtype_bytes(m.activation_dtype));
}

double wire_scales(const model::ModelSpec& m) { return wire_scale(m, m.dispatch_dtype) + wire_scale(m, m.combine_dtype); }

TaskId StepAssembler::exchange_to_experts(const std::vector<int32_t>& devs, const DispatchPlan& plan,
                                          const std::string& op, int32_t layer, int32_t mb, std::vector<TaskId> deps) {
  graph::CollectiveWork w = dispatch_collective(plan, devs, wire_scale(*ctx_.model, ctx_.model->dispatch_dtype));
  TaskId t = collective(w, layer_task_name(layer, op), op, layer, mb, std::move(deps));
  for (size_t r = 0; r < devs.size(); ++r) {  // send and receive buffers; the send side freed at the end
    alloc(t, devs[r], MemCategory::a2a_buffers, plan.sent(static_cast<int32_t>(r)) + plan.received(static_cast<int32_t>(r)), true);
    alloc(t, devs[r], MemCategory::a2a_buffers, -plan.sent(static_cast<int32_t>(r)), false);
  }
  return t;
}

TaskId StepAssembler::exchange_from_experts(const std::vector<int32_t>& devs, const DispatchPlan& plan,
                                            const std::string& op, int32_t layer, int32_t mb, std::vector<TaskId> deps) {
  graph::CollectiveWork w = combine_collective(plan, devs, wire_scale(*ctx_.model, ctx_.model->combine_dtype));
  TaskId t = collective(w, layer_task_name(layer, op), op, layer, mb, std::move(deps));
  for (size_t r = 0; r < devs.size(); ++r) {  // the results travel back; every buffer freed at the end
    alloc(t, devs[r], MemCategory::a2a_buffers, plan.sent(static_cast<int32_t>(r)), true);
    alloc(t, devs[r], MemCategory::a2a_buffers, -(plan.sent(static_cast<int32_t>(r)) + plan.received(static_cast<int32_t>(r))), false);
  }
  return t;
}

// Every MoE layer moves each routed slot's hidden state twice on the token's own device, whether
// or not an all-to-all follows: a gather into expert order before the dispatch and a weighted
// scatter-add back into token order after the combine (GShard's dispatch/combine einsums, Lepikhin
// et al. 2020, Sec. 2.2; MegaBlocks' permute/unpermute, Gale et al. 2023, Sec. 5.1). Both are
// memory-bound, so their time is the roofline's memory term (hardware/compute_model.hpp) of the
// bytes they touch, with S_r = the slots of rank r's tokens (plan.routed_bytes: the row sum of
// plan.bytes, at activation bytes per row) and T_r = rank r's tokens x hidden bytes:
//   gather:  read S_r + write S_r          scatter-add: read S_r + write T_r
// Backward mirrors them (the gradient of a scatter-add is a gather and vice versa).
// Measured on the 2026-12-07 AMD EPYC VM (mb_moe_layer, OLMoE dims, 128 tokens x top-8): 0.8-0.9
// ms permute and 3.2-3.3 ms combine, which the simulator had as 0 s (docs/validation.md, "Permute
// and combine on one device", with what this model predicts for them).
std::vector<TaskId> StepAssembler::local_permute(const std::vector<int32_t>& devs, const DispatchPlan& plan,
                                                 const MicroBatch& mb, bool gather, const std::string& op,
                                                 int32_t layer, const std::vector<std::vector<TaskId>>& deps) {
  const auto& m = *ctx_.model;
  const double row_bytes = static_cast<double>(m.d_model) * hw::dtype_bytes(m.activation_dtype);
  std::vector<TaskId> out;
  for (size_t r = 0; r < devs.size(); ++r) {
    const double slot_bytes = plan.routed_bytes(static_cast<int32_t>(r));
    const double token_bytes = static_cast<double>(mb.tokens[static_cast<size_t>(devs[r])]) * row_bytes;
    const double bytes = slot_bytes + (gather ? slot_bytes : token_bytes);
    out.push_back(compute(devs[r], layer_task_name(layer, op), op, layer, mb.index, 0.0, bytes, 0, 1, deps[r]));
  }
  return out;
}

std::vector<TaskId> StepAssembler::expert_ffns(const std::vector<int32_t>& devs, const DispatchPlan& plan,
                                               const OpWork& expert, double factor, const std::string& op, int32_t layer,
                                               int32_t mb, TaskId after) {
  std::vector<TaskId> out;
  for (int32_t r = 0; r < static_cast<int32_t>(devs.size()); ++r)
    out.push_back(expert_slice_task(devs[static_cast<size_t>(r)], plan, r, expert, factor, op, layer, mb, after));
  return out;
}

}  // namespace moesim::workload
