// Layer-by-layer task assembly. Dependencies: a device's attention waits for its previous layer;
// the dispatch alltoallv waits for the gate of every device of the EP group; each device's expert
// GEMMs wait for the dispatch; the combine waits for every device's experts, so the most loaded
// device (tokens from the actual routing) holds back the whole group: the straggler comes out of
// the schedule, not from a formula. Shared experts only need the attention output and so overlap
// the dispatch (DeepSeek-V3 report, Sec. 3.2).
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

int32_t moe_index_of(const model::ModelSpec& m, int32_t layer) {
  int32_t n = 0;
  for (int32_t l = 0; l < layer; ++l) n += m.is_moe_layer(l) ? 1 : 0;
  return n;
}

int32_t ffn_kernels(const model::ModelSpec& m) { return m.ffn == model::FfnKind::swiglu3 ? 3 : 2; }

// Wire bytes of a token copy in `d` over the plans' bytes_per_token (d_model x activation bytes):
// dispatch and combine dtypes (issue 18, models/model_spec.hpp).
double wire_scale(const model::ModelSpec& m, hw::Dtype d) {
  return token_bytes(d, m.d_model) / (static_cast<double>(m.d_model) * hw::dtype_bytes(m.activation_dtype));
}
// Both directions of one layer pass (dispatch + combine): what StepInfo counts.
double wire_scales(const model::ModelSpec& m) { return wire_scale(m, m.dispatch_dtype) + wire_scale(m, m.combine_dtype); }

}  // namespace

StepAssembler::StepAssembler(const WorkloadContext& ctx, graph::StepGraph& g, StepInfo& info, double capacity_factor)
    : ctx_(ctx), g_(g), info_(info), capacity_factor_(capacity_factor),
      ep_(ctx.sharding ? ctx.sharding->ep() : ctx.cluster.devices),
      tp_(ctx.sharding ? ctx.sharding->tensor_parallel() : TensorParallel{}) {}

int32_t StepAssembler::moe_index(int32_t layer) const { return moe_index_of(*ctx_.model, layer); }

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
  graph::Task t;
  t.name = name;
  t.op = op;
  t.layer = layer;
  t.micro_batch = mb;
  t.stream = graph::Stream::compute;
  t.work = w;
  t.deps = std::move(deps);
  return g_.add(std::move(t));
}

