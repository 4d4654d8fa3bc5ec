// Memory of materialised expert copies (issue 18): every copy a strategy creates carries the state
// it really needs on its holder — gathered copies (FSSDP, FasterMoE shadows) their weights and a
// gradient buffer until the reduce-scatter, persistent replicas (FlexMoE) weights, gradients and
// optimizer state, and an expert being migrated its weights and optimizer state on the old holder
// until the transfer ends. No SimGrid: the graphs' memory annotations replayed in task order.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "models/sharding/materialize.hpp"
#include "models/workload/token_costs.hpp"
#include "rig.hpp"

namespace moesim::sharding {
namespace {

using graph::MemCategory;
using testing::make_rig;
using testing::Rig;

constexpr int32_t P = 4, kPerNode = 2, E = 8, L = 3;

std::vector<workload::BuiltStep> build_all(Rig& r) {
  std::vector<workload::BuiltStep> out;
  for (int64_t s = 0; s < r.workload->steps(); ++s) out.push_back(r.workload->build(s));
  return out;
}

std::vector<int32_t> all_devices() {
  std::vector<int32_t> g(P);
  std::iota(g.begin(), g.end(), 0);
  return g;
}

// Peak and final value of the non-resident bytes of category c on device d, in task order.
std::pair<double, double> replay(const graph::StepGraph& g, int32_t d, MemCategory c) {
  double now = 0, peak = 0;
  for (const auto& t : g.tasks)
    for (const auto* v : {&t.on_start, &t.on_end})
      for (const auto& m : *v)
        if (m.device == d && m.category == c) peak = std::max(peak, now += m.bytes.value);
  return {peak, now};
}

// Gathered copies: weights for every layer (no RM) and a gradient buffer of b_g per parameter
// for at least the largest layer's copies, all freed by the end of the step.
void expect_gathered_copies_carry_weights_and_gradients(const std::string& parallel) {
  auto r = make_rig(parallel, P, kPerNode, testing::skewed(E));
  auto steps = build_all(*r);
  const double p = workload::expert_params(r->model), w = 2 * p, g = 2 * p;  // bf16 weights and gradients
  int32_t with_copies = 0;
  for (size_t s = 1; s < steps.size(); ++s)
    for (int32_t d = 0; d < P; ++d) {
      double all = 0, largest = 0;
      for (int32_t l = 0; l < L; ++l) {
        double c = copies_per_rank(r->sharding->place({static_cast<int64_t>(s), l, 0}), all_devices())[d];
        all += c;
        largest = std::max(largest, c);
      }
      if (all == 0) continue;
      ++with_copies;
      auto [wpeak, wend] = replay(steps[s].graph, d, MemCategory::weights);
      auto [gpeak, gend] = replay(steps[s].graph, d, MemCategory::gradients);
      EXPECT_DOUBLE_EQ(wpeak, all * w) << parallel << " step " << s << " device " << d;
      EXPECT_GE(gpeak, largest * g * (1 - 1e-12)) << parallel << " step " << s << " device " << d;
      EXPECT_LE(gpeak, all * g * (1 + 1e-12));
      EXPECT_NEAR(wend, 0, 1e-3);
      EXPECT_NEAR(gend, 0, 1e-3);
    }
  EXPECT_GT(with_copies, 0) << parallel << ": the skewed rule should create copies";
}

TEST(CopyMemory, FssdpCopiesCarryWeightsAndGradients) {
  expect_gathered_copies_carry_weights_and_gradients("kind = \"fssdp\"\noverlap_degree = 2");
}

TEST(CopyMemory, ShadowCopiesCarryWeightsAndGradients) {
  expect_gathered_copies_carry_weights_and_gradients("kind = \"shadow\"\nhot_factor = 2.0");
}

TEST(CopyMemory, PersistentReplicasCarryFullTrainingState) {
  auto r = make_rig("kind = \"relocate\"\ninterval = 2\nreplica_slots = 1\nwindow = 1", P, kPerNode, testing::skewed(E));
  auto steps = build_all(*r);
  const auto& m = r->model;
  double shared = workload::embedding_params(m);
  for (int64_t l = 0; l < m.layers; ++l) shared += workload::layer_non_expert_params(m, l);
  const auto& res = steps[2].graph.resident;
  int32_t replicas = 0;
  for (int32_t d = 0; d < P; ++d) {
    double held = 0;
    for (int32_t l = 0; l < L; ++l) {
      auto place = r->sharding->place({2, l, 0});
      held += static_cast<double>(place.held_by(d).size());
      replicas += static_cast<int32_t>(place.held_by(d).size() - place.owned_by(d).size());
    }
    const double params = shared + held * workload::expert_params(m);
    EXPECT_NEAR(testing::sum_bytes(res, d, MemCategory::gradients), 2 * params, 1e-9 * params) << d;
    EXPECT_NEAR(testing::sum_bytes(res, d, MemCategory::optimizer_state), 12 * params, 1e-9 * params) << d;
  }
  EXPECT_GT(replicas, 0);
}

TEST(CopyMemory, MigratingExpertsKeepTheirStateOnTheSenderUntilSent) {
  auto r = make_rig("kind = \"fssdp\"\noverlap_degree = 1\nreshard_interval = 2\nwindow = 1", P, kPerNode,
                    testing::skewed(E, 1));
  auto steps = build_all(*r);
  const double p = workload::expert_params(r->model);
  std::vector<double> shipped(P, 0.0);
  for (int32_t l = 0; l < L; ++l)
    for (const auto& mv : moves_between(r->sharding->place({1, l, 0}), r->sharding->place({2, l, 0}), false))
      shipped[mv.from] += 1;
  ASSERT_GT(std::accumulate(shipped.begin(), shipped.end(), 0.0), 0);
  const graph::Task* mig = nullptr;
  for (const auto& t : steps[2].graph.tasks)
    if (t.op == "expert_migration") mig = &t;
  ASSERT_NE(mig, nullptr);
  for (int32_t d = 0; d < P; ++d) {
    EXPECT_DOUBLE_EQ(testing::sum_bytes(mig->on_start, d, MemCategory::weights), shipped[d] * 2 * p) << d;
    EXPECT_DOUBLE_EQ(testing::sum_bytes(mig->on_start, d, MemCategory::optimizer_state), shipped[d] * 12 * p) << d;
    EXPECT_DOUBLE_EQ(testing::sum_bytes(mig->on_end, d, MemCategory::weights), -shipped[d] * 2 * p) << d;
    EXPECT_DOUBLE_EQ(testing::sum_bytes(mig->on_end, d, MemCategory::optimizer_state), -shipped[d] * 12 * p) << d;
  }
}

}  // namespace
}  // namespace moesim::sharding
