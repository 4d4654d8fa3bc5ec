// Training StepGraphs of the sharding strategies: invariants and the byte/memory formulas of
// docs/sharding.md (Hecate Sec. 3; seed-systems.md Sec. 1.8 and 1.9). No SimGrid.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "models/sharding/algorithms.hpp"
#include "models/sharding/materialize.hpp"
#include "models/workload/token_costs.hpp"
#include "rig.hpp"

namespace moesim::sharding {
namespace {

using graph::MemCategory;
using testing::make_rig;
using testing::op_bytes;
using testing::op_count;
using testing::Rig;

constexpr int32_t P = 4, kPerNode = 2, E = 8, L = 3;
constexpr int64_t T = 64;

std::vector<workload::BuiltStep> build_all(Rig& r) {
  std::vector<workload::BuiltStep> out;
  for (int64_t s = 0; s < r.workload->steps(); ++s) {
    out.push_back(r.workload->build(s));
    EXPECT_NO_THROW(out.back().graph.validate()) << "step " << s;
  }
  return out;
}

std::vector<int32_t> all_devices() {
  std::vector<int32_t> g(P);
  std::iota(g.begin(), g.end(), 0);
  return g;
}

double expert_weight_bytes(const Rig& r) { return workload::expert_params(r.model) * 2.0; }  // bf16

double layer_op_bytes(const graph::StepGraph& g, const std::string& op, int32_t layer) {
  double s = 0;
  for (const auto& t : g.tasks)
    if (t.op == op && t.layer == layer) s += testing::moved_bytes(t);
  return s;
}

// Gathered (non-resident) bytes of category c on device d, replayed in task order: the maximum.
double replay_peak(const graph::StepGraph& g, int32_t d, MemCategory c) {
  double now = 0, peak = 0;
  for (const auto& t : g.tasks) {
    for (const auto* v : {&t.on_start, &t.on_end})
      for (const auto& m : *v)
        if (m.device == d && m.category == c) peak = std::max(peak, now += m.bytes.value);
  }
  return peak;
}

double replay_net(const graph::StepGraph& g, int32_t d, MemCategory c) {
  double now = 0;
  for (const auto& t : g.tasks)
    for (const auto* v : {&t.on_start, &t.on_end})
      for (const auto& m : *v)
        if (m.device == d && m.category == c) now += m.bytes.value;
  return now;
}

TEST(Materialization, WithoutReplicationFssdpMovesExactlyEpsAllToAllBytes) {
  auto ep = make_rig("kind = \"ep\"", P, kPerNode, testing::skewed(E));
  auto fs = make_rig("kind = \"fssdp\"\noverlap_degree = 0", P, kPerNode, testing::skewed(E));
  auto a = build_all(*ep), b = build_all(*fs);
  for (size_t s = 0; s < a.size(); ++s) {
    EXPECT_GT(a[s].info.a2a_bytes, 0);
    EXPECT_DOUBLE_EQ(a[s].info.a2a_bytes, b[s].info.a2a_bytes) << "step " << s;
    EXPECT_DOUBLE_EQ(a[s].info.inter_node_bytes, b[s].info.inter_node_bytes) << "step " << s;
    EXPECT_EQ(op_count(b[s].graph, "spag"), 0);
    EXPECT_EQ(op_count(b[s].graph, "sprs"), 0);
  }
}

TEST(Materialization, UniformRoutingAllToAllBytesEqualTheFormula) {
  // EP: 4 All-to-Alls per MoE layer per iteration, each T*k*h*b*(P-1)/P bytes out of every device.
  const double h_b = 256 * 2.0, k = 2;
  const double expected = L * P * 4 * T * k * h_b * (P - 1) / P;
  for (const char* kind : {"kind = \"ep\"", "kind = \"fssdp\"\noverlap_degree = 0"}) {
    auto r = make_rig(kind, P, kPerNode, testing::round_robin(E, 2));
    auto steps = build_all(*r);
    for (const auto& s : steps) {
      EXPECT_DOUBLE_EQ(s.info.a2a_bytes, expected) << kind;
      double graph_bytes = 0;
      for (const char* op : {"dispatch", "combine", "dispatch_bwd", "combine_bwd"}) graph_bytes += op_bytes(s.graph, op);
      EXPECT_DOUBLE_EQ(graph_bytes, expected) << kind;
    }
  }
}

TEST(Materialization, SparseCollectiveBytesAreOneChunkPerCopy) {
  const int32_t t = 2;
  auto r = make_rig("kind = \"fssdp\"\noverlap_degree = 2\nmemory_slots = 2", P, kPerNode, testing::skewed(E));
  auto steps = build_all(*r);
  EXPECT_EQ(op_count(steps[0].graph, "spag"), 0) << "iteration 0 has no load history";
  const double w = expert_weight_bytes(*r);
  for (size_t s = 1; s < steps.size(); ++s) {
    const auto& g = steps[s].graph;
    for (int32_t l = 0; l < L; ++l) {
      auto place = r->sharding->place({static_cast<int64_t>(s), l, 0});
      auto copies = copies_per_rank(place, all_devices());
      int32_t total = std::accumulate(copies.begin(), copies.end(), 0);
      EXPECT_EQ(total, t * (P - 1)) << "t <= m: the top-t experts on every device";
      EXPECT_DOUBLE_EQ(layer_op_bytes(g, "spag", l), total * w);
      EXPECT_DOUBLE_EQ(layer_op_bytes(g, "sprs", l), total * w);  // bf16 gradients
      // Received by each device: its foreign materialized experts (Sec. 1.8 table).
      for (const auto& task : g.tasks) {
        if (task.op != "spag" || task.layer != l) continue;
        const auto& c = std::get<graph::CollectiveWork>(task.work);
        for (int32_t d = 0; d < P; ++d) {
          double in = 0;
          for (int32_t src = 0; src < P; ++src) in += src == d ? 0 : c.matrix[src * P + d];
          EXPECT_DOUBLE_EQ(in, copies[d] * w);
        }
      }
    }
  }
}

TEST(Materialization, HotExpertsMaterializedLocallyCutAllToAllBytes) {
  auto ep = make_rig("kind = \"ep\"", P, kPerNode, testing::skewed(E));
  auto fs = make_rig("kind = \"fssdp\"\noverlap_degree = 2", P, kPerNode, testing::skewed(E));
  auto a = build_all(*ep), b = build_all(*fs);
  for (size_t s = 1; s < a.size(); ++s) {
    EXPECT_LT(b[s].info.a2a_bytes, 0.6 * a[s].info.a2a_bytes) << "step " << s;
    EXPECT_LT(b[s].info.inter_node_bytes, a[s].info.inter_node_bytes) << "step " << s;
  }
}

TEST(Materialization, PerChunkBroadcastsCarryTheSameBytes) {
  auto grouped = make_rig("kind = \"fssdp\"\noverlap_degree = 2", P, kPerNode, testing::skewed(E));
  auto chunks = make_rig("kind = \"fssdp\"\noverlap_degree = 2\nper_chunk = true", P, kPerNode, testing::skewed(E));
  auto a = build_all(*grouped), b = build_all(*chunks);
  EXPECT_DOUBLE_EQ(op_bytes(a[2].graph, "spag"), op_bytes(b[2].graph, "spag"));
  EXPECT_DOUBLE_EQ(op_bytes(a[2].graph, "sprs"), op_bytes(b[2].graph, "sprs"));
  EXPECT_EQ(op_count(a[2].graph, "spag"), L);
  EXPECT_EQ(op_count(b[2].graph, "spag"), L * 2);  // 2 materialized experts per layer
}

TEST(Materialization, RematerializationGathersTwiceAndHoldsOneLayer) {
  auto keep = make_rig("kind = \"fssdp\"\noverlap_degree = 2", P, kPerNode, testing::skewed(E));
  auto rm = make_rig("kind = \"fssdp\"\noverlap_degree = 2\nrematerialize = true", P, kPerNode, testing::skewed(E));
  auto a = build_all(*keep), b = build_all(*rm);
  const double w = expert_weight_bytes(*keep);
  for (size_t s = 1; s < a.size(); ++s) {
    EXPECT_DOUBLE_EQ(op_bytes(b[s].graph, "spag"), 2 * op_bytes(a[s].graph, "spag"));
    EXPECT_DOUBLE_EQ(op_bytes(b[s].graph, "sprs"), op_bytes(a[s].graph, "sprs"));
    for (int32_t d = 0; d < P; ++d) {
      double all_layers = 0, one_layer = 0;
      for (int32_t l = 0; l < L; ++l) {
        double c = copies_per_rank(keep->sharding->place({static_cast<int64_t>(s), l, 0}), all_devices())[d] * w;
        all_layers += c;
        one_layer = std::max(one_layer, c);
      }
      EXPECT_DOUBLE_EQ(replay_peak(a[s].graph, d, MemCategory::weights), all_layers) << "device " << d;
      EXPECT_DOUBLE_EQ(replay_peak(b[s].graph, d, MemCategory::weights), one_layer) << "device " << d;
      for (const auto* g : {&a[s].graph, &b[s].graph}) {
        EXPECT_NEAR(replay_net(*g, d, MemCategory::weights), 0, 1e-3) << "every gathered copy is freed";
        EXPECT_NEAR(replay_net(*g, d, MemCategory::gradients), 0, 1e-3);
      }
    }
  }
}

TEST(Materialization, ResidentStateIsSixteenBytesPerOwnedParameter) {
  // Sec. 1.9: weights 2 + gradients 2 + fp32 master and Adam moments 12 bytes per parameter, for
  // the non-expert parameters and the experts a device OWNS (copies are not resident).
  for (const char* kind : {"kind = \"ep\"", "kind = \"fssdp\"\noverlap_degree = 2", "kind = \"fsdp\""}) {
    auto r = make_rig(kind, P, kPerNode, testing::skewed(E));
    auto steps = build_all(*r);
    const auto& m = r->model;
    double shared = workload::embedding_params(m);
    for (int64_t l = 0; l < m.layers; ++l) shared += workload::layer_non_expert_params(m, l);
    for (size_t s = 0; s < steps.size(); ++s)
      for (int32_t d = 0; d < P; ++d) {
        double owned = 0;
        for (int32_t l = 0; l < L; ++l)
          owned += r->sharding->place({static_cast<int64_t>(s), l, 0}).owned_by(d).size();
        double params = shared + owned * workload::expert_params(m);
        const auto& res = steps[s].graph.resident;
        double total = testing::sum_bytes(res, d, MemCategory::weights) + testing::sum_bytes(res, d, MemCategory::gradients) +
                       testing::sum_bytes(res, d, MemCategory::optimizer_state);
        EXPECT_NEAR(total, 16 * params, 1e-9 * total) << kind << " device " << d;
        EXPECT_NEAR(testing::sum_bytes(res, d, MemCategory::optimizer_state), 12 * params, 1e-9 * total);
      }
  }
}

TEST(Materialization, FsdpGathersEveryExpertAndNeedsNoAllToAll) {
  auto r = make_rig("kind = \"fsdp\"", P, kPerNode, testing::skewed(E));
  auto steps = build_all(*r);
  const double w = expert_weight_bytes(*r);
  for (const auto& s : steps) {
    EXPECT_DOUBLE_EQ(s.info.a2a_bytes, 0) << "every expert is on every device: tokens stay local";
    EXPECT_EQ(op_count(s.graph, "spag"), 2 * L) << "ZeRO-3: gathered for forward and again for backward";
    EXPECT_EQ(op_count(s.graph, "sprs"), L);
    for (const auto& t : s.graph.tasks) {
      if (t.op != "spag") continue;
      const auto& c = std::get<graph::CollectiveWork>(t.work);
      EXPECT_EQ(c.kind, graph::CollectiveKind::all_gather);
      EXPECT_DOUBLE_EQ(c.bytes.value, E / P * w);
    }
  }
}

TEST(Materialization, ReshardingMigratesParametersAndOptimizerState) {
  auto r = make_rig("kind = \"fssdp\"\noverlap_degree = 1\nreshard_interval = 2\nwindow = 1", P, kPerNode,
                    testing::skewed(E, 1));
  auto steps = build_all(*r);
  EXPECT_EQ(op_count(steps[1].graph, "expert_migration"), 0);
  EXPECT_EQ(op_count(steps[3].graph, "expert_migration"), 0);
  size_t moves = 0;
  for (int32_t l = 0; l < L; ++l)
    moves += moves_between(r->sharding->place({1, l, 0}), r->sharding->place({2, l, 0}), false).size();
  ASSERT_GT(moves, 0u) << "heterogeneous sharding should change some owners";
  EXPECT_EQ(op_count(steps[2].graph, "expert_migration"), 1);
  EXPECT_DOUBLE_EQ(op_bytes(steps[2].graph, "expert_migration"), moves * workload::expert_params(r->model) * (2 + 12));
  for (int32_t l = 0; l < L; ++l) {
    std::vector<int32_t> slots(P, 0);
    for (int32_t e = 0; e < E; ++e) ++slots[r->sharding->place({2, l, 0}).holders[e][0]];
    EXPECT_EQ(std::accumulate(slots.begin(), slots.end(), 0), E) << "every expert owned exactly once";
  }
}

TEST(Materialization, RelocationReplicasKeepStateAndAllReduceGradients) {
  auto r = make_rig("kind = \"relocate\"\ninterval = 2\nreplica_slots = 1\nwindow = 1", P, kPerNode, testing::skewed(E));
  auto steps = build_all(*r);
  EXPECT_EQ(op_count(steps[0].graph, "expert_migration"), 0);
  EXPECT_EQ(op_count(steps[2].graph, "expert_migration"), 1);
  int32_t replicated = 0;
  for (int32_t l = 0; l < L; ++l)
    for (const auto& h : r->sharding->place({2, l, 0}).holders) replicated += h.size() > 1;
  EXPECT_GT(replicated, 0);
  int32_t allreduces = 0;
  for (const auto& t : steps[2].graph.tasks) allreduces += t.name.find("replica_grad_allreduce") != std::string::npos;
  EXPECT_EQ(allreduces, replicated);
  EXPECT_EQ(op_count(steps[2].graph, "spag"), 0) << "replicas are persistent, not gathered";
}

TEST(Materialization, ShadowingStartsAfterTheGate) {
  auto r = make_rig("kind = \"shadow\"\nhot_factor = 2.0", P, kPerNode, testing::skewed(E));
  auto steps = build_all(*r);
  const auto& g = steps[1].graph;
  ASSERT_GT(op_count(g, "spag"), 0) << "the 3/4-of-first-choices expert is hot";
  for (const auto& t : g.tasks) {
    if (t.op != "spag") continue;
    bool after_gate = std::any_of(t.deps.begin(), t.deps.end(), [&](graph::TaskId d) { return g.tasks[d].op == "gate"; });
    EXPECT_TRUE(after_gate);
  }
}

TEST(Materialization, EveryStrategyKeepsOneOwnerPerExpertAndContainsItsShards) {
  for (const char* kind : {"kind = \"ep\"", "kind = \"fssdp\"\noverlap_degree = 3\nmemory_slots = 1", "kind = \"fsdp\"",
                           "kind = \"shadow\"", "kind = \"relocate\"\ninterval = 1\nreplica_slots = 1"}) {
    auto r = make_rig(kind, P, kPerNode, testing::skewed(E, 1));
    auto steps = build_all(*r);
    for (int64_t s = 0; s < static_cast<int64_t>(steps.size()); ++s)
      for (int32_t l = 0; l < L; ++l) {
        auto p = r->sharding->place({s, l, 0});
        ASSERT_EQ(p.experts(), E);
        for (const auto& h : p.holders) {
          ASSERT_FALSE(h.empty());
          EXPECT_EQ(std::set<int32_t>(h.begin(), h.end()).size(), h.size()) << kind;
        }
        int32_t owned = 0;
        for (int32_t d = 0; d < P; ++d) owned += static_cast<int32_t>(p.owned_by(d).size());
        EXPECT_EQ(owned, E) << kind;
      }
  }
}

}  // namespace
}  // namespace moesim::sharding
