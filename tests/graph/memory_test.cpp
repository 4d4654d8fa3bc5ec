#include <gtest/gtest.h>

#include "sim/graph/memory.hpp"
#include "tests/engine/fixtures.hpp"

namespace moesim {
namespace {

using namespace moesim::testing;
using graph::MemCategory;

graph::MemDelta delta(graph::DeviceId d, MemCategory c, double b) { return {d, c, Bytes(b)}; }

// Two tasks on device 0: the first allocates activations 10 at start and frees them at its end,
// the second allocates workspace 4 at its start (when the first ends) and keeps 1 at its end.
struct Fixture {
  graph::StepGraph g;
  graph::Timeline tl;
  Fixture() {
    g.resident = {delta(0, MemCategory::weights, 100), delta(1, MemCategory::weights, 50)};
    auto a = compute(0, 1.0);
    a.on_start = {delta(0, MemCategory::activations, 10)};
    a.on_end = {delta(0, MemCategory::activations, -10)};
    auto b = compute(0, 1.0, {0});
    b.on_start = {delta(0, MemCategory::workspace, 4)};
    b.on_end = {delta(0, MemCategory::workspace, -3)};
    g.add(a);
    g.add(b);
    graph::StepTimeline st;
    st.start = 0;
    st.end = 2;
    st.tasks = {{0, 0.0, 1.0}, {1, 1.0, 2.0}};
    tl.steps.push_back(st);
  }
};

TEST(Memory, PeakTimeAndComposition) {
  Fixture f;
  const auto r = graph::derive_memory({f.g}, f.tl, 2);
  const auto& d0 = r.devices.at(0);
  EXPECT_DOUBLE_EQ(d0.peak_bytes, 110.0);  // the free at t=1 comes before the workspace alloc
  EXPECT_DOUBLE_EQ(d0.peak_time, 0.0);
  EXPECT_DOUBLE_EQ(d0.at_peak[static_cast<size_t>(MemCategory::weights)], 100.0);
  EXPECT_DOUBLE_EQ(d0.at_peak[static_cast<size_t>(MemCategory::activations)], 10.0);
  EXPECT_DOUBLE_EQ(r.devices.at(1).peak_bytes, 50.0);
  // Workspace curve: 0, then 4 at t=1, then 1 at t=2.
  const auto& ws = d0.by_category[static_cast<size_t>(MemCategory::workspace)];
  ASSERT_GE(ws.size(), 2u);
  EXPECT_DOUBLE_EQ(ws.back().time, 2.0);
  EXPECT_DOUBLE_EQ(ws.back().bytes, 1.0);
  EXPECT_DOUBLE_EQ(d0.total.back().bytes, 101.0);
}

TEST(Memory, OverCapacityFinding) {
  Fixture f;
  const auto r = graph::derive_memory({f.g}, f.tl, 2, {105.0, 105.0});
  ASSERT_EQ(r.over_capacity.size(), 1u);
  EXPECT_EQ(r.over_capacity[0].device, 0);
  EXPECT_DOUBLE_EQ(r.over_capacity[0].over_bytes, 5.0);
  EXPECT_DOUBLE_EQ(r.over_capacity[0].time, 0.0);
  EXPECT_NE(r.over_capacity[0].message.find("device 0"), std::string::npos);
}

TEST(Memory, EachStepStartsFromItsResidentSet) {
  Fixture f;
  graph::StepGraph g2 = f.g;
  g2.step = 1;
  g2.resident = {delta(0, MemCategory::weights, 30)};
  graph::Timeline tl = f.tl;
  auto st = tl.steps[0];
  st.step = 1;
  st.start = 2;
  st.tasks = {{0, 2.0, 3.0}, {1, 3.0, 4.0}};
  tl.steps.push_back(st);
  graph::MemoryTracker tr(2);
  tr.add_step(f.g, tl.steps[0]);
  tr.add_step(g2, tl.steps[1]);
  const auto r = tr.finish();
  EXPECT_DOUBLE_EQ(r.devices[0].peak_bytes, 110.0);
  EXPECT_EQ(r.devices[0].peak_step, 0);
  EXPECT_DOUBLE_EQ(r.devices[0].total.back().bytes, 31.0);  // 30 weights + 1 workspace kept
  EXPECT_DOUBLE_EQ(r.devices[1].total.back().bytes, 0.0);   // no resident in step 1
}

TEST(Memory, MismatchedTimelineIsRejected) {
  Fixture f;
  f.tl.steps[0].tasks.pop_back();
  EXPECT_THROW(graph::derive_memory({f.g}, f.tl, 2), std::invalid_argument);
}

}  // namespace
}  // namespace moesim
