// Prefetchers: EdgeMoE's table learns path correlations from a calibration trace; Read-ME's
// lookahead is exact; next-layer-frequent returns the hottest experts.
#include <gtest/gtest.h>

#include "models/offload/prefetcher.hpp"

namespace moesim::offload {
namespace {

routing::LayerRouting one_token(std::vector<int32_t> experts) {
  routing::LayerRouting r;
  r.tokens = 1;
  r.k = static_cast<int32_t>(experts.size());
  r.experts = std::move(experts);
  return r;
}

TEST(Prefetcher, EdgeMoeTableLearnsTwoLayerPaths) {
  OffloadContext ctx{3, 8, 1};
  CalibrationTrace calib{3, 8, {}};
  // Path (3, 1) -> 5 in 87 of 100 tokens, -> 2 otherwise (EdgeMoE's example: P = 87.1%).
  for (int i = 0; i < 100; ++i) calib.tokens.push_back(TokenPath{{{3}, {1}, {i < 87 ? 5 : 2}}});
  // Path (4, 1) -> 6 always.
  for (int i = 0; i < 50; ++i) calib.tokens.push_back(TokenPath{{{4}, {1}, {6}}});
  auto p = make_edgemoe_prefetch(EdgeMoePrefetchParams{2, 0.1, 2}, ctx);
  p->calibrate(calib);
  auto l0 = one_token({3}), l1 = one_token({1});
  PrefetchQuery q{2, 1, {&l0, &l1}, nullptr};
  EXPECT_EQ(p->predict(q), (std::vector<int32_t>{5, 2}));
  auto other = one_token({4});
  q.history = {&other, &l1};
  EXPECT_EQ(p->predict(q), (std::vector<int32_t>{6}));
  // A higher threshold drops the 13% guess.
  auto strict = make_edgemoe_prefetch(EdgeMoePrefetchParams{2, 0.5, 2}, ctx);
  strict->calibrate(calib);
  q.history = {&l0, &l1};
  EXPECT_EQ(strict->predict(q), (std::vector<int32_t>{5}));
}

TEST(Prefetcher, EdgeMoeFallsBackToMarginalForUnseenPaths) {
  OffloadContext ctx{2, 4, 1};
  CalibrationTrace calib{2, 4, {}};
  for (int i = 0; i < 10; ++i) calib.tokens.push_back(TokenPath{{{0}, {3}}});
  auto p = make_edgemoe_prefetch(EdgeMoePrefetchParams{1, 0.1, 2}, ctx);
  p->calibrate(calib);
  auto unseen = one_token({2});
  EXPECT_EQ(p->predict(PrefetchQuery{1, 1, {&unseen}, nullptr}), (std::vector<int32_t>{3}));
}

TEST(Prefetcher, ReadMeLookaheadIsExact) {
  OffloadContext ctx{2, 8, 2};
  auto p = make_readme_lookahead(LookaheadParams{}, ctx);
  routing::LayerRouting r;
  r.tokens = 3;
  r.k = 2;
  r.experts = {1, 4, 4, 7, 4, 1};
  EXPECT_EQ(p->predict(PrefetchQuery{1, 3, {}, &r}), (std::vector<int32_t>{4, 1, 7}));
  EXPECT_TRUE(p->predict(PrefetchQuery{1, 3, {}, nullptr}).empty());
}

TEST(Prefetcher, NextLayerFrequentUsesCalibrationAndObservations) {
  OffloadContext ctx{1, 4, 1};
  auto p = make_next_layer_frequent(FrequentPrefetchParams{1}, ctx);
  CalibrationTrace calib{1, 4, {}};
  for (int i = 0; i < 3; ++i) calib.tokens.push_back(TokenPath{{{2}}});
  p->calibrate(calib);
  EXPECT_EQ(p->predict(PrefetchQuery{0, 1, {}, nullptr}), (std::vector<int32_t>{2}));
  for (int i = 0; i < 5; ++i) p->observe(0, one_token({0}));
  EXPECT_EQ(p->predict(PrefetchQuery{0, 1, {}, nullptr}), (std::vector<int32_t>{0}));
  EXPECT_TRUE(make_no_prefetch()->predict(PrefetchQuery{}).empty());
}

}  // namespace
}  // namespace moesim::offload
