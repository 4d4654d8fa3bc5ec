// Turning a pipeline plan into one step's tasks (pipeline_training.hpp has the model).
#include "models/workload/pipeline_build.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "models/workload/token_costs.hpp"

namespace moesim::workload {

using graph::TaskId;
using K = PipelineOp::Kind;

PipelineBuild::PipelineBuild(const PipelineSetup& s, graph::StepGraph& g, StepInfo& info, int64_t step)
    : s_(s), g_(g), info_(info), step_(step), grad_bytes_(hw::dtype_bytes(s.params.grad_dtype)) {
  const int32_t pp = s.layout->pp;
  const double cf = s.params.capacity_factor >= 0 ? s.params.capacity_factor : s.model->capacity_factor;
  for (int32_t st = 0; st < pp; ++st) {
    asm_.push_back(std::make_unique<StepAssembler>(*s.stage_ctx[st], g_, info_, cf));
    asm_.back()->materialization_state().optimizer_bytes_per_param = s.params.optimizer_bytes_per_param;
    asm_.back()->materialization_state().grad_bytes_per_param = grad_bytes_;
    params_.push_back(stage_device_params(*s.stage_ctx[st], *s.layout, s.stage_chunks[st], step));
  }
  const int32_t D = s.layout->stage_size();
  front_.assign(static_cast<size_t>(pp), Ends(static_cast<size_t>(D)));
  history_.assign(static_cast<size_t>(pp), {});
  reductions_.assign(static_cast<size_t>(pp), {});
}

void PipelineBuild::tag_new(int32_t stage, int32_t slot, TaskId from) {
  for (TaskId t = from; t < static_cast<TaskId>(g_.tasks.size()); ++t) {
    if (static_cast<size_t>(t) >= local_stage_.size()) local_stage_.push_back(stage);
    if (static_cast<size_t>(t) >= tags_.slot.size()) tags_.slot.push_back(slot);
  }
}

TaskId PipelineBuild::add_global(graph::Task t) {
  TaskId id = g_.add(std::move(t));
  local_stage_.push_back(-1);
  tags_.slot.push_back(-1);
  return id;
}

std::vector<TaskId> PipelineBuild::stage_deps(int32_t stage) const {
  std::vector<TaskId> out;
  for (const auto& f : front_[stage]) out.insert(out.end(), f.begin(), f.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void PipelineBuild::run() {
  const int32_t pp = s_.layout->pp;
  // Resident state of every device (ZeRO), in global ids.
  const double w = hw::dtype_bytes(s_.model->weight_dtype);
  for (int32_t st = 0; st < pp; ++st)
    for (size_t d = 0; d < params_[st].size(); ++d) {
      ZeroBytes z = resident_bytes(params_[st][d], *s_.layout, w, grad_bytes_, s_.params.optimizer_bytes_per_param);
      int32_t dev = s_.layout->stage_devices[st][d];
      g_.resident.push_back(graph::MemDelta{dev, graph::MemCategory::weights, Bytes(z.weights)});
      g_.resident.push_back(graph::MemDelta{dev, graph::MemCategory::gradients, Bytes(z.gradients)});
      g_.resident.push_back(graph::MemDelta{dev, graph::MemCategory::optimizer_state, Bytes(z.optimizer)});
    }
  // Emit slots in the order of the nominal replay (close to the order they run in: every stream
  // queue is in task order, so an order far from the real one would add false waits).
  std::vector<std::vector<bool>> done(static_cast<size_t>(pp));
  for (int32_t st = 0; st < pp; ++st) done[st].assign(s_.plan.slots[st].size(), false);
  for (const auto& r : s_.order) {
    if (done[r.stage][r.slot]) continue;
    done[r.stage][r.slot] = true;
    emit_slot(r.stage, r.slot, s_.plan.slots[r.stage][r.slot]);
  }
  finish();
  relabel();
}

void PipelineBuild::emit_slot(int32_t stage, int32_t slot, const PipelineSlot& ops) {
  const int32_t id = static_cast<int32_t>(tags_.slot_stage.size());
  tags_.slot_stage.push_back(stage);
  const Ends before = front_[stage];
  std::vector<TaskId> starts;
  std::vector<Ends> ends;
  std::vector<std::vector<double>> gathered;
  for (const auto& op : ops.ops) {
    starts.push_back(static_cast<TaskId>(g_.tasks.size()));
    gathered_.assign(before.size(), 0.0);
    ends.push_back(emit_op(stage, id, op, before));
    gathered.push_back(gathered_);
    tag_new(stage, id, starts.back());
  }
  if (ops.ops.size() == 2) {
    interleave(stage, starts[0], starts[1], static_cast<TaskId>(g_.tasks.size()), ops.ops);
    // The ends were renumbered: read them again from the micro-batches (pairs are F + full B).
    for (size_t i = 0; i < 2; ++i) ends[i] = mbs_.at({ops.ops[i].micro_batch, ops.ops[i].chunk}).frontier;
  }
  // ZeRO-3: the weights gathered for an op are dropped when it ends.
  for (size_t i = 0; i < ends.size(); ++i)
    for (size_t d = 0; d < ends[i].size(); ++d)
      if (gathered[i][d] > 0 && !ends[i][d].empty())
        asm_[stage]->alloc(ends[i][d][0], static_cast<int32_t>(d), graph::MemCategory::weights, -gathered[i][d], false);
  Ends merged(before.size());
  for (const auto& e : ends)
    for (size_t d = 0; d < e.size(); ++d) merged[d].insert(merged[d].end(), e[d].begin(), e[d].end());
  history_[stage].push_back(before);
  front_[stage] = merged;
  for (size_t i = 0; i < ops.ops.size(); ++i) send(stage, ops.ops[i], ends[i]);
}

PipelineBuild::Ends PipelineBuild::emit_op(int32_t stage, int32_t slot, const PipelineOp& op, const Ends& before) {
  switch (op.kind) {
    case K::forward: return forward(stage, op, before);
    case K::backward:
    case K::backward_input: return backward(stage, slot, op, before);
    case K::backward_weight: return weight_gradient(stage, slot, op, before);
  }
  return before;
}

PipelineBuild::Ends PipelineBuild::forward(int32_t stage, const PipelineOp& op, const Ends& before) {
  auto& a = *asm_[stage];
  const auto& m = *s_.model;
  const auto& p = s_.params;
  const int32_t D = a.devices();
  model::AttentionSpan span = model::sequence_span(static_cast<double>(p.seq_len), model::causal_attention(m));
  int64_t routing_step = step_ * p.micro_batches + op.micro_batch;
  MicroBatch mb = a.start(op.micro_batch, routing_step, std::vector<int64_t>(static_cast<size_t>(D), p.micro_batch_size * p.seq_len),
                          span.mean_context(), true);
  mb.attention = span;
  auto last = s_.last_backward_mb.find({stage, op.chunk});
  mb.last_accumulation = last != s_.last_backward_mb.end() && last->second == op.micro_batch;
  mb.frontier = before;
  auto in = arrivals_.find(Key{static_cast<int32_t>(K::forward), op.micro_batch, op.chunk});
  if (in != arrivals_.end())
    for (int32_t d = 0; d < D; ++d) mb.frontier[d].insert(mb.frontier[d].end(), in->second[d].begin(), in->second[d].end());
  gather_weights(stage, op, mb.frontier);
  const TaskId from = static_cast<TaskId>(g_.tasks.size());
  for (int32_t l = s_.layout->chunk_first_layer[op.chunk]; l < s_.layout->chunk_first_layer[op.chunk + 1]; ++l)
    a.forward_layer(mb, l);
  if (op.chunk == s_.plan.chunks - 1) {  // the loss: LM head forward and its backward
    a.lm_head(mb, mb.tokens, false);
    a.lm_head(mb, mb.tokens, true);
  }
  keep_activations(stage, op, from);
  Ends ends = mb.frontier;
  mbs_[{op.micro_batch, op.chunk}] = std::move(mb);
  return ends;
}

PipelineBuild::Ends PipelineBuild::backward(int32_t stage, int32_t slot, const PipelineOp& op, const Ends& before) {
  auto& a = *asm_[stage];
  const int32_t D = a.devices();
  MicroBatch& mb = mbs_.at({op.micro_batch, op.chunk});
  auto in = arrivals_.find(Key{static_cast<int32_t>(K::backward), op.micro_batch, op.chunk});
  for (int32_t d = 0; d < D; ++d) {
    mb.frontier[d].insert(mb.frontier[d].end(), before[d].begin(), before[d].end());
    if (in != arrivals_.end()) mb.frontier[d].insert(mb.frontier[d].end(), in->second[d].begin(), in->second[d].end());
  }
  if (s_.layout->recompute != Recompute::none)
    for (int32_t d = 0; d < D; ++d) mb.frontier[d] = {recompute_task(stage, op, d, mb.frontier[d])};
  gather_weights(stage, op, mb.frontier);
  const TaskId from = static_cast<TaskId>(g_.tasks.size());
  auto last = s_.last_grad_slot.find({stage, op.chunk});
  const bool reduce = op.kind == K::backward && last != s_.last_grad_slot.end() && last->second == slot;
  for (int32_t l = s_.layout->chunk_first_layer[op.chunk + 1] - 1; l >= s_.layout->chunk_first_layer[op.chunk]; --l) {
    a.backward_layer(mb, l);
    if (reduce) layer_reductions(stage, l, a.all_frontier(mb));
  }
  if (op.kind == K::backward_input) split_weight_gradient(stage, op, from);
  return mb.frontier;
}

PipelineBuild::Ends PipelineBuild::weight_gradient(int32_t stage, int32_t slot, const PipelineOp& op, const Ends& before) {
  auto& a = *asm_[stage];
  const int32_t D = a.devices();
  const auto key = std::make_pair(op.micro_batch, op.chunk);
  Ends ends(static_cast<size_t>(D));
  for (int32_t d = 0; d < D; ++d) {
    TaskId t = a.compute(d, fmt::format("C{}.wgrad", op.chunk), "weight_grad", -1, op.micro_batch, 0, 0, 0, 1, before[d]);
    auto& w = std::get<graph::ComputeWork>(a.task(t).work);
    w.duration = Seconds(wgrad_secs_.at(key)[d]);
    w.flops = Flops(wgrad_flops_.at(key)[d]);
    a.alloc(t, d, graph::MemCategory::activations, -wgrad_frees_.at(key)[d], false);
    ends[d] = {t};
  }
  auto last = s_.last_grad_slot.find({stage, op.chunk});
  if (last != s_.last_grad_slot.end() && last->second == slot) {
    std::vector<TaskId> deps;
    for (const auto& e : ends) deps.insert(deps.end(), e.begin(), e.end());
    for (int32_t l = s_.layout->chunk_first_layer[op.chunk]; l < s_.layout->chunk_first_layer[op.chunk + 1]; ++l)
      layer_reductions(stage, l, deps);
  }
  return ends;
}

void PipelineBuild::send(int32_t stage, const PipelineOp& op, const Ends& ends) {
  if (op.kind == K::backward_weight) return;
  const bool fwd = op.kind == K::forward;
  const int32_t next = fwd ? op.chunk + 1 : op.chunk - 1;
  if (next < 0 || next >= s_.plan.chunks) return;
  const int32_t to = s_.stage_of[op.micro_batch][next];
  Key key{static_cast<int32_t>(fwd ? K::forward : K::backward), op.micro_batch, next};
  if (to == stage) {
    arrivals_[key] = ends;
    return;
  }
  auto& a = *asm_[stage];
  const MicroBatch& mb = mbs_.at({op.micro_batch, op.chunk});
  const double hidden = model::hidden_bytes_per_token(*s_.model).value;
  Ends got(ends.size());
  for (int32_t d = 0; d < a.devices(); ++d) {
    // Megatron's scatter/gather (Narayanan et al. 2021, Sec. 4.1): each TP rank sends 1/tp of the
    // group's activations (the receivers all-gather them over NVLink, not modelled).
    double bytes = static_cast<double>(a.tp_group_tokens(mb, d)) / a.tp() * hidden;
    graph::Task t;
    t.name = fmt::format("C{}.{}", op.chunk, fwd ? "send_activations" : "send_gradients");
    t.op = fwd ? "pp_send" : "pp_send_bwd";
    t.micro_batch = op.micro_batch;
    t.stream = graph::Stream::io;
    t.work = graph::CollectiveWork{graph::CollectiveKind::send_recv,
                                   {s_.layout->stage_devices[stage][d], s_.layout->stage_devices[to][d]},
                                   {0.0, bytes, 0.0, 0.0}, Bytes(0), 0, "", {}};
    t.deps = ends[d];
    got[d] = {add_global(std::move(t))};
  }
  arrivals_[key] = std::move(got);
}

std::vector<int32_t> PipelineBuild::dense_group(int32_t stage_size, int32_t tp, int32_t rank) const {
  std::vector<int32_t> g;
  for (int32_t d = rank; d < stage_size; d += tp) g.push_back(d);
  return g;
}

std::map<std::vector<int32_t>, int32_t> PipelineBuild::expert_groups(int32_t stage, int32_t layer) const {
  std::map<std::vector<int32_t>, int32_t> copies;
  const auto& m = *s_.model;
  if (!m.is_moe_layer(layer)) return copies;
  auto& a = *asm_[stage];
  auto* sharding = s_.stage_ctx[stage]->sharding;
  if (sharding->materialization().copies == Materialization::Copies::ephemeral) return copies;  // the strategy reduces them
  std::map<std::pair<int32_t, int32_t>, std::vector<int32_t>> holders;  // (expert, TP rank) -> devices
  for (int32_t g = 0; g < a.devices() / a.ep(); ++g) {
    ExpertPlacement place = sharding->place(PlacementRequest{step_, a.moe_index(layer), g});
    for (int32_t e = 0; e < place.experts(); ++e)
      for (int32_t d : place.holders[e]) holders[{e, d % a.tp()}].push_back(d);
  }
  for (auto& [k, h] : holders) {
    std::sort(h.begin(), h.end());
    h.erase(std::unique(h.begin(), h.end()), h.end());
    if (h.size() > 1) ++copies[h];
  }
  return copies;
}

void PipelineBuild::layer_reductions(int32_t stage, int32_t layer, const std::vector<TaskId>& deps) {
  auto& a = *asm_[stage];
  const auto& m = *s_.model;
  const auto& L = *s_.layout;
  auto add = [&](std::vector<int32_t> group, double bytes, int32_t zero, const std::string& name) {
    graph::CollectiveWork w{zero >= 2 ? graph::CollectiveKind::reduce_scatter : graph::CollectiveKind::all_reduce,
                            std::move(group), {}, Bytes(bytes), 0, "", {}};
    TaskId t = a.collective(w, name, "grad_reduce", layer, 0, deps);
    a.task(t).stream = graph::Stream::io;
    reductions_[stage].push_back(t);
  };
  double dense = layer_non_expert_params(m, layer);
  // Embedding gradients with the first layer's (its backward ends last), LM head and final norm
  // with the last layer's.
  auto edge = [&](int32_t c) {
    double p = chunk_dense_params(m, L, c);
    for (int32_t l = L.chunk_first_layer[c]; l < L.chunk_first_layer[c + 1]; ++l) p -= layer_non_expert_params(m, l);
    return p;
  };
  const int32_t last = L.chunks() - 1;
  if (layer == 0) dense += edge(0);
  if (last > 0 && layer == L.chunk_first_layer[last + 1] - 1) dense += edge(last);
  if (a.devices() / a.tp() > 1)
    for (int32_t j = 0; j < a.tp(); ++j)
      add(dense_group(a.devices(), a.tp(), j), dense / a.tp() * grad_bytes_, L.zero_dense, layer_task_name(layer, "grad_reduce"));
  for (const auto& [group, experts] : expert_groups(stage, layer))
    add(group, expert_params(m) / a.tp() * experts * grad_bytes_, L.zero_expert, layer_task_name(layer, "expert_grad_reduce"));
}

}  // namespace moesim::workload
