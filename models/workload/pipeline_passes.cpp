// Rewrites of just-built task ranges (recomputation, zero-bubble W split, overlapped pairs), ZeRO
// weight gathers, the optimizer step and the final relabelling of stage-local device ids.
#include <fmt/format.h>

#include <algorithm>

#include "models/workload/pipeline_build.hpp"
#include "models/workload/token_costs.hpp"

namespace moesim::workload {

using graph::MemCategory;
using graph::TaskId;
using K = PipelineOp::Kind;

// Share of a forward task's saved activations kept under recomputation. Korthikanti et al. 2022
// (Sec. 4.1, Eq. 1 breakdown, flash attention): per layer and token the attention block saves 15h
// bytes (of which 4h are the two norms' inputs), an MLP of width 4h saves 19h (of which 8h are the
// nonlinearity's output). Selective (as DeepSeek-V3 Sec. 3.2.3: norms and the SwiGLU recomputed)
// keeps 11/15 and 11/19; full keeps only the block input (2h of the attention's 15h).
double recompute_keep_share(Recompute r, const std::string& op) {
  const bool attention = op == "attention";
  const bool ffn = op == "expert_ffn" || op == "shared_expert" || op == "dense_ffn";
  if (r == Recompute::none || (!attention && !ffn)) return 1.0;
  if (r == Recompute::selective) return attention ? 11.0 / 15.0 : 11.0 / 19.0;
  return attention ? 2.0 / 15.0 : 0.0;
}

namespace {

std::vector<double>& slot_of(std::map<std::pair<int32_t, int32_t>, std::vector<double>>& m, const PipelineOp& op,
                             int32_t devices) {
  auto& v = m[{op.micro_batch, op.chunk}];
  if (v.empty()) v.assign(static_cast<size_t>(devices), 0.0);
  return v;
}

}  // namespace

void PipelineBuild::keep_activations(int32_t stage, const PipelineOp& op, TaskId from) {
  const Recompute r = s_.layout->recompute;
  if (r == Recompute::none) return;
  const int32_t D = asm_[stage]->devices();
  auto& removed = slot_of(removed_act_, op, D);
  auto& secs = slot_of(forward_secs_, op, D);
  auto& flops = slot_of(forward_flops_, op, D);
  for (TaskId t = from; t < static_cast<TaskId>(g_.tasks.size()); ++t) {
    auto& task = g_.tasks[t];
    if (auto* w = std::get_if<graph::ComputeWork>(&task.work)) {
      secs[w->device] += w->duration.value;
      flops[w->device] += w->flops.value;
    }
    double keep = recompute_keep_share(r, task.op);
    for (auto& m : task.on_end)
      if (m.category == MemCategory::activations && m.bytes.value > 0 && keep < 1.0) {
        removed[m.device] += m.bytes.value * (1.0 - keep);
        m.bytes = Bytes(m.bytes.value * keep);
      }
  }
}

TaskId PipelineBuild::recompute_task(int32_t stage, const PipelineOp& op, int32_t d, std::vector<TaskId> deps) {
  auto& a = *asm_[stage];
  const int32_t D = a.devices();
  const double removed = slot_of(removed_act_, op, D)[d];
  // Selective: the dropped tensors are elementwise functions of kept ones: one read and one write
  // of their bytes (memory bound). Full: the chunk's whole forward again.
  TaskId t = a.compute(d, fmt::format("C{}.recompute", op.chunk), "recompute", -1, op.micro_batch, 0, 2.0 * removed, 0, 1,
                       std::move(deps));
  if (s_.layout->recompute == Recompute::full) {
    auto& w = std::get<graph::ComputeWork>(a.task(t).work);
    w.duration = Seconds(slot_of(forward_secs_, op, D)[d]);
    w.flops = Flops(slot_of(forward_flops_, op, D)[d]);
  }
  a.alloc(t, d, MemCategory::activations, removed, true);
  return t;
}

void PipelineBuild::split_weight_gradient(int32_t stage, const PipelineOp& op, TaskId from) {
  const int32_t D = asm_[stage]->devices();
  auto& secs = slot_of(wgrad_secs_, op, D);
  auto& flops = slot_of(wgrad_flops_, op, D);
  auto& frees = slot_of(wgrad_frees_, op, D);
  for (TaskId t = from; t < static_cast<TaskId>(g_.tasks.size()); ++t) {
    auto& task = g_.tasks[t];
    auto* w = std::get_if<graph::ComputeWork>(&task.work);
    if (!w || task.op == "recompute") continue;
    // Qi et al. 2024 Sec. 2: B and W each take about half of the backward (T_B ~ T_W ~ T_F).
    w->duration = Seconds(w->duration.value / 2);
    w->flops = Flops(w->flops.value / 2);
    secs[w->device] += w->duration.value;
    flops[w->device] += w->flops.value;
    // W still reads the saved inputs: their memory is freed by W.
    for (auto& m : task.on_end)
      if (m.category == MemCategory::activations && m.bytes.value < 0) {
        frees[m.device] += -m.bytes.value;
        m.bytes = Bytes(0);
      }
  }
}

void PipelineBuild::interleave(int32_t stage, TaskId first, TaskId second, TaskId end, const std::vector<PipelineOp>& ops) {
  // Two independent lanes (a forward chunk [first, second) and a backward chunk [second, end));
  // take tasks from one lane until it issues an All-to-All (comm stream), then from the other,
  // starting with the backward: each lane's All-to-All then sits between the other's computations.
  std::vector<TaskId> lane[2];
  for (TaskId t = second; t < end; ++t) lane[0].push_back(t);
  for (TaskId t = first; t < second; ++t) lane[1].push_back(t);
  std::vector<TaskId> order;
  size_t at[2] = {0, 0};
  int cur = 0;
  while (order.size() < static_cast<size_t>(end - first)) {
    if (at[cur] == lane[cur].size()) cur = 1 - cur;
    TaskId t = lane[cur][at[cur]++];
    order.push_back(t);
    if (g_.tasks[t].stream == graph::Stream::comm && at[1 - cur] < lane[1 - cur].size()) cur = 1 - cur;
  }
  std::vector<TaskId> new_id(static_cast<size_t>(end - first));
  for (size_t i = 0; i < order.size(); ++i) new_id[order[i] - first] = first + static_cast<TaskId>(i);
  auto remap = [&](TaskId& t) {
    if (t >= first && t < end) t = new_id[t - first];
  };
  std::vector<graph::Task> moved;
  moved.reserve(order.size());
  for (TaskId t : order) moved.push_back(std::move(g_.tasks[t]));
  for (size_t i = 0; i < moved.size(); ++i) {
    for (auto& d : moved[i].deps) remap(d);
    g_.tasks[first + i] = std::move(moved[i]);
  }
  for (const auto& op : ops)
    for (auto& f : mbs_.at({op.micro_batch, op.chunk}).frontier)
      for (auto& t : f) remap(t);
  for (auto& t : reductions_[stage]) remap(t);
  auto& mat = asm_[stage]->materialization_state();
  for (auto& t : mat.reductions) remap(t);
  for (auto& [k, v] : mat.forward_gather)
    for (auto& t : v) remap(t);
  for (auto& [k, v] : mat.backward_gather)
    for (auto& t : v) remap(t);
}

void PipelineBuild::gather_weights(int32_t stage, const PipelineOp& op, Ends& into) {
  const auto& L = *s_.layout;
  if (L.zero_dense < 3 && L.zero_expert < 3) return;
  auto& a = *asm_[stage];
  const auto& m = *s_.model;
  const double w = hw::dtype_bytes(m.weight_dtype);
  // Prefetch: the gather may start when the slot before the previous one has ended.
  std::vector<TaskId> deps;
  if (!history_[stage].empty())
    for (const auto& f : history_[stage].back()) deps.insert(deps.end(), f.begin(), f.end());
  auto add = [&](std::vector<int32_t> group, double shard, const std::string& name) {
    const double n = static_cast<double>(group.size());
    graph::CollectiveWork cw{graph::CollectiveKind::all_gather, group, {}, Bytes(shard), 0, "", {}};
    TaskId t = a.collective(cw, fmt::format("C{}.{}", op.chunk, name), "zero3_gather", -1, op.micro_batch, deps);
    a.task(t).stream = graph::Stream::io;
    for (int32_t d : group) {
      // The gathered weights live until the op's end (freed with the weight-gradient-free
      // simplification: at the end of the op's first end task, see emit_slot).
      a.alloc(t, d, MemCategory::weights, shard * (n - 1), false);
      gathered_[d] += shard * (n - 1);
      into[d].push_back(t);
    }
  };
  if (L.zero_dense >= 3 && a.devices() / a.tp() > 1) {
    double dense = chunk_dense_params(m, L, op.chunk) / a.tp();
    for (int32_t j = 0; j < a.tp(); ++j) {
      auto g = dense_group(a.devices(), a.tp(), j);
      add(g, dense / static_cast<double>(g.size()) * w, "zero3_gather");
    }
  }
  if (L.zero_expert >= 3) {
    std::map<std::vector<int32_t>, int32_t> sets;
    for (int32_t l = L.chunk_first_layer[op.chunk]; l < L.chunk_first_layer[op.chunk + 1]; ++l)
      for (const auto& [g, e] : expert_groups(stage, l)) sets[g] += e;
    for (const auto& [g, e] : sets)
      add(g, expert_params(m) / a.tp() * e / static_cast<double>(g.size()) * w, "zero3_expert_gather");
  }
}

void PipelineBuild::optimizer(int32_t stage) {
  auto& a = *asm_[stage];
  const auto& L = *s_.layout;
  const auto& m = *s_.model;
  const double w = hw::dtype_bytes(m.weight_dtype), k = s_.params.optimizer_bytes_per_param;
  std::vector<TaskId> steps(static_cast<size_t>(a.devices()));
  for (int32_t d = 0; d < a.devices(); ++d) {
    const auto& p = params_[stage][d];
    std::vector<TaskId> deps = front_[stage][d];
    deps.insert(deps.end(), reductions_[stage].begin(), reductions_[stage].end());
    deps.insert(deps.end(), a.sharding_reductions().begin(), a.sharding_reductions().end());
    // Each rank updates its ZeRO share (stage >= 1) or all it holds. Adam: ~10 FLOPs per parameter;
    // reads and writes weights, gradients and state (memory bound).
    double updated = (L.zero_dense >= 1 ? p.dense / p.dense_dp : p.dense) + (L.zero_expert >= 1 ? p.expert_per_dp : p.expert);
    steps[d] = a.compute(d, "optimizer", "optimizer", -1, 0, 10.0 * updated, 2.0 * updated * (w + grad_bytes_ + k), 0, 4, deps);
  }
  // ZeRO 1 and 2: every rank all-gathers the updated weights of the others' shares.
  auto gather = [&](const std::vector<int32_t>& group, double shard, const std::string& name) {
    std::vector<TaskId> deps;
    for (int32_t d : group) deps.push_back(steps[d]);
    graph::CollectiveWork cw{graph::CollectiveKind::all_gather, group, {}, Bytes(shard), 0, "", {}};
    TaskId t = a.collective(cw, name, "zero_weight_gather", -1, 0, deps);
    a.task(t).stream = graph::Stream::io;
  };
  const auto& p0 = params_[stage][0];
  if ((L.zero_dense == 1 || L.zero_dense == 2) && p0.dense_dp > 1)
    for (int32_t j = 0; j < a.tp(); ++j) gather(dense_group(a.devices(), a.tp(), j), p0.dense / p0.dense_dp * w, "weight_gather");
  if (L.zero_expert == 1 || L.zero_expert == 2) {
    std::map<std::vector<int32_t>, int32_t> sets;
    for (int32_t c : s_.stage_chunks[stage])
      for (int32_t l = L.chunk_first_layer[c]; l < L.chunk_first_layer[c + 1]; ++l)
        for (const auto& [g, e] : expert_groups(stage, l)) sets[g] += e;
    for (const auto& [g, e] : sets)
      gather(g, expert_params(m) / a.tp() * e / static_cast<double>(g.size()) * w, "expert_weight_gather");
  }
}

void PipelineBuild::finish() {
  for (int32_t st = 0; st < s_.layout->pp; ++st) {
    TaskId from = static_cast<TaskId>(g_.tasks.size());
    optimizer(st);
    tag_new(st, -1, from);
  }
}

void PipelineBuild::relabel() {
  for (size_t t = 0; t < g_.tasks.size(); ++t) {
    const int32_t st = local_stage_[t];
    if (st < 0) continue;
    const auto& to = s_.layout->stage_devices[st];
    auto& task = g_.tasks[t];
    std::visit([&](auto& w) {
      using W = std::decay_t<decltype(w)>;
      if constexpr (std::is_same_v<W, graph::CollectiveWork>) {
        for (auto& d : w.group) d = to[d];
        w.root = to[w.root];
      } else {
        w.device = to[w.device];
      }
    }, task.work);
    for (auto& m : task.on_start) m.device = to[m.device];
    for (auto& m : task.on_end) m.device = to[m.device];
  }
}

}  // namespace moesim::workload
