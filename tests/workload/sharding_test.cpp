#include <gtest/gtest.h>

#include "models/workload/placement.hpp"
#include "sim/core/errors.hpp"

namespace moesim::workload {
namespace {

std::unique_ptr<IShardingStrategy> make(const std::string& text, int32_t experts, int32_t devices) {
  ShardingContext ctx;
  ctx.num_experts = experts;
  ctx.devices = devices;
  ctx.node_of.assign(static_cast<size_t>(devices), 0);
  auto doc = config::Document::parse(text, "parallel.toml");
  return ShardingRegistry::instance().create(config::Table::root(doc), ctx);
}

TEST(ExpertParallel, SplitsExpertsEvenlyInsideEachGroup) {
  auto s = make("kind = \"ep\"\nep = 4\n", 8, 8);
  EXPECT_EQ(s->ep(), 4);
  auto g0 = s->place({0, 0, 0});
  auto g1 = s->place({0, 0, 1});
  ASSERT_EQ(g0.experts(), 8);
  for (int32_t e = 0; e < 8; ++e) {
    EXPECT_EQ(g0.holders[e], std::vector<int32_t>{e / 2});
    EXPECT_EQ(g1.holders[e], std::vector<int32_t>{4 + e / 2});
  }
  EXPECT_EQ(g0.owned_by(1), (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(g1.held_by(7), (std::vector<int32_t>{6, 7}));
}

TEST(ExpertParallel, DefaultsToEveryDevice) {
  auto s = make("kind = \"ep\"\n", 16, 8);
  EXPECT_EQ(s->ep(), 8);
}

TEST(ExpertParallel, IndivisibleExpertsAreInfeasibleWithNumbers) {
  try {
    make("kind = \"ep\"\nep = 3\n", 8, 6);
    FAIL() << "expected InfeasibleError";
  } catch (const InfeasibleError& e) {
    EXPECT_NE(std::string(e.what()).find("8 experts"), std::string::npos) << e.what();
  }
}

TEST(ExpertParallel, GroupsMustDivideDevicesAndTyposAreCaught) {
  EXPECT_THROW(make("kind = \"ep\"\nep = 3\n", 6, 8), ConfigError);
  try {
    make("kind = \"ep\"\nepp = 2\n", 8, 8);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("ep"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("parallel.toml:2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace moesim::workload
