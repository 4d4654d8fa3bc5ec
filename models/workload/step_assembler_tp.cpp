// Tensor-parallel MoE layers for kind "ep_tp" (placement.hpp TensorParallel). Sources:
// DeepSpeed-MoE (Rajbhandari et al. 2022, arXiv 2201.05596) Sec. 5.2 (expert slicing: each expert's
// FFN split over the TP ranks like Megatron's MLP, column-parallel up/gate, row-parallel down) and
// Sec. 6.3 (parallelism-coordinated All-to-All); Megatron-LM (Shoeybi et al. 2019, Sec. 3, Fig. 3:
// f/g operators, one all-reduce forward and one backward per attention block and per MLP).
// LocMoE's group-wise All-to-All (Li et al. 2024, Sec. 5.3) is the coordinated form.
//
// Forward of one MoE layer, replica r (TP group i = devices (r*ep+i)*tp + j, j < tp):
//   coordinated: A2A_j (rank j's 1/tp share of the tokens, among the ep devices of rank j)
//                -> all_gather in TP group i (every slice needs every token of its experts)
//                -> expert slice (1/tp of the FLOPs and weights) -> reduce_scatter in the group
//                -> combine A2A_j of the share -> all_gather in the source TP group (tokens are
//                replicated again for the next, tensor-parallel, attention).
//   naive:       A2A_j of all the group's tokens -> expert slice -> all_reduce -> combine A2A_j.
// Bytes per device (uniform routing, T tokens per TP group, h·b per token): naive A2A sends
// T·k·h·b·(ep−1)/ep per rank; coordinated sends 1/tp of it and adds two all-gathers of the
// group's tokens (T·k·h·b·(tp−1)/tp received per rank each) inside the TP group.
// Backward mirrors it: combine_bwd A2A -> all_gather -> expert slice x2 -> reduce_scatter
// (naive: all_reduce) -> dispatch_bwd A2A -> all_gather.
// Capacity (drops) is decided once over the replica's tokens, then the slots are split by rank.
#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "models/workload/step_assembler.hpp"

