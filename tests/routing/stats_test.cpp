#include <cmath>

#include "models/routing/stats.hpp"
#include "test_util.hpp"

using namespace moesim::routing;

TEST(RoutingStats, SkewMeasuresAtTheirExtremes) {
  std::vector<int64_t> equal(8, 10), one_hot(8, 0);
  one_hot[3] = 80;
  EXPECT_DOUBLE_EQ(gini(equal), 0.0);
  EXPECT_DOUBLE_EQ(gini(one_hot), 7.0 / 8.0);
  EXPECT_NEAR(normalised_entropy(equal), 1.0, 1e-12);
  EXPECT_DOUBLE_EQ(normalised_entropy(one_hot), 0.0);
  auto s = load_stats(one_hot);
  EXPECT_DOUBLE_EQ(s.max_over_mean, 8.0);
  EXPECT_DOUBLE_EQ(s.max_vio, 7.0);
  EXPECT_EQ(s.hottest, 3);
  EXPECT_DOUBLE_EQ(s.hottest_share, 1.0);
  EXPECT_TRUE(std::isinf(s.max_over_min));
}

TEST(RoutingStats, QuantilesAndCv) {
  auto s = load_stats({1, 2, 3, 4, 10});
  EXPECT_DOUBLE_EQ(s.quantiles[0], 1);
  EXPECT_DOUBLE_EQ(s.quantiles[2], 3);
  EXPECT_DOUBLE_EQ(s.quantiles[4], 10);
  EXPECT_NEAR(s.cv, std::sqrt((9 + 4 + 1 + 0 + 36) / 5.0) / 4.0, 1e-12);
}

TEST(RoutingStats, ReusePathsDroppedAndRealK) {
  LayerRouting a;
  a.tokens = 4, a.k = 2;
  a.experts = {0, 1, 0, 2, 3, kNoExpert, 3, 1};
  a.dropped = {0, 0, 0, 1, 0, 0, 0, 0};
  auto r = temporal_reuse(a);
  EXPECT_EQ(r.pairs, 3);
  EXPECT_DOUBLE_EQ(r.first_choice, 2.0 / 3);  // 0->0, 0->3, 3->3
  EXPECT_DOUBLE_EQ(r.any_overlap, 2.0 / 3);
  EXPECT_DOUBLE_EQ(dropped_fraction(a), 1.0 / 7);
  EXPECT_DOUBLE_EQ(mean_real_k(a), 7.0 / 4);
  LayerRouting b = a;
  b.experts = {5, 1, 5, 2, 6, 0, 5, 0};  // paths (0,5) (0,5) (3,6) (3,5): 3 distinct, top 20% -> 1 path
  auto p = path_concentration({&a, &b});
  EXPECT_EQ(p.distinct_paths, 3);
  EXPECT_DOUBLE_EQ(p.top_share, 0.5);
}
