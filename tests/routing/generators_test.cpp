#include <numeric>
#include <set>

#include "models/routing/generators.hpp"
#include "models/routing/stats.hpp"
#include "sim/core/config.hpp"
#include "test_util.hpp"

using namespace moesim;
using namespace moesim::routing;
using namespace routing_test;

namespace {

RoutingContext context(int32_t experts, int32_t k, int32_t layers = 1, uint64_t seed = 42) {
  RoutingContext c;
  c.num_experts = experts, c.top_k = k, c.num_moe_layers = layers, c.seed = seed;
  return c;
}

gen::PopularityParams zipf_to(double max_mean) {
  gen::PopularityParams p;
  p.law = "zipf";
  p.target_max_mean = max_mean;
  return p;
}

void expect_distinct_per_token(const LayerRouting& r) {
  for (int64_t t = 0; t < r.tokens; ++t) {
    std::set<int32_t> seen;
    for (int32_t j = 0; j < r.k; ++j)
      if (r.expert(t, j) != kNoExpert) EXPECT_TRUE(seen.insert(r.expert(t, j)).second) << "token " << t;
  }
}

}  // namespace

TEST(Generators, EveryKindIsRegistered) {
  auto kinds = RoutingRegistry::instance().kinds();
  for (const char* k : {"uniform", "popularity", "temporal_reuse", "cross_layer_paths", "drift", "switch", "gshard", "expert_choice",
                        "base", "hash", "loss_free_bias", "adamoe", "deepseek", "locmoe", "readme_pregate", "trace"})
    EXPECT_NE(std::find(kinds.begin(), kinds.end(), k), kinds.end()) << k;
}

TEST(Generators, UniformIsBalancedAndDistinct) {
  auto src = make_uniform({2}, context(16, 2));
  auto r = src->route({0, 0, 100000, {}});
  expect_distinct_per_token(r);
  EXPECT_LT(load_stats(r.expert_load(16)).max_over_mean, 1.03);
}

TEST(Generators, ZipfHitsItsTargetMaxMeanWithinFivePercent) {
  for (auto [experts, k, target] : std::vector<std::tuple<int32_t, int32_t, double>>{{64, 1, 3.0}, {128, 8, 2.92}, {8, 2, 1.5}}) {
    auto src = make_popularity({zipf_to(target), k}, context(experts, k));
    auto r = src->route({0, 0, 100000, {}});
    expect_distinct_per_token(r);
    double got = load_stats(r.expert_load(experts)).max_over_mean;
    EXPECT_NEAR(got / target, 1.0, 0.05) << experts << " experts top-" << k << ": max/mean " << got;
  }
}

TEST(Generators, DirichletHitsItsTargetCv) {
  gen::PopularityParams p;
  p.law = "dirichlet", p.alpha = 0.5, p.target_cv = 0.55;
  auto src = make_popularity({p, 8}, context(128, 8));
  double cv = load_stats(src->route({0, 0, 100000, {}}).expert_load(128)).cv;
  EXPECT_NEAR(cv / 0.55, 1.0, 0.05) << cv;
}

TEST(Generators, UnreachableSkewIsReported) {
  EXPECT_THROW(make_popularity({zipf_to(9.0), 8}, context(64, 8)), InfeasibleError);  // at most E/k = 8
}

TEST(Generators, SameSeedSameRoutingDifferentSeedDifferent) {
  auto a = make_popularity({zipf_to(2.0), 2}, context(16, 2, 1, 1));
  auto b = make_popularity({zipf_to(2.0), 2}, context(16, 2, 1, 1));
  auto c = make_popularity({zipf_to(2.0), 2}, context(16, 2, 1, 2));
  auto ra = a->route({3, 0, 1000, {}});
  EXPECT_TRUE(ra == b->route({3, 0, 1000, {}}));
  EXPECT_FALSE(ra == c->route({3, 0, 1000, {}}));
}

TEST(Generators, ExpertChoiceAndBaseArePerfectlyBalanced) {
  gen::ScoreParams skewed{zipf_to(3.0), 1.0};
  auto ec = make_expert_choice({skewed, 2.0}, context(16, 2))->route({0, 0, 4096, {}});
  auto load = ec.expert_load(16);
  EXPECT_EQ(*std::min_element(load.begin(), load.end()), 4096 * 2 / 16);
  EXPECT_EQ(*std::max_element(load.begin(), load.end()), 4096 * 2 / 16);
  auto base = make_base({skewed}, context(16, 1))->route({0, 0, 4099, {}});
  load = base.expert_load(16);
  EXPECT_EQ(*std::max_element(load.begin(), load.end()) - *std::min_element(load.begin(), load.end()), 1);  // 4099 = 16*256 + 3
  EXPECT_EQ(base.expert_load(16)[0], 257);
  for (auto e : base.experts) EXPECT_NE(e, kNoExpert);
}

