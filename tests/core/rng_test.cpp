#include <gtest/gtest.h>

#include <cmath>

#include "sim/core/rng.hpp"

using namespace moesim;

TEST(Rng, SameSeedAndStreamSameNumbers) {
  Rng a(42, "routing"), b(42, "routing"), c(42, "placement");
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    differs |= (x != c.next_u64());
  }
  EXPECT_TRUE(differs);
}

TEST(Rng, UniformMeanAndBelowRange) {
  Rng r(1, "t");
  double sum = 0;
  for (int i = 0; i < 100000; ++i) {
    double u = r.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    ASSERT_LT(r.below(7), 7u);
  }
  EXPECT_NEAR(sum / 100000, 0.5, 0.01);
}

TEST(Rng, GammaMean) {
  Rng r(3, "g");
  for (double shape : {0.3, 1.0, 4.0}) {
    double sum = 0;
    for (int i = 0; i < 50000; ++i) sum += r.gamma(shape);
    EXPECT_NEAR(sum / 50000, shape, 0.05 * shape + 0.01) << shape;
  }
}
