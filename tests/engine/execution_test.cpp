// Execution semantics: streams, dependencies, collectives waiting for every member, steps one
// after another, storage reads, errors.
#include <gtest/gtest.h>

#include "sim/core/errors.hpp"
#include "sim/engine/engine.hpp"
#include "tests/engine/fixtures.hpp"

namespace moesim {
namespace {

using namespace moesim::testing;

const graph::TaskTiming& timing(const graph::Timeline& tl, size_t step, graph::TaskId t) {
  return tl.steps.at(step).tasks.at(static_cast<size_t>(t));
}

TEST(Execution, OneStreamSerializesOtherStreamsOverlap) {
  const auto topo = star_cluster(1, 2);
  graph::StepGraph g;
  const auto a = g.add(compute(0, 1.0));
  const auto b = g.add(compute(0, 2.0));                                  // same stream: after a
  const auto c = g.add(compute(0, 0.5, {}, graph::Stream::comm));          // other stream: overlaps
  const auto d = g.add(compute(1, 0.25, {c}));                             // other device, after c
  auto tl = engine::run_graphs(topo, {g}, {});
  EXPECT_DOUBLE_EQ(timing(tl, 0, a).start, 0.0);
  EXPECT_NEAR(timing(tl, 0, b).start, 1.0, 1e-9);
  EXPECT_NEAR(timing(tl, 0, b).end, 3.0, 1e-9);
  EXPECT_NEAR(timing(tl, 0, c).start, 0.0, 1e-9);
  EXPECT_NEAR(timing(tl, 0, d).start, 0.5, 1e-9);
  EXPECT_NEAR(tl.steps[0].end, 3.0, 1e-9);
}

TEST(Execution, CollectiveStartsWhenEveryMemberArrives) {
  const auto topo = star_cluster(1, 4, 100);
  graph::StepGraph g;
  const auto slow = g.add(compute(3, 1.0, {}, graph::Stream::comm));  // device 3's comm stream busy
  const auto a2a = g.add(collective(alltoallv(iota_group(4), uniform_matrix(4, 1e8))));
  auto tl = engine::run_graphs(topo, {g}, {});
  EXPECT_NEAR(timing(tl, 0, a2a).start, timing(tl, 0, slow).end, 1e-9);
  EXPECT_NEAR(timing(tl, 0, a2a).end - timing(tl, 0, a2a).start, 2e-6 + 3e8 / 100e9, 1e-6);
}

TEST(Execution, StepsRunOneAfterAnotherAndSeeTheTimelineSoFar) {
  const auto topo = star_cluster(1, 2);
  int64_t calls = 0;
  double seen_end = -1;
  auto tl = engine::run(topo, [&](int64_t step, const graph::Timeline& so_far) -> std::optional<graph::StepGraph> {
    ++calls;
    if (step == 1) seen_end = so_far.steps.at(0).end;
    if (step == 3) return std::nullopt;
    graph::StepGraph g;
    g.step = step;
    g.add(compute(0, 0.5 * static_cast<double>(step + 1)));
    return g;
  }, {});
  ASSERT_EQ(tl.steps.size(), 3u);
  EXPECT_EQ(calls, 4);
  EXPECT_NEAR(seen_end, 0.5, 1e-9);
  EXPECT_NEAR(tl.steps[1].start, 0.5, 1e-9);
  EXPECT_NEAR(tl.steps[2].start, 1.5, 1e-9);
  EXPECT_NEAR(tl.end, 3.0, 1e-9);
}

TEST(Execution, StorageReadPaysLatencyPerRequest) {
  auto p = star_cluster(1, 1).params;
  hw::StorageSpec s;
  s.name = "test_nvme";
  s.seq_read_bandwidth = BytesPerSecond(3e9);
  s.rand_read_bandwidth = BytesPerSecond(1e9);
  s.read_latency = Seconds(100e-6);
  s.sequential_threshold = Bytes(1e6);
  p.storage = s;
  const auto topo = hw::build_topology(p);
  graph::StepGraph g;
  graph::Task t;
  t.name = "load_expert";
  t.stream = graph::Stream::io;
  t.work = graph::StorageReadWork{0, Bytes(3e8), 10};  // 30 MB requests: sequential
  g.add(t);
  t.work = graph::StorageReadWork{0, Bytes(1e6), 4};  // 250 kB requests: random rate
  g.add(t);
  auto tl = engine::run_graphs(topo, {g}, {});
  // storage edge has no latency; then host->device PCIe (2 us, 20 GB/s) is not the bottleneck.
  const double t0 = 10 * 100e-6 + 2e-6 + 3e8 / 3e9;
  EXPECT_NEAR((timing(tl, 0, 0).end - timing(tl, 0, 0).start) / t0, 1.0, 1e-3);
  const double t1 = 4 * 100e-6 + 2e-6 + 1e6 / 1e9;
  EXPECT_NEAR((timing(tl, 0, 1).end - timing(tl, 0, 1).start) / t1, 1.0, 1e-3);
}

TEST(Execution, StreamOrderDeadlockIsReported) {
  const auto topo = star_cluster(1, 1);
  graph::StepGraph g;
  g.add(compute(0, 1.0, {1}));  // first on the stream but waits for the second
  g.add(compute(0, 1.0));
  EXPECT_THROW(engine::run_graphs(topo, {g}, {}), std::invalid_argument);
}

TEST(Execution, SourceErrorsPropagate) {
  const auto topo = star_cluster(1, 1);
  EXPECT_THROW(engine::run(topo, [](int64_t, const graph::Timeline&) -> std::optional<graph::StepGraph> {
                 throw InfeasibleError("nope");
               }, {}),
               InfeasibleError);
}

TEST(Execution, ForkedChildrenRunIndependentSimulations) {
  const auto topo = star_cluster(1, 2);
  auto one = [&] {
    graph::StepGraph g;
    g.add(compute(0, 2.0));
    return std::to_string(engine::run_graphs(topo, {g}, {}).end);
  };
  EXPECT_EQ(std::stod(engine::run_in_child(one)), 2.0);
  EXPECT_EQ(std::stod(engine::run_in_child(one)), 2.0);  // a second engine in a second child
}

}  // namespace
}  // namespace moesim