TEST(Generators, SwitchAndGShardRespectCapacityAndDrop) {
  gen::ScoreParams skewed{zipf_to(3.0), 0.5};
  auto sw = make_switch({skewed, 1.0}, context(16, 1))->route({0, 0, 4096, {}});
  const int64_t cap = gen::expert_capacity(4096, 1, 16, 1.0);
  for (auto v : sw.expert_load(16)) EXPECT_LE(v, cap);
  EXPECT_GT(dropped_fraction(sw), 0.05);
  auto roomy = make_switch({skewed, 16.0}, context(16, 1))->route({0, 0, 4096, {}});
  EXPECT_EQ(dropped_fraction(roomy), 0.0);

  auto gs = make_gshard({skewed, 1.0, true}, context(16, 2))->route({0, 0, 4096, {}});
  for (auto v : gs.expert_load(16)) EXPECT_LE(v, gen::expert_capacity(4096, 2, 16, 1.0));
  EXPECT_GT(dropped_fraction(gs), 0.0);
  EXPECT_LT(mean_real_k(gs), 2.0);  // random routing skips some second experts
  EXPECT_GT(mean_real_k(gs), 1.0);
}

TEST(Generators, LossFreeControllerLowersMaxVio) {
  LossFreeParams p{{zipf_to(3.0), 1.0}, 2, 0.01, 0.01, 1.0};
  auto src = make_loss_free(p, context(16, 2));
  std::vector<double> vio;
  for (int64_t s = 0; s < 200; ++s) vio.push_back(max_vio(src->route({s, 0, 1024, {}}).expert_load(16)));
  double early = std::accumulate(vio.begin(), vio.begin() + 10, 0.0) / 10, late = std::accumulate(vio.end() - 20, vio.end(), 0.0) / 20;
  EXPECT_LT(late, 0.5 * early) << "early " << early << " late " << late;
  p.update_rate = 0;  // without the controller the skew stays
  auto off = make_loss_free(p, context(16, 2));
  for (int64_t s = 0; s < 200; ++s) vio[s] = max_vio(off->route({s, 0, 1024, {}}).expert_load(16));
  EXPECT_GT(std::accumulate(vio.end() - 20, vio.end(), 0.0) / 20, 0.8 * early);
}

TEST(Generators, NodeLimitedRoutingNeverExceedsMaxNodes) {
  auto ctx = context(64, 8);
  ctx.devices = 32, ctx.devices_per_node = 4;  // 8 nodes, 8 experts each
  auto src = make_deepseek({{zipf_to(2.0), 1.0}, 8, 3, 2, 1}, ctx);
  auto r = src->route({0, 0, 5000, {}});
  auto node = gen::expert_nodes(ctx);
  size_t widest = 0;
  for (int64_t t = 0; t < r.tokens; ++t) {
    std::set<int32_t> nodes;
    for (int32_t j = 0; j < r.k; ++j) nodes.insert(node[r.expert(t, j)]);
    widest = std::max(widest, nodes.size());
  }
  EXPECT_LE(widest, 3u);
  EXPECT_EQ(widest, 3u);  // the limit binds
  EXPECT_EQ(r.shared_experts, 1);
  expect_distinct_per_token(r);
}

TEST(Generators, NullExpertsLowerTheMeanRealK) {
  gen::PopularityParams uniform;
  auto r = make_adamoe({uniform, 2, 1.67}, context(8, 2))->route({0, 0, 100000, {}});
  EXPECT_NEAR(mean_real_k(r), 1.67, 0.02);
  expect_distinct_per_token(r);
  auto r3 = make_adamoe({uniform, 4, 2.5}, context(8, 4))->route({0, 0, 100000, {}});
  EXPECT_NEAR(mean_real_k(r3), 2.5, 0.03);
}

