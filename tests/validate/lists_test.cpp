#include "validate/common/lists.hpp"

#include <gtest/gtest.h>

#include <numeric>

#include "sim/core/errors.hpp"

namespace mb = moesim::bench;

TEST(BenchLists, IntListsAndDoublingRanges) {
  EXPECT_EQ(mb::parse_int_list("1,2,4", "--m"), (std::vector<int64_t>{1, 2, 4}));
  EXPECT_EQ(mb::parse_int_list("1..16,100", "--m"), (std::vector<int64_t>{1, 2, 4, 8, 16, 100}));
  EXPECT_THROW(mb::parse_int_list("1,x", "--m"), moesim::ConfigError);
  EXPECT_THROW(mb::parse_int_list("8..2", "--m"), moesim::ConfigError);
  EXPECT_THROW(mb::parse_int_list("", "--m"), moesim::ConfigError);
}

TEST(BenchLists, SizeListsTakeUnitsAndRejectBareNumbers) {
  EXPECT_EQ(mb::parse_size_list("64KiB,1MiB", "--block-sizes"), (std::vector<int64_t>{65536, 1048576}));
  EXPECT_EQ(mb::parse_size_list("1KiB..64KiB", "--sizes", 4), (std::vector<int64_t>{1024, 4096, 16384, 65536}));
  EXPECT_THROW(mb::parse_size_list("4096", "--sizes"), moesim::ConfigError);
  try {
    mb::parse_size_list("1Mbps", "--sizes");
    FAIL() << "a rate is not a size";
  } catch (const moesim::ConfigError& e) {
    EXPECT_EQ(e.key(), "--sizes");
  }
}

TEST(BenchLists, ZipfSplitSumsExactlyAndIsSkewed) {
  const auto u = mb::zipf_split(4096, 8, 0.0);
  EXPECT_EQ(u, std::vector<int64_t>(8, 512));
  const auto z = mb::zipf_split(1000, 8, 1.0);
  EXPECT_EQ(std::accumulate(z.begin(), z.end(), int64_t{0}), 1000);
  for (size_t i = 1; i < z.size(); ++i) EXPECT_GE(z[i - 1], z[i]);
  EXPECT_NEAR(double(z[0]), 1000.0 / 2.717857, 1.0);  // 1 / H_8
  const auto few = mb::zipf_split(3, 8, 1.0);           // fewer items than parts: some get none
  EXPECT_EQ(std::accumulate(few.begin(), few.end(), int64_t{0}), 3);
  EXPECT_EQ(few.back(), 0);
  EXPECT_TRUE(mb::zipf_split(10, 0, 1.0).empty());
}

TEST(BenchLists, SizeLabels) {
  EXPECT_EQ(mb::size_label(65536), "64KiB");
  EXPECT_EQ(mb::size_label(256LL << 20), "256MiB");
  EXPECT_EQ(mb::size_label(1000), "1000B");
}
