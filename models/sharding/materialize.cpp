// Materialization tasks (see materialize.hpp). Sources: Hecate (Qing et al. 2025) Sec. 3.3
// (spAG/spRS as NCCL broadcast/reduce groups), Sec. 3.4 (overlap with attention), Sec. 3.2
// (re-materialization); ZeRO-3 (Rajbhandari et al. 2020) for the all-gather baseline; Hecate
// Eq. 2 for the replica all-reduce of rearrangement systems.
#include "models/sharding/materialize.hpp"

#include <algorithm>

#include "models/workload/step_assembler.hpp"
#include "sim/graph/chain.hpp"

namespace moesim::sharding {

using graph::CollectiveKind;
using graph::CollectiveWork;
using graph::MemCategory;
using workload::ExpertPlacement;
using workload::Materialization;
using workload::MicroBatch;
using workload::StepAssembler;

std::vector<double> sparse_gather_matrix(const ExpertPlacement& place, const std::vector<int32_t>& group,
                                         double chunk_bytes, const std::vector<int32_t>& node_of) {
  const size_t n = group.size();
  std::vector<double> m(n * n, 0.0);
  auto rank = [&](int32_t d) { return static_cast<size_t>(std::find(group.begin(), group.end(), d) - group.begin()); };
  for (const auto& h : place.holders) {
    if (h.size() < 2) continue;
    const std::vector<int32_t> chain = graph::chain_order(h[0], h, [&](int32_t d) {
      return static_cast<size_t>(d) < node_of.size() ? node_of[static_cast<size_t>(d)] : 0;
    });
    for (size_t i = 0; i + 1 < chain.size(); ++i) {
      const size_t src = rank(chain[i]), dst = rank(chain[i + 1]);
      if (src < n && dst < n && src != dst) m[src * n + dst] += chunk_bytes;
    }
  }
  return m;
}

std::vector<int32_t> copies_per_rank(const ExpertPlacement& place, const std::vector<int32_t>& group) {
  std::vector<int32_t> c(group.size(), 0);
  for (const auto& h : place.holders)
    for (size_t i = 1; i < h.size(); ++i) {
      auto it = std::find(group.begin(), group.end(), h[i]);
      if (it != group.end() && h[i] != h[0]) ++c[static_cast<size_t>(it - group.begin())];
    }
  return c;
}

std::vector<ExpertMove> moves_between(const ExpertPlacement& before, const ExpertPlacement& after, bool persistent_copies) {
  std::vector<ExpertMove> out;
  for (int32_t e = 0; e < std::min(before.experts(), after.experts()); ++e) {
    const auto& b = before.holders[e];
    const auto& a = after.holders[e];
    if (b.empty() || a.empty()) continue;
    size_t count = persistent_copies ? a.size() : 1;
    for (size_t i = 0; i < count; ++i)
      if (std::find(b.begin(), persistent_copies ? b.end() : b.begin() + 1, a[i]) == (persistent_copies ? b.end() : b.begin() + 1))
        out.push_back({e, b[0], a[i]});
  }
  return out;
}

namespace {

struct LayerBytes {
  double weight = 0;     // one expert's weights
  double gradient = 0;   // one expert's gradient buffer
  double moved = 0;      // one expert's weights + optimizer state (migration)
};

LayerBytes layer_bytes(const StepAssembler& a) {
  const auto& m = *a.context().model;
  double p = workload::expert_params(m);
  const auto& s = const_cast<StepAssembler&>(a).materialization_state();
  return {p * hw::dtype_bytes(m.weight_dtype), p * s.grad_bytes_per_param,
          p * (hw::dtype_bytes(m.weight_dtype) + s.optimizer_bytes_per_param)};
}

Materialization mode(const StepAssembler& a) { return a.context().sharding->materialization(); }
bool ephemeral(const Materialization& m) { return m.copies == Materialization::Copies::ephemeral; }

bool has_copies(const ExpertPlacement& p) {
  return std::any_of(p.holders.begin(), p.holders.end(), [](const auto& h) { return h.size() > 1; });
}

// Adds `per_copy` bytes of `c` per copy on each rank to the task's start or end.
void charge_copies(StepAssembler& a, TaskId t, const ExpertPlacement& p, const std::vector<int32_t>& devs,
                   MemCategory c, double per_copy, bool at_start) {
  auto copies = copies_per_rank(p, devs);
  for (size_t r = 0; r < devs.size(); ++r) a.alloc(t, devs[r], c, per_copy * copies[r], at_start);
}

// The gather (forward or RM backward) of one layer's copies; returns its tasks.
std::vector<TaskId> gather(StepAssembler& a, const MicroBatch& mb, int32_t layer, const ExpertPlacement& p,
                           const std::vector<int32_t>& devs, const std::string& op_name, std::vector<TaskId> deps) {
  const Materialization m = mode(a);
  const LayerBytes b = layer_bytes(a);
  std::vector<TaskId> out;
  std::string name = workload::layer_task_name(layer, op_name);
  if (m.per_chunk && !m.full_gather) {
    for (const auto& h : p.holders) {
      if (h.size() < 2) continue;
      CollectiveWork w{CollectiveKind::broadcast, h, {}, Bytes(b.weight), h[0], "", {}};
      TaskId t = a.collective(w, name, "spag", layer, mb.index, deps);
      for (size_t i = 1; i < h.size(); ++i) a.alloc(t, h[i], MemCategory::weights, b.weight, false);
      out.push_back(t);
    }
    return out;
  }
  CollectiveWork w;
  w.group = devs;
  if (m.full_gather) {
    int32_t most = 0;
    for (int32_t d : devs) most = std::max(most, static_cast<int32_t>(p.owned_by(d).size()));
    w.kind = CollectiveKind::all_gather;
    w.bytes = Bytes(most * b.weight);
  } else {
    w.kind = CollectiveKind::send_recv;
    w.matrix = sparse_gather_matrix(p, devs, b.weight, a.context().cluster.node_of);
  }
  TaskId t = a.collective(std::move(w), name, "spag", layer, mb.index, std::move(deps));
  charge_copies(a, t, p, devs, MemCategory::weights, b.weight, false);
  out.push_back(t);
  return out;
}

// Re-sharding / relocation transfers of the whole step (every MoE layer, every group).
TaskId migration(StepAssembler& a, int32_t first_layer) {
  const auto& ctx = a.context();
  const bool persistent = !ephemeral(mode(a));
  const LayerBytes b = layer_bytes(a);
  const int32_t P = a.devices();
  std::vector<int32_t> all(static_cast<size_t>(P));
  for (int32_t d = 0; d < P; ++d) all[d] = d;
  std::vector<double> matrix(static_cast<size_t>(P) * P, 0.0);
  std::vector<double> sent(static_cast<size_t>(P), 0.0);  // experts each old holder ships
  double total = 0;
  for (int32_t moe = 0; moe < ctx.model->moe_layer_count(); ++moe)
    for (int32_t g = 0; g < P / a.ep(); ++g) {
      auto before = ctx.sharding->place({a.step() - 1, moe, g});
      auto after = ctx.sharding->place({a.step(), moe, g});
      for (const auto& mv : moves_between(before, after, persistent)) {
        matrix[static_cast<size_t>(mv.from) * P + mv.to] += b.moved;
        sent[static_cast<size_t>(mv.from)] += 1;
        total += b.moved;
      }
    }
  if (total <= 0) return -1;
  CollectiveWork w{CollectiveKind::send_recv, all, std::move(matrix), Bytes(0), 0, "", {}};
  TaskId t = a.collective(std::move(w), workload::layer_task_name(first_layer, "expert_migration"), "expert_migration",
                          first_layer, 0, {});
  // The new holder's state is resident from the step's start (the step's placement); the old
  // holder keeps the weights and optimizer state it ships until the transfer ends (FlexMoE's C1
  // cost: memory reserved for moving experts AND their optimizer states, Hecate Sec. 2).
  const double opt = b.moved - b.weight;
  for (int32_t d = 0; d < P; ++d) {
    const double n = sent[static_cast<size_t>(d)];
    a.alloc(t, d, MemCategory::weights, n * b.weight, true);
    a.alloc(t, d, MemCategory::optimizer_state, n * opt, true);
    a.alloc(t, d, MemCategory::weights, -n * b.weight, false);
    a.alloc(t, d, MemCategory::optimizer_state, -n * opt, false);
  }
  return t;
}

int32_t moe_layer_below(const model::ModelSpec& m, int32_t layer) {
  for (int32_t l = layer - 1; l >= 0; --l)
    if (m.is_moe_layer(l)) return l;
  return -1;
}

}  // namespace

std::vector<TaskId> before_dispatch(StepAssembler& a, const MicroBatch& mb, int32_t layer, int32_t group,
                                    const ExpertPlacement& place, const std::vector<TaskId>& gate) {
  auto& s = a.materialization_state();
  std::vector<TaskId> wait;
  if (!mode(a).sharding_tasks) return wait;
  if (!s.migration_done && mb.index == 0) {
    s.migration_done = true;
    if (a.step() > 0) {
      TaskId t = migration(a, layer);
      if (t >= 0) s.forward_gather[-1] = {t};
    }
  }
  if (auto it = s.forward_gather.find(-1); it != s.forward_gather.end()) wait = it->second;
  const Materialization m = mode(a);
  if (!ephemeral(m)) return wait;
  auto devs = a.group_devices(group);
  auto& done = s.forward_gather[layer];
  if (!m.rematerialize && mb.index > 0) {  // copies kept from the first micro-batch
    wait.insert(wait.end(), done.begin(), done.end());
    return wait;
  }
  if (!has_copies(place)) return wait;
  std::vector<TaskId> deps;
  if (m.overlap_attention) {
    for (int32_t d : devs) deps.insert(deps.end(), mb.frontier[d].begin(), mb.frontier[d].end());
  } else {
    deps = gate;
  }
  auto tasks = gather(a, mb, layer, place, devs, "spag", deps);
  if (mb.index == 0) done = tasks;
  wait.insert(wait.end(), tasks.begin(), tasks.end());
  return wait;
}

void after_combine(StepAssembler& a, const MicroBatch& mb, int32_t layer, int32_t group, const ExpertPlacement& place,
                   TaskId combine) {
  const Materialization m = mode(a);
  if (!m.sharding_tasks || !ephemeral(m) || !m.rematerialize) return;
  charge_copies(a, combine, place, a.group_devices(group), MemCategory::weights, -layer_bytes(a).weight, false);
}

std::vector<TaskId> before_backward(StepAssembler& a, const MicroBatch& mb, int32_t layer, int32_t group,
                                    const ExpertPlacement& place) {
  const Materialization m = mode(a);
  if (!m.sharding_tasks || !ephemeral(m) || !m.rematerialize || !has_copies(place)) return {};
  auto& pending = a.materialization_state().backward_gather;
  auto it = pending.find(layer * 65536 + mb.index);
  if (it != pending.end()) {
    auto out = std::move(it->second);
    pending.erase(it);
    return out;
  }
  auto devs = a.group_devices(group);
  std::vector<TaskId> deps;
  for (int32_t d : devs) deps.insert(deps.end(), mb.frontier[d].begin(), mb.frontier[d].end());
  return gather(a, mb, layer, place, devs, "spag_bwd", deps);
}

void after_backward(StepAssembler& a, const MicroBatch& mb, int32_t layer, int32_t group, const ExpertPlacement& place,
                    const std::vector<TaskId>& experts, TaskId dispatch_bwd) {
  const Materialization m = mode(a);
  if (!m.sharding_tasks) return;
  auto& s = a.materialization_state();
  const LayerBytes b = layer_bytes(a);
  auto devs = a.group_devices(group);
  if (!ephemeral(m)) {  // persistent replicas: all-reduce each replicated expert's gradients (Eq. 2)
    if (!mb.last_accumulation) return;
    for (const auto& h : place.holders) {
      if (h.size() < 2) continue;
      CollectiveWork w{CollectiveKind::all_reduce, h, {}, Bytes(b.gradient), 0, "", {}};
      s.reductions.push_back(a.collective(w, workload::layer_task_name(layer, "replica_grad_allreduce"),
                                          "grad_allreduce", layer, mb.index, experts));
    }
    return;
  }
  if (!has_copies(place)) return;
  // Gradient buffers of the copies live from the first backward until the spRS.
  if (mb.index == 0)
    for (TaskId e : experts) {
      auto d = std::get<graph::ComputeWork>(a.task(e).work).device;
      auto copies = copies_per_rank(place, {d});
      a.alloc(e, d, MemCategory::gradients, b.gradient * copies[0], true);
    }
  if (m.rematerialize) charge_copies(a, dispatch_bwd, place, devs, MemCategory::weights, -b.weight, false);
  if (mb.last_accumulation) {
    std::string name = workload::layer_task_name(layer, "sprs");
    std::vector<TaskId> tasks;
    if (m.per_chunk && !m.full_gather) {
      for (const auto& h : place.holders) {
        if (h.size() < 2) continue;
        CollectiveWork w{CollectiveKind::reduce, h, {}, Bytes(b.gradient), h[0], "", {}};
        tasks.push_back(a.collective(w, name, "sprs", layer, mb.index, experts));
      }
    } else {
      CollectiveWork w;
      w.group = devs;
      if (m.full_gather) {
        w.kind = CollectiveKind::reduce_scatter;
        w.bytes = Bytes(static_cast<double>(place.experts()) * b.gradient);
      } else {
        w.kind = CollectiveKind::send_recv;
        const size_t n = devs.size();
        auto fwd = sparse_gather_matrix(place, devs, b.gradient, a.context().cluster.node_of);
        w.matrix.assign(n * n, 0.0);
        for (size_t i = 0; i < n; ++i)
          for (size_t j = 0; j < n; ++j) w.matrix[j * n + i] = fwd[i * n + j];
      }
      tasks.push_back(a.collective(std::move(w), name, "sprs", layer, mb.index, experts));
    }
    for (TaskId t : tasks) s.reductions.push_back(t);
    TaskId last = tasks.back();
    charge_copies(a, last, place, devs, MemCategory::gradients, -b.gradient, false);
    if (!m.rematerialize) charge_copies(a, last, place, devs, MemCategory::weights, -b.weight, false);
  }
  // RM: gather the next MoE layer below while this layer's attention backward runs.
  if (m.rematerialize) {
    const auto& model = *a.context().model;
    int32_t below = moe_layer_below(model, layer);
    if (below >= 0) {
      auto p = a.context().sharding->place({a.step(), a.moe_index(below), group});
      if (has_copies(p)) s.backward_gather[below * 65536 + mb.index] = gather(a, mb, below, p, devs, "spag_bwd", {dispatch_bwd});
    }
  }
}

}  // namespace moesim::sharding