TaskId StepAssembler::collective(graph::CollectiveWork work, const std::string& name, const std::string& op,
                                 int32_t layer, int32_t mb, std::vector<TaskId> deps) {
  graph::Task t;
  t.name = name;
  t.op = op;
  t.layer = layer;
  t.micro_batch = mb;
  t.stream = graph::Stream::comm;
  t.work = std::move(work);
  t.deps = std::move(deps);
  return g_.add(std::move(t));
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

void StepAssembler::forward_layer(MicroBatch& mb, int32_t layer) {
  const auto& m = *ctx_.model;
  LayerTokenCosts c = layer_token_costs(m, layer, mb.attention);
  std::vector<TaskId> attn(static_cast<size_t>(devices()));
  const double slice = 1.0 / tp_.tp;  // TP: each rank holds 1/tp of the weights (heads, FFN columns)
  for (int32_t d = 0; d < devices(); ++d) {
    // T: this device's share of the work in tokens (TP: the group's tokens / tp, GEMMs of all rows).
    int64_t rows = tp_group_tokens(mb, d);
    double T = static_cast<double>(rows) * slice;
    attn[d] = compute(d, layer_task_name(layer, "attention"), "attention", layer, mb.index, T * c.attention.flops,
                      c.attention.weight_bytes * slice + T * c.attention.activation_bytes, rows, 5, mb.frontier[d]);
    alloc(attn[d], d, MemCategory::workspace, 4.0 * T * c.hidden_bytes, true);
    alloc(attn[d], d, MemCategory::workspace, -4.0 * T * c.hidden_bytes, false);
    if (mb.save_activations) alloc(attn[d], d, MemCategory::activations, T * c.saved_activation_bytes, false);
    else alloc(attn[d], d, MemCategory::kv_cache, T * c.kv_bytes, false);
  }
  if (tp_.tp > 1) {  // Megatron: row-parallel output projection, all-reduce of the attention output
    std::vector<std::vector<TaskId>> after(attn.size());
    for (size_t d = 0; d < attn.size(); ++d) after[d] = {attn[d]};
    attn = tp_all_reduce(mb, layer, "tp_allreduce", after, c.hidden_bytes);
  }
  if (m.is_moe_layer(layer)) {
    if (tp_.tp > 1) moe_forward_tp(mb, layer, moe_index_of(m, layer), c, attn);
    else moe_forward(mb, layer, moe_index_of(m, layer), c, attn);
    return;
  }
  std::vector<std::vector<TaskId>> ffn(static_cast<size_t>(devices()));
  for (int32_t d = 0; d < devices(); ++d) {
    int64_t rows = tp_group_tokens(mb, d);
    double T = static_cast<double>(rows) * slice;
    TaskId f = compute(d, layer_task_name(layer, "dense_ffn"), "dense_ffn", layer, mb.index, T * c.dense_ffn.flops,
                       c.dense_ffn.weight_bytes * slice + T * c.dense_ffn.activation_bytes, rows, ffn_kernels(m), {attn[d]});
    if (mb.save_activations) alloc(f, d, MemCategory::activations, T * c.saved_dense_bytes, false);
    mb.frontier[d] = {f};
    ffn[d] = {f};
  }
  if (tp_.tp > 1) {
    auto reduced = tp_all_reduce(mb, layer, "tp_allreduce", ffn, c.hidden_bytes);
    for (int32_t d = 0; d < devices(); ++d) mb.frontier[d] = {reduced[d]};
  }
}

void StepAssembler::moe_forward(MicroBatch& mb, int32_t layer, int32_t moe_index, const LayerTokenCosts& c,
                                std::vector<TaskId>& attn) {
  const auto& m = *ctx_.model;
  std::vector<TaskId> gate(static_cast<size_t>(devices()));
  for (int32_t d = 0; d < devices(); ++d) {
    double T = static_cast<double>(mb.tokens[d]);
    gate[d] = compute(d, layer_task_name(layer, "gate"), "gate", layer, mb.index, T * c.gate.flops,
                      c.gate.weight_bytes + T * c.gate.activation_bytes, mb.tokens[d], 2, {attn[d]});
  }
  int32_t groups = devices() / ep_;
  auto& plans = mb.plans[static_cast<size_t>(layer)];
  plans.clear();
  for (int32_t g = 0; g < groups; ++g) {
    auto devs = group_devices(g);
    // Placement per iteration (the graph's step), the same for every micro-batch of it.
    ExpertPlacement place = ctx_.sharding->place(PlacementRequest{g_.step, moe_index, g});
    DispatchPlan plan = route_group(mb, moe_index, g, place);
    info_.routed_slots += plan.routed_slots;
    info_.dropped_slots += plan.dropped_slots;
    info_.a2a_bytes += wire_scales(m) * plan.total_bytes();
    info_.inter_node_bytes += wire_scales(m) * plan.inter_node_bytes(devs, ctx_.cluster.node_of);
    std::vector<TaskId> deps;
    for (int32_t d : devs) deps.push_back(gate[d]);
    std::vector<TaskId> gate_deps = deps;
    for (TaskId t : sharding::before_dispatch(*this, mb, layer, g, place, gate_deps)) deps.push_back(t);
    graph::CollectiveWork dw = dispatch_collective(plan, devs, wire_scale(m, m.dispatch_dtype));
    TaskId disp = collective(dw, layer_task_name(layer, "dispatch"), "dispatch", layer, mb.index, deps);
    std::vector<TaskId> experts;
    for (int32_t r = 0; r < ep_; ++r) {
      int32_t d = devs[r];
      alloc(disp, d, MemCategory::a2a_buffers, plan.sent(r) + plan.received(r), true);
      alloc(disp, d, MemCategory::a2a_buffers, -plan.sent(r), false);
      graph::ComputeWork summary;
      double secs = expert_seconds(d, plan, r, c.expert, 1.0, summary);
      TaskId e = compute(d, layer_task_name(layer, "expert_ffn"), "expert_ffn", layer, mb.index, 0, 0, 0, 0, {disp});
      auto& w = std::get<graph::ComputeWork>(task(e).work);
      summary.device = d;
      summary.dtype = w.dtype;
      summary.duration = Seconds(secs);
      w = summary;
      double Te = static_cast<double>(plan.tokens_on(r));
      alloc(e, d, MemCategory::workspace, Te * 2.0 * static_cast<double>(m.expert_ffn_dim) * hw::dtype_bytes(m.activation_dtype), true);
      alloc(e, d, MemCategory::workspace, -Te * 2.0 * static_cast<double>(m.expert_ffn_dim) * hw::dtype_bytes(m.activation_dtype), false);
      if (mb.save_activations) alloc(e, d, MemCategory::activations, Te * c.saved_expert_bytes, false);
      experts.push_back(e);
    }
    graph::CollectiveWork cw = combine_collective(plan, devs, wire_scale(m, m.combine_dtype));
    TaskId comb = collective(cw, layer_task_name(layer, "combine"), "combine", layer, mb.index, experts);
    sharding::after_combine(*this, mb, layer, g, place, comb);
    for (int32_t r = 0; r < ep_; ++r) {
      alloc(comb, devs[r], MemCategory::a2a_buffers, plan.sent(r), true);
      alloc(comb, devs[r], MemCategory::a2a_buffers, -(plan.sent(r) + plan.received(r)), false);
      mb.frontier[devs[r]] = {comb};
    }
    plans.push_back(std::move(plan));
  }
  if (m.shared_experts <= 0) return;
  for (int32_t d = 0; d < devices(); ++d) {
    double T = static_cast<double>(mb.tokens[d]);
    TaskId s = compute(d, layer_task_name(layer, "shared_expert"), "shared_expert", layer, mb.index,
                       T * c.shared_expert.flops, c.shared_expert.weight_bytes + T * c.shared_expert.activation_bytes,
                       mb.tokens[d], ffn_kernels(m), {attn[d]});
    if (mb.save_activations) alloc(s, d, MemCategory::activations, T * c.saved_shared_bytes, false);
    mb.frontier[d].push_back(s);
  }
}

void StepAssembler::backward_layer(MicroBatch& mb, int32_t layer) {
  const auto& m = *ctx_.model;
  LayerTokenCosts c = layer_token_costs(m, layer, mb.attention);
  std::vector<std::vector<TaskId>> before_attention = mb.frontier;
  if (m.is_moe_layer(layer)) {
    if (tp_.tp > 1) moe_backward_tp(mb, layer, c);
    else moe_backward(mb, layer, c);
    before_attention = mb.frontier;
  } else {
    const double slice = 1.0 / tp_.tp;
    for (int32_t d = 0; d < devices(); ++d) {
      int64_t rows = tp_group_tokens(mb, d);
      double T = static_cast<double>(rows) * slice;
      TaskId f = compute(d, layer_task_name(layer, "dense_ffn_bwd"), "dense_ffn_bwd", layer, mb.index,
                         2.0 * T * c.dense_ffn.flops, 2.0 * c.dense_ffn.weight_bytes * slice + 2.0 * T * c.dense_ffn.activation_bytes,
                         rows, 2 * ffn_kernels(m), mb.frontier[d]);
      alloc(f, d, MemCategory::activations, -T * c.saved_dense_bytes, false);
      before_attention[d] = {f};
    }
    // Megatron: the backward of the FFN's input (identity forward) all-reduces the input gradient.
    if (tp_.tp > 1) {
      auto reduced = tp_all_reduce(mb, layer, "tp_allreduce_bwd", before_attention, c.hidden_bytes);
      for (int32_t d = 0; d < devices(); ++d) before_attention[d] = {reduced[d]};
    }
  }
  const double slice = 1.0 / tp_.tp;
  std::vector<std::vector<TaskId>> attn(static_cast<size_t>(devices()));
  for (int32_t d = 0; d < devices(); ++d) {
    int64_t rows = tp_group_tokens(mb, d);
    double T = static_cast<double>(rows) * slice;
    double gate_flops = m.is_moe_layer(layer) ? c.gate.flops : 0.0;
    TaskId a = compute(d, layer_task_name(layer, "attention_bwd"), "attention_bwd", layer, mb.index,
                       T * (c.attention_bwd.flops + 2.0 * gate_flops),
                       2.0 * c.attention.weight_bytes * slice + 2.0 * T * c.attention.activation_bytes, rows, 10,
                       before_attention[d]);
    alloc(a, d, MemCategory::activations, -T * c.saved_activation_bytes, false);
    mb.frontier[d] = {a};
    attn[d] = {a};
  }
  if (tp_.tp > 1) {
    auto reduced = tp_all_reduce(mb, layer, "tp_allreduce_bwd", attn, c.hidden_bytes);
    for (int32_t d = 0; d < devices(); ++d) mb.frontier[d] = {reduced[d]};
  }
}

void StepAssembler::moe_backward(MicroBatch& mb, int32_t layer, const LayerTokenCosts& c) {
  const auto& m = *ctx_.model;
  auto& plans = mb.plans[static_cast<size_t>(layer)];
  std::vector<std::vector<TaskId>> next(static_cast<size_t>(devices()));
  for (int32_t g = 0; g < static_cast<int32_t>(plans.size()); ++g) {
    const DispatchPlan& plan = plans[g];
    auto devs = group_devices(g);
    info_.a2a_bytes += wire_scales(m) * plan.total_bytes();
    info_.inter_node_bytes += wire_scales(m) * plan.inter_node_bytes(devs, ctx_.cluster.node_of);
    std::vector<TaskId> deps;
    for (int32_t d : devs) deps.insert(deps.end(), mb.frontier[d].begin(), mb.frontier[d].end());
    ExpertPlacement place = ctx_.sharding->place(PlacementRequest{g_.step, moe_index_of(m, layer), g});
    for (TaskId t : sharding::before_backward(*this, mb, layer, g, place)) deps.push_back(t);
    // Gradient of the combine travels like the dispatch (token device -> expert device).
    graph::CollectiveWork cw = dispatch_collective(plan, devs, wire_scale(m, m.dispatch_dtype));
    TaskId cb = collective(cw, layer_task_name(layer, "combine_bwd"), "combine_bwd", layer, mb.index, deps);
    std::vector<TaskId> experts;
    for (int32_t r = 0; r < ep_; ++r) {
      int32_t d = devs[r];
      alloc(cb, d, MemCategory::a2a_buffers, plan.sent(r) + plan.received(r), true);
      alloc(cb, d, MemCategory::a2a_buffers, -plan.sent(r), false);
      graph::ComputeWork summary;
      double secs = expert_seconds(d, plan, r, c.expert, 2.0, summary);
      TaskId e = compute(d, layer_task_name(layer, "expert_ffn_bwd"), "expert_ffn_bwd", layer, mb.index, 0, 0, 0, 0, {cb});
      auto& w = std::get<graph::ComputeWork>(task(e).work);
      summary.device = d;
      summary.dtype = w.dtype;
      summary.duration = Seconds(secs);
      w = summary;
      alloc(e, d, MemCategory::activations, -static_cast<double>(plan.tokens_on(r)) * c.saved_expert_bytes, false);
      experts.push_back(e);
    }
    graph::CollectiveWork dw = combine_collective(plan, devs, wire_scale(m, m.combine_dtype));
    TaskId db = collective(dw, layer_task_name(layer, "dispatch_bwd"), "dispatch_bwd", layer, mb.index, experts);
    for (int32_t r = 0; r < ep_; ++r) {
      alloc(db, devs[r], MemCategory::a2a_buffers, plan.sent(r), true);
      alloc(db, devs[r], MemCategory::a2a_buffers, -(plan.sent(r) + plan.received(r)), false);
      next[devs[r]].push_back(db);
    }
    sharding::after_backward(*this, mb, layer, g, place, experts, db);
  }
  if (m.shared_experts > 0) {
    for (int32_t d = 0; d < devices(); ++d) {
      double T = static_cast<double>(mb.tokens[d]);
      TaskId s = compute(d, layer_task_name(layer, "shared_expert_bwd"), "shared_expert_bwd", layer, mb.index,
                         2.0 * T * c.shared_expert.flops,
                         2.0 * c.shared_expert.weight_bytes + 2.0 * T * c.shared_expert.activation_bytes, mb.tokens[d],
                         2 * ffn_kernels(m), mb.frontier[d]);
      alloc(s, d, MemCategory::activations, -T * c.saved_shared_bytes, false);
      next[d].push_back(s);
    }
  }
  mb.frontier = std::move(next);
}

void StepAssembler::lm_head(MicroBatch& mb, const std::vector<int64_t>& tokens, bool backward) {
  OpWork h = lm_head_costs(*ctx_.model);
  double f = backward ? 2.0 : 1.0;
  for (int32_t d = 0; d < devices(); ++d) {
    double T = static_cast<double>(tokens[d]);
    TaskId t = compute(d, backward ? "lm_head_bwd" : "lm_head", backward ? "lm_head_bwd" : "lm_head", -1, mb.index,
                       f * T * h.flops, f * h.weight_bytes / tp_.tp + f * T * h.activation_bytes, tokens[d], backward ? 2 : 1,
                       mb.frontier[d]);
    double logits = T * static_cast<double>(ctx_.model->vocab_size) * 4.0;  // fp32 logits
    alloc(t, d, MemCategory::workspace, logits, true);
    alloc(t, d, MemCategory::workspace, -logits, false);
    mb.frontier[d] = {t};
  }
}

}  // namespace moesim::workload
