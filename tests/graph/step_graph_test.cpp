#include <gtest/gtest.h>

#include "sim/graph/step_graph.hpp"
#include "tests/engine/fixtures.hpp"

namespace moesim {
namespace {

using namespace moesim::testing;

TEST(StepGraph, ValidGraphPasses) {
  graph::StepGraph g;
  const auto a = g.add(compute(0, 1.0));
  g.add(compute(1, 1.0, {a}));
  EXPECT_NO_THROW(g.validate());
}

TEST(StepGraph, CycleIsRejected) {
  graph::StepGraph g;
  g.add(compute(0, 1.0, {2}));
  g.add(compute(0, 1.0, {0}));
  g.add(compute(0, 1.0, {1}));
  EXPECT_THROW(g.validate(), std::invalid_argument);
}

TEST(StepGraph, MissingDependencyIsRejected) {
  graph::StepGraph g;
  g.add(compute(0, 1.0, {5}));
  EXPECT_THROW(g.validate(), std::invalid_argument);
}

TEST(StepGraph, NegativeDurationIsRejected) {
  graph::StepGraph g;
  g.add(compute(0, -1.0));
  EXPECT_THROW(g.validate(), std::invalid_argument);
}

TEST(StepGraph, MatrixOfWrongSizeIsRejected) {
  graph::StepGraph g;
  g.add(collective(alltoallv({0, 1, 2}, std::vector<double>(4, 1.0))));
  EXPECT_THROW(g.validate(), std::invalid_argument);
}

TEST(StepGraph, DevicesOfACollectiveAreItsGroup) {
  const auto t = collective(alltoallv({3, 5}, std::vector<double>(4, 1.0)));
  EXPECT_EQ(graph::StepGraph::devices_of(t), (std::vector<graph::DeviceId>{3, 5}));
  EXPECT_EQ(graph::StepGraph::devices_of(compute(7, 1.0)), (std::vector<graph::DeviceId>{7}));
}

TEST(StepGraph, Names) {
  EXPECT_EQ(graph::mem_category_name(graph::MemCategory::kv_cache), "kv_cache");
  EXPECT_EQ(graph::collective_name(graph::CollectiveKind::reduce_scatter), "reduce_scatter");
  EXPECT_EQ(graph::stream_name(graph::Stream::io), "io");
}

}  // namespace
}  // namespace moesim
