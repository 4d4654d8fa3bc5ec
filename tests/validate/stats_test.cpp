#include "validate/common/stats.hpp"

#include <gtest/gtest.h>

namespace mb = moesim::bench;

TEST(BenchStats, MedianOfOddAndEvenCounts) {
  EXPECT_DOUBLE_EQ(mb::summarize({3, 1, 2}).median, 2);
  EXPECT_DOUBLE_EQ(mb::summarize({4, 1, 3, 2}).median, 2.5);
}

TEST(BenchStats, PercentilesInterpolateBetweenOrderStatistics) {
  std::vector<double> v;
  for (int i = 0; i <= 10; ++i) v.push_back(10 - i);  // 0..10, reversed
  const auto s = mb::summarize(v);
  EXPECT_DOUBLE_EQ(s.p10, 1.0);
  EXPECT_DOUBLE_EQ(s.p90, 9.0);
  EXPECT_DOUBLE_EQ(s.min, 0.0);
  EXPECT_DOUBLE_EQ(s.max, 10.0);
  EXPECT_DOUBLE_EQ(mb::percentile_sorted({0, 10}, 0.25), 2.5);
}

TEST(BenchStats, MeanAndSampleStddev) {
  const auto s = mb::summarize({2, 4, 4, 4, 5, 5, 7, 9});
  EXPECT_DOUBLE_EQ(s.mean, 5.0);
  EXPECT_NEAR(s.stddev, 2.138089935, 1e-9);  // sample (n-1) standard deviation
  EXPECT_EQ(s.count, 8u);
}

TEST(BenchStats, EmptyAndSingleSample) {
  EXPECT_EQ(mb::summarize({}).count, 0u);
  const auto one = mb::summarize({1.5});
  EXPECT_DOUBLE_EQ(one.median, 1.5);
  EXPECT_DOUBLE_EQ(one.p90, 1.5);
  EXPECT_DOUBLE_EQ(one.stddev, 0.0);
}

TEST(BenchStats, InnerIterationsMakeSamplesLongEnough) {
  EXPECT_EQ(mb::choose_inner_iterations(1e-6, 1e-3, 1 << 20), 1000);
  EXPECT_EQ(mb::choose_inner_iterations(0.5, 1e-3, 1 << 20), 1);
  EXPECT_EQ(mb::choose_inner_iterations(1e-9, 1.0, 100), 100);   // clamped
  EXPECT_EQ(mb::choose_inner_iterations(0.0, 1e-3, 64), 64);     // unmeasurably fast
}
