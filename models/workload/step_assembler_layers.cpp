// Layer-by-layer task assembly, forward and backward. Dependencies: a device's attention waits
// for its previous layer; the dispatch alltoallv waits for the gate of every device of the EP
// group; each device's expert GEMMs wait for the dispatch; the combine waits for every device's
// experts, so the most loaded device (tokens from the actual routing) holds back the whole group:
// the straggler comes out of the schedule, not from a formula. Shared experts only need the
// attention output and so overlap the dispatch (DeepSeek-V3 report, Sec. 3.2). Backward mirrors
// forward: combine_bwd carries the output gradients to the experts, dispatch_bwd brings the input
// gradients back, each GEMM twice (dgrad and wgrad).
#include "models/sharding/materialize.hpp"
#include "models/workload/step_assembler.hpp"

namespace moesim::workload {

using graph::MemCategory;
using graph::TaskId;

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
    if (tp_.tp > 1) moe_forward_tp(mb, layer, moe_index(layer), c, attn);
    else moe_forward(mb, layer, moe_index(layer), c, attn);
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
    info_.a2a_bytes += wire_scales(*ctx_.model) * plan.total_bytes();
    info_.inter_node_bytes += wire_scales(*ctx_.model) * plan.inter_node_bytes(devs, ctx_.cluster.node_of);
    std::vector<TaskId> gate_deps;
    std::vector<std::vector<TaskId>> after_gate;
    for (int32_t d : devs) gate_deps.push_back(gate[d]), after_gate.push_back({gate[d]});
    std::vector<TaskId> deps = local_permute(devs, plan, mb, true, "permute", layer, after_gate);
    for (TaskId t : sharding::before_dispatch(*this, mb, layer, g, place, gate_deps)) deps.push_back(t);
    TaskId disp = exchange_to_experts(devs, plan, "dispatch", layer, mb.index, deps);
    std::vector<TaskId> experts = expert_ffns(devs, plan, c.expert, 1.0, "expert_ffn", layer, mb.index, disp);
    const double hidden_bytes = 2.0 * static_cast<double>(m.expert_ffn_dim) * hw::dtype_bytes(m.activation_dtype);
    for (int32_t r = 0; r < ep_; ++r) {
      const double Te = static_cast<double>(plan.tokens_on(r));
      alloc(experts[r], devs[r], MemCategory::workspace, Te * hidden_bytes, true);
      alloc(experts[r], devs[r], MemCategory::workspace, -Te * hidden_bytes, false);
      if (mb.save_activations) alloc(experts[r], devs[r], MemCategory::activations, Te * c.saved_expert_bytes, false);
    }
    TaskId comb = exchange_from_experts(devs, plan, "combine", layer, mb.index, experts);
    sharding::after_combine(*this, mb, layer, g, place, comb);
    const std::vector<std::vector<TaskId>> after_comb(devs.size(), {comb});
    std::vector<TaskId> unpermute = local_permute(devs, plan, mb, false, "unpermute", layer, after_comb);
    for (size_t r = 0; r < devs.size(); ++r) mb.frontier[devs[r]] = {unpermute[r]};
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
    info_.a2a_bytes += wire_scales(*ctx_.model) * plan.total_bytes();
    info_.inter_node_bytes += wire_scales(*ctx_.model) * plan.inter_node_bytes(devs, ctx_.cluster.node_of);
    std::vector<std::vector<TaskId>> upstream;
    for (int32_t d : devs) upstream.push_back(mb.frontier[d]);
    std::vector<TaskId> deps = local_permute(devs, plan, mb, true, "permute_bwd", layer, upstream);
    ExpertPlacement place = ctx_.sharding->place(PlacementRequest{g_.step, moe_index(layer), g});
    for (TaskId t : sharding::before_backward(*this, mb, layer, g, place)) deps.push_back(t);
    // Gradient of the combine travels like the dispatch (token device -> expert device).
    TaskId cb = exchange_to_experts(devs, plan, "combine_bwd", layer, mb.index, deps);
    std::vector<TaskId> experts = expert_ffns(devs, plan, c.expert, 2.0, "expert_ffn_bwd", layer, mb.index, cb);
    for (int32_t r = 0; r < ep_; ++r)
      alloc(experts[r], devs[r], MemCategory::activations, -static_cast<double>(plan.tokens_on(r)) * c.saved_expert_bytes, false);
    TaskId db = exchange_from_experts(devs, plan, "dispatch_bwd", layer, mb.index, experts);
    const std::vector<std::vector<TaskId>> after_db(devs.size(), {db});
    std::vector<TaskId> unpermute = local_permute(devs, plan, mb, false, "unpermute_bwd", layer, after_db);
    for (size_t r = 0; r < devs.size(); ++r) next[devs[r]].push_back(unpermute[r]);
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
