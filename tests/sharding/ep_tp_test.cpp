// kind "ep_tp" (DeepSpeed-MoE EP x TP x DP, parallelism-coordinated All-to-All; LocMoE group-wise
// All-to-All): placement invariants, the byte closed forms of docs/sharding.md, equality with "ep"
// at tp = 1, locality, and the per-device memory accounting. No SimGrid.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <map>
#include <set>

#include "models/workload/token_costs.hpp"
#include "rig.hpp"

namespace moesim::sharding {
namespace {

using graph::MemCategory;
using testing::make_rig;
using testing::op_bytes;
using testing::Rig;

constexpr int32_t E = 8, K = 2;
constexpr int64_t T = 64;  // tokens per device (the workload's share); a TP group holds tp x T

std::string ep_tp(int32_t ep, int32_t tp, const std::string& a2a = "coordinated") {
  return fmt::format("kind = \"ep_tp\"\nep = {}\ntp = {}\na2a = \"{}\"", ep, tp, a2a);
}

std::vector<workload::BuiltStep> build_all(Rig& r) {
  std::vector<workload::BuiltStep> out;
  for (int64_t s = 0; s < r.workload->steps(); ++s) {
    out.push_back(r.workload->build(s));
    EXPECT_NO_THROW(out.back().graph.validate()) << "step " << s;
  }
  return out;
}

double token_bytes(const Rig& r) { return static_cast<double>(r.model.d_model) * hw::dtype_bytes(r.model.activation_dtype); }

TEST(EpTp, EveryExpertSliceIsOwnedExactlyOnceAcrossTheTpRanks) {
  constexpr int32_t P = 16, ep = 2, tp = 4, replicas = P / (ep * tp);
  auto r = make_rig(ep_tp(ep, tp), P, 8, testing::round_robin(E, K));
  ASSERT_EQ(r->sharding->tensor_parallel().tp, tp);
  for (int32_t rep = 0; rep < replicas; ++rep) {
    std::map<std::pair<int32_t, int32_t>, int32_t> owner;  // (expert, slice) -> device
    std::map<int32_t, int32_t> slices_on;                   // device -> slices it holds
    for (int32_t j = 0; j < tp; ++j) {
      auto place = r->sharding->place(workload::PlacementRequest{0, 0, rep * tp + j});
      for (int32_t e = 0; e < E; ++e) {
        ASSERT_EQ(place.holders[e].size(), 1u) << "no copies in ep_tp";
        int32_t d = place.holders[e][0];
        EXPECT_EQ(d % tp, j) << "slice j lives on TP rank j";
        EXPECT_EQ(d / (ep * tp), rep) << "inside its data-parallel replica";
        EXPECT_TRUE(owner.emplace(std::pair{e, j}, d).second) << "expert " << e << " slice " << j << " twice";
        ++slices_on[d];
      }
    }
    EXPECT_EQ(owner.size(), static_cast<size_t>(E * tp));
    EXPECT_EQ(slices_on.size(), static_cast<size_t>(ep * tp)) << "every device of the replica holds slices";
    for (auto [d, n] : slices_on) EXPECT_EQ(n, E / ep) << "device " << d;
    // The tp slices of one expert sit on one TP group (consecutive devices).
    for (int32_t e = 0; e < E; ++e) {
      int32_t first = owner[std::make_pair(e, 0)], last = owner[std::make_pair(e, tp - 1)];
      EXPECT_EQ(first / tp, last / tp) << "expert " << e;
    }
  }
}

TEST(EpTp, CoordinatedAllToAllSendsOneTpthOfNaivePlusTheClosedFormAllGathers) {
  constexpr int32_t P = 8, ep = 2, tp = 4, L = 3;
  auto coord = make_rig(ep_tp(ep, tp), P, 8, testing::round_robin(E, K), T, 1);
  auto naive = make_rig(ep_tp(ep, tp, "naive"), P, 8, testing::round_robin(E, K), T, 1);
  auto gc = build_all(*coord), gn = build_all(*naive);
  const auto& c = gc[0].graph;
  const auto& n = gn[0].graph;
  const double hb = token_bytes(*coord);
  for (std::string op : {"dispatch", "combine", "dispatch_bwd", "combine_bwd"}) {
    EXPECT_GT(op_bytes(n, op), 0) << op;
    EXPECT_DOUBLE_EQ(op_bytes(c, op) * tp, op_bytes(n, op)) << op;
    // Uniform routing: every rank sends its tokens' k slots, (ep-1)/ep of them off-device;
    // naive ranks send all tp*T of their group's tokens, coordinated ranks their T.
    EXPECT_DOUBLE_EQ(op_bytes(c, op), L * P * T * K * (ep - 1.0) / ep * hb) << op;
  }
  EXPECT_DOUBLE_EQ(gc[0].info.a2a_bytes * tp, gn[0].info.a2a_bytes);
  EXPECT_EQ(gc[0].info.routed_slots, gn[0].info.routed_slots);
  // All-gathers (moved = contribution x (tp-1) per TP group): after the dispatch each rank holds
  // the T*K slots it received, after the combine its T tokens; the same twice in backward.
  const double groups = P / tp;
  EXPECT_DOUBLE_EQ(op_bytes(c, "tp_gather"), L * groups * (tp - 1) * (T * K + T) * hb);
  EXPECT_DOUBLE_EQ(op_bytes(c, "tp_gather_bwd"), L * groups * (tp - 1) * (T * K + T) * hb);
  EXPECT_EQ(op_bytes(n, "tp_gather"), 0);
  // Expert slices process the same tokens either way (the all-gather restores the full set).
  auto expert_flops = [](const graph::StepGraph& g) {
    double f = 0;
    for (const auto& t : g.tasks)
      if (t.op == "expert_ffn") f += std::get<graph::ComputeWork>(t.work).flops.value;
    return f;
  };
  EXPECT_DOUBLE_EQ(expert_flops(c), expert_flops(n));
  auto ep_only = make_rig("kind = \"ep\"\nep = 8", P, 8, testing::round_robin(E, K), T, 1);
  auto ge = build_all(*ep_only);
  // Same total expert work as plain EP: tp slices of 1/tp each over tp x the tokens per group.
  EXPECT_NEAR(expert_flops(c), expert_flops(ge[0].graph), 1e-6 * expert_flops(c));
}

void expect_same_graph(const graph::StepGraph& a, const graph::StepGraph& b) {
  ASSERT_EQ(a.tasks.size(), b.tasks.size());
  ASSERT_EQ(a.resident.size(), b.resident.size());
  for (size_t i = 0; i < a.resident.size(); ++i) EXPECT_EQ(a.resident[i].bytes.value, b.resident[i].bytes.value);
  auto same_deltas = [](const std::vector<graph::MemDelta>& x, const std::vector<graph::MemDelta>& y) {
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i)
      if (x[i].device != y[i].device || x[i].category != y[i].category || x[i].bytes.value != y[i].bytes.value) return false;
    return true;
  };
  for (size_t i = 0; i < a.tasks.size(); ++i) {
    const auto &x = a.tasks[i], &y = b.tasks[i];
    ASSERT_EQ(x.name, y.name) << i;
    EXPECT_EQ(x.deps, y.deps) << x.name;
    EXPECT_TRUE(same_deltas(x.on_start, y.on_start)) << x.name;
    EXPECT_TRUE(same_deltas(x.on_end, y.on_end)) << x.name;
    ASSERT_EQ(x.work.index(), y.work.index()) << x.name;
    if (auto* cx = std::get_if<graph::ComputeWork>(&x.work)) {
      const auto& cy = std::get<graph::ComputeWork>(y.work);
      EXPECT_EQ(cx->device, cy.device);
      EXPECT_EQ(cx->duration.value, cy.duration.value) << x.name;
      EXPECT_EQ(cx->flops.value, cy.flops.value) << x.name;
      EXPECT_EQ(cx->bytes.value, cy.bytes.value) << x.name;
    } else if (auto* wx = std::get_if<graph::CollectiveWork>(&x.work)) {
      const auto& wy = std::get<graph::CollectiveWork>(y.work);
      EXPECT_EQ(wx->group, wy.group) << x.name;
      EXPECT_EQ(wx->matrix, wy.matrix) << x.name;
      EXPECT_EQ(wx->bytes.value, wy.bytes.value) << x.name;
    }
  }
}

TEST(EpTp, WithTpOneItBuildsTheSameStepGraphAsEp) {
  constexpr int32_t P = 8;
  for (int32_t ep : {4, 8}) {
    auto a = make_rig(ep_tp(ep, 1), P, 4, testing::skewed(E), T, 2);
    auto b = make_rig(fmt::format("kind = \"ep\"\nep = {}", ep), P, 4, testing::skewed(E), T, 2);
    auto ga = build_all(*a), gb = build_all(*b);
    for (size_t s = 0; s < ga.size(); ++s) {
      SCOPED_TRACE(fmt::format("ep {} step {}", ep, s));
      expect_same_graph(ga[s].graph, gb[s].graph);
      EXPECT_EQ(ga[s].info.a2a_bytes, gb[s].info.a2a_bytes);
    }
  }
}

TEST(EpTp, GroupWiseAllToAllSendsNoExpertTrafficAcrossGroupsWhenRoutingIsLocal) {
  // LocMoE's fully localised distribution (L_loc -> 0): every token picks an expert of its own
  // TP group (the HCCS group). Tokens of the replica request come device by device, T each.
  constexpr int32_t P = 16, ep = 4, tp = 4, per_group = E / ep;
  testing::Rule local = [](int64_t, int32_t, int64_t t, int32_t s) {
    int32_t group = static_cast<int32_t>(t / T) / tp;
    return group * per_group + static_cast<int32_t>((t * K + s) % per_group);
  };
  auto r = make_rig(ep_tp(ep, tp), P, 8, local, T, 1);
  auto g = build_all(*r);
  const auto& graph = g[0].graph;
  EXPECT_EQ(g[0].info.a2a_bytes, 0);
  EXPECT_EQ(g[0].info.inter_node_bytes, 0);
  for (const auto& t : graph.tasks) {
    const auto* c = std::get_if<graph::CollectiveWork>(&t.work);
    if (!c || t.op == "grad_allreduce") continue;
    if (c->kind == graph::CollectiveKind::alltoallv) {
      EXPECT_EQ(testing::moved_bytes(t), 0) << t.name;
      continue;
    }
    std::set<int32_t> groups;
    for (int32_t d : c->group) groups.insert(d / tp);
    EXPECT_EQ(groups.size(), 1u) << t.name << " leaves its TP group";
  }
  EXPECT_GT(op_bytes(graph, "tp_gather"), 0);
  // With global routing the same layout does send expert traffic across groups.
  auto uniform = make_rig(ep_tp(ep, tp), P, 8, testing::round_robin(E, K), T, 1);
  EXPECT_GT(build_all(*uniform)[0].info.a2a_bytes, 0);
}

TEST(EpTp, MemoryPerDeviceIsTheResidentAccountingWithExpertsDividedByTp) {
  constexpr int32_t P = 16, ep = 2, tp = 4;
  auto r = make_rig(ep_tp(ep, tp), P, 8, testing::round_robin(E, K), T, 1);
  auto g = build_all(*r);
  const auto& m = r->model;
  double non_expert = workload::embedding_params(m);
  for (int64_t l = 0; l < m.layers; ++l) non_expert += workload::layer_non_expert_params(m, l);
  double experts = static_cast<double>(E / ep) * m.moe_layer_count() * workload::expert_params(m);
  double params = (non_expert + experts) / tp;  // seed-systems Sec. 1.9, everything sliced over tp
  for (int32_t d = 0; d < P; ++d) {
    const auto& res = g[0].graph.resident;
    EXPECT_NEAR(testing::sum_bytes(res, d, MemCategory::weights), params * hw::dtype_bytes(m.weight_dtype), 1e-9 * params) << d;
    EXPECT_NEAR(testing::sum_bytes(res, d, MemCategory::gradients), params * 2.0, 1e-9 * params) << d;
    EXPECT_NEAR(testing::sum_bytes(res, d, MemCategory::optimizer_state), params * 12.0, 1e-9 * params) << d;
  }
  // And tp = 1 at the same ep holds tp x the parameters.
  auto whole = make_rig(ep_tp(ep, 1), P / tp, 8, testing::round_robin(E, K), T, 1);
  auto gw = build_all(*whole);
  EXPECT_DOUBLE_EQ(testing::sum_bytes(gw[0].graph.resident, 0, MemCategory::weights),
                   tp * testing::sum_bytes(g[0].graph.resident, 0, MemCategory::weights));
}

TEST(EpTp, TrainingReducesShardGradientsOverDataParallelPeersOnly) {
  constexpr int32_t P = 16, ep = 2, tp = 4;  // 2 replicas
  auto r = make_rig(ep_tp(ep, tp), P, 8, testing::round_robin(E, K), T, 1);
  auto g = build_all(*r);
  int32_t expert_reductions = 0;
  for (const auto& t : g[0].graph.tasks) {
    if (t.op != "grad_allreduce") continue;
    const auto& c = std::get<graph::CollectiveWork>(t.work);
    std::set<int32_t> ranks;
    for (int32_t d : c.group) ranks.insert(d % tp);
    EXPECT_EQ(ranks.size(), 1u) << t.name << ": a gradient shard is reduced only with the same TP rank";
    bool expert = t.name.find("expert_grad") != std::string::npos;
    expert_reductions += expert;
    EXPECT_EQ(c.group.size(), expert ? 2u : static_cast<size_t>(P / tp)) << t.name;
  }
  EXPECT_EQ(expert_reductions, static_cast<int32_t>(r->model.moe_layer_count()) * ep * tp);
}

TEST(EpTp, RejectsLayoutsThatDoNotDivide) {
  EXPECT_ANY_THROW(make_rig(ep_tp(3, 2), 12, 4, testing::round_robin(E, K)));  // 8 experts over 3 groups
  EXPECT_ANY_THROW(make_rig(ep_tp(2, 3), 8, 4, testing::round_robin(E, K)));   // 8 devices, ep x tp = 6
}

}  // namespace
}  // namespace moesim::sharding