TEST(Generators, LocMoeBiasRaisesTheLocalShare) {
  auto ctx = context(16, 1);
  ctx.devices = 4, ctx.devices_per_node = 1;
  auto local_share = [&](double bias) {
    auto r = make_locmoe({{gen::PopularityParams{}, 1.0}, 1, bias}, ctx)->route({0, 0, 8000, {}});
    auto node = gen::expert_nodes(ctx);
    int64_t local = 0;
    for (int64_t t = 0; t < r.tokens; ++t) local += node[r.expert(t, 0)] == static_cast<int32_t>(t * 4 / r.tokens);
    return static_cast<double>(local) / r.tokens;
  };
  EXPECT_NEAR(local_share(0.0), 0.25, 0.03);
  EXPECT_GT(local_share(2.0), 0.6);
}

TEST(Generators, ReadMeUsesOneChoiceForEveryLayer) {
  auto src = make_readme({gen::PopularityParams{}, 1, 1}, context(8, 1, 4));
  auto l0 = src->route({5, 0, 300, {}});
  EXPECT_TRUE(src->route({5, 3, 300, {}}) == l0);
  EXPECT_FALSE(src->route({6, 0, 300, {}}) == l0);
  EXPECT_EQ(l0.shared_experts, 1);
}

TEST(Generators, TemporalReuseRaisesTheRepeatRate) {
  auto r = make_temporal_reuse({gen::PopularityParams{}, 2, 0.4}, context(16, 2))->route({0, 0, 50000, {}});
  auto reuse = temporal_reuse(r);
  EXPECT_NEAR(reuse.first_choice, 0.4 + 0.6 / 16, 0.02);
  auto base = temporal_reuse(make_uniform({2}, context(16, 2))->route({0, 0, 50000, {}}));
  EXPECT_NEAR(base.first_choice, 1.0 / 16, 0.01);
}

TEST(Generators, CrossLayerPathsConcentrate) {
  auto ctx = context(8, 1, 4);
  auto paths_of = [&](IRoutingSource& src) {
    std::vector<LayerRouting> ls;
    for (int32_t l = 0; l < 4; ++l) ls.push_back(src.route({0, l, 20000, {}}));
    std::vector<const LayerRouting*> ptr;
    for (auto& l : ls) ptr.push_back(&l);
    return path_concentration(ptr);
  };
  auto follow = make_cross_layer({gen::PopularityParams{}, 1, 0.95, 2}, ctx);
  auto fresh = make_uniform({1}, ctx);
  double skewed = paths_of(*follow).top_share, flat = paths_of(*fresh).top_share;
  EXPECT_GT(skewed, 0.6);
  EXPECT_LT(flat, 0.45);
  // Order independence: asking layer 3 first gives the same routing.
  auto again = make_cross_layer({gen::PopularityParams{}, 1, 0.95, 2}, ctx);
  auto l3 = again->route({0, 3, 20000, {}});
  EXPECT_TRUE(l3 == follow->route({0, 3, 20000, {}}));
}

TEST(Generators, DriftMovesPopularityOverSteps) {
  auto src = make_drift({zipf_to(2.0), 2, 0.2}, context(16, 2));
  auto load = [&](int64_t s) { return src->route({s, 0, 20000, {}}).expert_load(16); };
  auto dist = [](const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
    double d = 0;
    for (size_t i = 0; i < a.size(); ++i) d += std::abs(static_cast<double>(a[i] - b[i]));
    return d;
  };
  auto l0 = load(0);
  EXPECT_LT(dist(l0, load(1)), dist(l0, load(100)));
}

TEST(Generators, HashRoutingIsDeterministicPerTokenAndBalancedOnUniformIds) {
  auto r = make_hash({2, 50000, 0.0}, context(16, 2))->route({0, 0, 100000, {}});
  expect_distinct_per_token(r);
  EXPECT_LT(load_stats(r.expert_load(16)).max_over_mean, 1.03);
  auto skewed = make_hash({1, 50000, 1.1}, context(16, 1))->route({0, 0, 100000, {}});
  EXPECT_GT(load_stats(skewed.expert_load(16)).max_over_mean, 1.2);  // frequent words pin their expert
}

TEST(Generators, TomlFactoriesRejectUnknownKeys) {
  auto doc = config::Document::parse("kind = \"popularity\"\nlaw = \"zipf\"\nmax_mean = 2.0\ntopk = 3\n", "gen.toml");
  std::string e = error_of([&] { RoutingRegistry::instance().create(config::Table::root(doc), context(16, 2)); });
  EXPECT_NE(e.find("gen.toml:4:"), std::string::npos) << e;
  EXPECT_NE(e.find("top_k"), std::string::npos) << e;
}