namespace moesim::workload {

using graph::CollectiveKind;
using graph::CollectiveWork;
using graph::MemCategory;
using graph::TaskId;

namespace {

CollectiveWork group_work(CollectiveKind kind, const std::vector<int32_t>& group, double bytes) {
  CollectiveWork w;
  w.kind = kind;
  w.group = group;
  w.bytes = Bytes(bytes);
  return w;
}

// Slots of `r` (in plan_dispatch's priority order) beyond each expert's capacity are marked dropped.
void apply_capacity(routing::LayerRouting& r, int32_t experts, double capacity_factor) {
  int64_t slots = 0;
  for (int32_t e : r.experts) slots += (e >= 0 && e < experts);
  int64_t cap = expert_capacity(capacity_factor, slots, experts);
  if (cap == 0) return;
  if (r.dropped.empty()) r.dropped.assign(r.experts.size(), 0);
  std::vector<int64_t> filled(static_cast<size_t>(experts), 0);
  for (int32_t s = 0; s < r.k; ++s)
    for (int64_t t = 0; t < r.tokens; ++t) {
      size_t i = static_cast<size_t>(t * r.k + s);
      int32_t e = r.experts[i];
      if (e < 0 || e >= experts || r.dropped[i]) continue;
      if (filled[e] >= cap) r.dropped[i] = 1;
      else ++filled[e];
    }
}

// The tokens `keep` of `r`, in order.
routing::LayerRouting subset(const routing::LayerRouting& r, const std::vector<int64_t>& keep) {
  routing::LayerRouting out;
  out.tokens = static_cast<int64_t>(keep.size());
  out.k = r.k;
  out.shared_experts = r.shared_experts;
  for (int64_t t : keep)
    for (int32_t s = 0; s < r.k; ++s) {
      size_t i = static_cast<size_t>(t * r.k + s);
      out.experts.push_back(r.experts[i]);
      if (!r.weights.empty()) out.weights.push_back(r.weights[i]);
      if (!r.dropped.empty()) out.dropped.push_back(r.dropped[i]);
    }
  return out;
}

}  // namespace

int64_t StepAssembler::tp_group_tokens(const MicroBatch& mb, int32_t device) const {
  if (tp_.tp == 1) return mb.tokens[static_cast<size_t>(device)];
  int64_t s = 0;
  for (int32_t d : tp_group(device)) s += mb.tokens[static_cast<size_t>(d)];
  return s;
}

TaskId StepAssembler::expert_slice_task(int32_t device, const DispatchPlan& merged, int32_t rank, const OpWork& expert,
                                        double factor, const std::string& op, int32_t layer, int32_t mb_index, TaskId dep) {
  graph::ComputeWork summary;
  const double secs = expert_seconds(device, merged, rank, expert, factor, summary);
  TaskId e = compute(device, layer_task_name(layer, op), op, layer, mb_index, 0, 0, 0, 0, {dep});
  auto& w = std::get<graph::ComputeWork>(task(e).work);
  summary.device = device;
  summary.dtype = w.dtype;
  summary.duration = Seconds(secs);
  w = summary;
  return e;
}

TaskId StepAssembler::tp_reduce_slices(const std::vector<int32_t>& group, double bytes, bool coordinated,
                                       const std::string& suffix, int32_t layer, int32_t mb_index,
                                       const std::vector<TaskId>& slices) {
  const CollectiveKind kind = coordinated ? CollectiveKind::reduce_scatter : CollectiveKind::all_reduce;
  const std::string op = (coordinated ? "tp_scatter" : "tp_allreduce") + suffix;
  TaskId t = collective(group_work(kind, group, bytes), layer_task_name(layer, op), op, layer, mb_index, slices);
  if (coordinated)  // the gathered rows are released once scattered back
    for (int32_t d : group) alloc(t, d, MemCategory::a2a_buffers, -bytes, false);
  return t;
}

std::vector<int32_t> StepAssembler::tp_group(int32_t device) const {
  std::vector<int32_t> g(static_cast<size_t>(tp_.tp));
  for (int32_t j = 0; j < tp_.tp; ++j) g[j] = device / tp_.tp * tp_.tp + j;
  return g;
}

std::vector<TaskId> StepAssembler::tp_all_reduce(const MicroBatch& mb, int32_t layer, const std::string& op,
                                                 const std::vector<std::vector<TaskId>>& after, double per_token_bytes) {
  std::vector<TaskId> out(static_cast<size_t>(devices()));
  for (int32_t first = 0; first < devices(); first += tp_.tp) {
    auto group = tp_group(first);
    std::vector<TaskId> deps;
    for (int32_t d : group) deps.insert(deps.end(), after[d].begin(), after[d].end());
    double bytes = static_cast<double>(tp_group_tokens(mb, first)) * per_token_bytes;
    TaskId t = collective(group_work(CollectiveKind::all_reduce, group, bytes),
                          layer_task_name(layer, op), op, layer, mb.index, deps);
    for (int32_t d : group) out[d] = t;
  }
  return out;
}

std::vector<DispatchPlan> StepAssembler::route_replica_tp(const MicroBatch& mb, int32_t moe_index, int32_t replica) {
  const int32_t tp = tp_.tp, first = replica * ep_ * tp, last = first + ep_ * tp;
  routing::RouteRequest req;
  req.step = mb.routing_step;
  req.layer = moe_index;
  // The routing source sees every replica as replica 0 (its expert placement, RoutingContext, is
  // replica 0's): a token's locality is its TP group's position, whose experts are the same.
  std::vector<int32_t> token_device;
  for (int32_t d = first; d < last; ++d)
    for (int64_t i = 0; i < mb.tokens[d]; ++i) {
      token_device.push_back(d);
      req.token_device.push_back(d - first);
    }
  req.tokens = static_cast<int64_t>(req.token_device.size());
  routing::LayerRouting r;
  const int32_t E = static_cast<int32_t>(ctx_.model->experts);
  if (req.tokens > 0) {
    r = ctx_.routing->route(req);
    if (r.tokens != req.tokens || static_cast<int64_t>(r.experts.size()) != r.tokens * r.k)
      throw std::runtime_error(fmt::format("routing source returned {} tokens for a request of {} (step {}, MoE layer {})",
                                           r.tokens, req.tokens, req.step, moe_index));
    ctx_.sharding->observe_load(LoadObservation{g_.step, mb.routing_step, moe_index, replica * tp, r.expert_load(E)});
  }
  r.tokens = req.tokens;
  apply_capacity(r, E, capacity_factor_);
  std::vector<DispatchPlan> plans;
  for (int32_t j = 0; j < tp; ++j) {
    const int32_t g = replica * tp + j;
    ExpertPlacement place = ctx_.sharding->place(PlacementRequest{g_.step, moe_index, g});
    // Coordinated: rank j sends the tokens whose share it holds; naive: every token of its TP group.
    std::vector<int64_t> keep;
    DispatchInput in;
    for (int64_t t = 0; t < req.tokens; ++t) {
      int32_t d = token_device[static_cast<size_t>(t)];
      if (tp_.coordinated && d % tp != j) continue;
      keep.push_back(t);
      in.token_device.push_back(d / tp * tp + j);
    }
    routing::LayerRouting part = subset(r, keep);
    in.routing = &part;
    in.placement = &place;
    in.group = group_devices(g);
    in.node_of = ctx_.cluster.node_of;
    in.bytes_per_token = static_cast<double>(ctx_.model->d_model) * hw::dtype_bytes(ctx_.model->activation_dtype);
    in.capacity_factor = 0;  // decided above over the whole replica
    plans.push_back(plan_dispatch(in));
  }
  return plans;
}

namespace {

// Expert slots per (A2A rank = TP group, expert) that every slice of that group processes:
// coordinated, the ranks' shares summed (the all-gather joins them); naive, any rank's plan.
DispatchPlan merged_plan(const std::vector<DispatchPlan>& plans, size_t first, int32_t tp, bool coordinated) {
  DispatchPlan m = plans[first];
  if (!coordinated) return m;
  for (int32_t j = 1; j < tp; ++j)
    for (size_t x = 0; x < m.expert_tokens.size(); ++x) m.expert_tokens[x] += plans[first + j].expert_tokens[x];
  return m;
}

double max_share(const std::vector<DispatchPlan>& plans, size_t first, int32_t tp, int32_t rank) {
  int64_t s = 0;
  for (int32_t j = 0; j < tp; ++j) s = std::max(s, plans[first + j].tokens_on(rank));
  return static_cast<double>(s);
}

}  // namespace

void StepAssembler::moe_forward_tp(MicroBatch& mb, int32_t layer, int32_t moe_index, const LayerTokenCosts& c,
                                   const std::vector<TaskId>& attn) {
  const auto& m = *ctx_.model;
  const int32_t tp = tp_.tp, replicas = devices() / (ep_ * tp);
  const bool coord = tp_.coordinated;
  const double bpt = c.hidden_bytes, slice = 1.0 / tp;
  const double act = hw::dtype_bytes(m.activation_dtype);
  // The gate runs on the tokens a rank dispatches (coordinated: its share; naive: all the group's).
  std::vector<TaskId> gate(static_cast<size_t>(devices()));
  for (int32_t d = 0; d < devices(); ++d) {
    int64_t rows = coord ? mb.tokens[d] : tp_group_tokens(mb, d);
    double T = static_cast<double>(rows);
    gate[d] = compute(d, layer_task_name(layer, "gate"), "gate", layer, mb.index, T * c.gate.flops,
                      c.gate.weight_bytes + T * c.gate.activation_bytes, rows, 2, {attn[d]});
  }
  OpWork expert = c.expert;  // one slice of one expert: 1/tp of its FLOPs and weights
  expert.flops *= slice;
  expert.weight_bytes *= slice;
  auto& plans = mb.plans[static_cast<size_t>(layer)];
  plans.clear();
  for (int32_t r = 0; r < replicas; ++r) {
    auto rp = route_replica_tp(mb, moe_index, r);
    std::vector<TaskId> disp(static_cast<size_t>(tp));
    for (int32_t j = 0; j < tp; ++j) {
      auto devs = group_devices(r * tp + j);
      const DispatchPlan& plan = rp[j];
      if (coord || j == 0) {  // naive: every rank routes the same slots
        info_.routed_slots += plan.routed_slots;
        info_.dropped_slots += plan.dropped_slots;
      }
      info_.a2a_bytes += wire_scales(*ctx_.model) * plan.total_bytes();
      info_.inter_node_bytes += wire_scales(*ctx_.model) * plan.inter_node_bytes(devs, ctx_.cluster.node_of);
      std::vector<std::vector<TaskId>> after_gate;
      for (int32_t d : devs) after_gate.push_back({gate[d]});
      disp[j] = exchange_to_experts(devs, plan, "dispatch", layer, mb.index,
                                    local_permute(devs, plan, mb, true, "permute", layer, after_gate));
    }
    DispatchPlan merged = merged_plan(rp, 0, tp, coord);
    std::vector<TaskId> reduced(static_cast<size_t>(ep_));
    for (int32_t i = 0; i < ep_; ++i) {
      auto group = tp_group((r * ep_ + i) * tp);
      double slots = static_cast<double>(merged.tokens_on(i));
      TaskId gathered = -1;
      if (coord) {  // every slice needs every token of its experts
        gathered = collective(group_work(CollectiveKind::all_gather, group, max_share(rp, 0, tp, i) * bpt),
                              layer_task_name(layer, "tp_gather"), "tp_gather", layer, mb.index, disp);
        for (int32_t d : group) alloc(gathered, d, MemCategory::a2a_buffers, slots * bpt, true);
      }
      std::vector<TaskId> experts;
      for (int32_t j = 0; j < tp; ++j) {
        int32_t d = group[j];
        TaskId e = expert_slice_task(d, merged, i, expert, 1.0, "expert_ffn", layer, mb.index, coord ? gathered : disp[j]);
        double inner = slots * 2.0 * static_cast<double>(m.expert_ffn_dim) * act * slice;
        alloc(e, d, MemCategory::workspace, inner, true);
        alloc(e, d, MemCategory::workspace, -inner, false);
        if (mb.save_activations) alloc(e, d, MemCategory::activations, slots * c.saved_expert_bytes * slice, false);
        experts.push_back(e);
      }
      // Row-parallel down projection: partial sums.
      reduced[i] = tp_reduce_slices(group, slots * bpt, coord, "", layer, mb.index, experts);
    }
    std::vector<TaskId> comb;  // the unpermute tasks that end each rank's combine
    for (int32_t j = 0; j < tp; ++j) {
      auto devs = group_devices(r * tp + j);
      const DispatchPlan& plan = rp[j];
      const TaskId back = exchange_from_experts(devs, plan, "combine", layer, mb.index, reduced);
      std::vector<TaskId> un = local_permute(devs, plan, mb, false, "unpermute", layer, std::vector<std::vector<TaskId>>(devs.size(), {back}));
      for (size_t k = 0; k < devs.size(); ++k) mb.frontier[devs[k]] = {un[k]}, comb.push_back(un[k]);
    }
    if (coord) {  // the source TP group gathers its ranks' shares: tokens replicated again
      for (int32_t i = 0; i < ep_; ++i) {
        auto group = tp_group((r * ep_ + i) * tp);
        int64_t share = 0;
        for (int32_t d : group) share = std::max(share, mb.tokens[d]);
        TaskId ag = collective(group_work(CollectiveKind::all_gather, group, static_cast<double>(share) * bpt),
                               layer_task_name(layer, "tp_gather"), "tp_gather", layer, mb.index, comb);
        for (int32_t d : group) mb.frontier[d] = {ag};
      }
    }
    for (auto& p : rp) plans.push_back(std::move(p));
  }
  if (m.shared_experts <= 0) return;
  std::vector<std::vector<TaskId>> shared(static_cast<size_t>(devices()));
  for (int32_t d = 0; d < devices(); ++d) {
    int64_t rows = tp_group_tokens(mb, d);
    double T = static_cast<double>(rows) * slice;
    TaskId s = compute(d, layer_task_name(layer, "shared_expert"), "shared_expert", layer, mb.index,
                       T * c.shared_expert.flops, c.shared_expert.weight_bytes * slice + T * c.shared_expert.activation_bytes,
                       rows, m.ffn == model::FfnKind::swiglu3 ? 3 : 2, {attn[d]});
    if (mb.save_activations) alloc(s, d, MemCategory::activations, T * c.saved_shared_bytes, false);
    shared[d] = {s};
  }
  auto reduced = tp_all_reduce(mb, layer, "tp_allreduce", shared, bpt);
  for (int32_t d = 0; d < devices(); ++d) mb.frontier[d].push_back(reduced[d]);
}

void StepAssembler::moe_backward_tp(MicroBatch& mb, int32_t layer, const LayerTokenCosts& c) {
  const auto& m = *ctx_.model;
  const int32_t tp = tp_.tp;
  const bool coord = tp_.coordinated;
  const double bpt = c.hidden_bytes, slice = 1.0 / tp;
  OpWork expert = c.expert;
  expert.flops *= slice;
  expert.weight_bytes *= slice;
  const auto& plans = mb.plans[static_cast<size_t>(layer)];
  const int32_t replicas = static_cast<int32_t>(plans.size()) / tp;
  std::vector<std::vector<TaskId>> next(static_cast<size_t>(devices()));
  for (int32_t r = 0; r < replicas; ++r) {
    const size_t first = static_cast<size_t>(r) * tp;
    // Gradient of the combine travels like the dispatch (token rank -> expert rank).
    std::vector<TaskId> cb(static_cast<size_t>(tp));
    for (int32_t j = 0; j < tp; ++j) {
      auto devs = group_devices(r * tp + j);
      const DispatchPlan& plan = plans[first + j];
      info_.a2a_bytes += wire_scales(*ctx_.model) * plan.total_bytes();
      info_.inter_node_bytes += wire_scales(*ctx_.model) * plan.inter_node_bytes(devs, ctx_.cluster.node_of);
      std::vector<std::vector<TaskId>> upstream;
      for (int32_t d : devs) upstream.push_back(mb.frontier[d]);
      cb[j] = exchange_to_experts(devs, plan, "combine_bwd", layer, mb.index,
                                  local_permute(devs, plan, mb, true, "permute_bwd", layer, upstream));
    }
    DispatchPlan merged = merged_plan(plans, first, tp, coord);
    std::vector<TaskId> reduced(static_cast<size_t>(ep_));
    for (int32_t i = 0; i < ep_; ++i) {
      auto group = tp_group((r * ep_ + i) * tp);
      double slots = static_cast<double>(merged.tokens_on(i));
      TaskId gathered = -1;
      if (coord) {  // backward of the reduce-scatter: every slice needs the full output gradient
        gathered = collective(group_work(CollectiveKind::all_gather, group, max_share(plans, first, tp, i) * bpt),
                              layer_task_name(layer, "tp_gather_bwd"), "tp_gather_bwd", layer, mb.index, cb);
        for (int32_t d : group) alloc(gathered, d, MemCategory::a2a_buffers, slots * bpt, true);
      }
      std::vector<TaskId> experts;
      for (int32_t j = 0; j < tp; ++j) {
        int32_t d = group[j];
        TaskId e = expert_slice_task(d, merged, i, expert, 2.0, "expert_ffn_bwd", layer, mb.index, coord ? gathered : cb[j]);
        alloc(e, d, MemCategory::activations, -slots * c.saved_expert_bytes * slice, false);
        experts.push_back(e);
      }
      // Input gradients of the column-parallel up projection are partial sums.
      reduced[i] = tp_reduce_slices(group, slots * bpt, coord, "_bwd", layer, mb.index, experts);
    }
    std::vector<TaskId> db;  // the unpermute tasks that end each rank's dispatch_bwd
    for (int32_t j = 0; j < tp; ++j) {
      auto devs = group_devices(r * tp + j);
      const DispatchPlan& plan = plans[first + j];
      const TaskId back = exchange_from_experts(devs, plan, "dispatch_bwd", layer, mb.index, reduced);
      std::vector<TaskId> un = local_permute(devs, plan, mb, false, "unpermute_bwd", layer, std::vector<std::vector<TaskId>>(devs.size(), {back}));
      for (size_t k = 0; k < devs.size(); ++k) {
        db.push_back(un[k]);
        if (!coord) next[devs[k]].push_back(un[k]);
      }
    }
    if (coord) {
      for (int32_t i = 0; i < ep_; ++i) {
        auto group = tp_group((r * ep_ + i) * tp);
        int64_t share = 0;
        for (int32_t d : group) share = std::max(share, mb.tokens[d]);
        TaskId ag = collective(group_work(CollectiveKind::all_gather, group, static_cast<double>(share) * bpt),
                               layer_task_name(layer, "tp_gather_bwd"), "tp_gather_bwd", layer, mb.index, db);
        for (int32_t d : group) next[d].push_back(ag);
      }
    }
  }
  if (m.shared_experts > 0) {
    std::vector<std::vector<TaskId>> shared(static_cast<size_t>(devices()));
    for (int32_t d = 0; d < devices(); ++d) {
      int64_t rows = tp_group_tokens(mb, d);
      double T = static_cast<double>(rows) * slice;
      TaskId s = compute(d, layer_task_name(layer, "shared_expert_bwd"), "shared_expert_bwd", layer, mb.index,
                         2.0 * T * c.shared_expert.flops,
                         2.0 * c.shared_expert.weight_bytes * slice + 2.0 * T * c.shared_expert.activation_bytes, rows,
                         m.ffn == model::FfnKind::swiglu3 ? 6 : 4,
                         mb.frontier[d]);
      alloc(s, d, MemCategory::activations, -T * c.saved_shared_bytes, false);
      shared[d] = {s};
    }
    auto red = tp_all_reduce(mb, layer, "tp_allreduce_bwd", shared, bpt);
    for (int32_t d = 0; d < devices(); ++d) next[d].push_back(red[d]);
  }
  mb.frontier = std::move(next);
}

void StepAssembler::tp_gradient_reductions(int32_t layer, const std::vector<TaskId>& deps, double gb,
                                           std::vector<TaskId>& reductions) {
  const auto& m = *ctx_.model;
  const int32_t tp = tp_.tp, P = devices(), replicas = P / (ep_ * tp);
  // Non-expert shards: data parallel over the P/tp devices with the same TP rank.
  double shard = (layer < 0 ? embedding_params(m) : layer_non_expert_params(m, layer)) / tp * gb;
  std::string name = layer < 0 ? "embedding.grad_allreduce" : layer_task_name(layer, "grad_allreduce");
  if (P / tp > 1)
    for (int32_t j = 0; j < tp; ++j) {
      std::vector<int32_t> group;
      for (int32_t d = j; d < P; d += tp) group.push_back(d);
      reductions.push_back(collective(group_work(CollectiveKind::all_reduce, group, shard), name,
                                      "grad_allreduce", layer, 0, deps));
    }
  if (layer < 0 || !m.is_moe_layer(layer) || replicas < 2) return;
  // Expert slices: the replicas holding the same slice of the same experts (expert data parallel).
  double slices = static_cast<double>(m.experts / ep_) * expert_params(m) / tp * gb;
  for (int32_t i = 0; i < ep_; ++i)
    for (int32_t j = 0; j < tp; ++j) {
      std::vector<int32_t> group;
      for (int32_t r = 0; r < replicas; ++r) group.push_back((r * ep_ + i) * tp + j);
      reductions.push_back(collective(group_work(CollectiveKind::all_reduce, group, slices),
                                      layer_task_name(layer, "expert_grad_allreduce"), "grad_allreduce", layer, 0, deps));
    }
}

}  // namespace moesim::workload
