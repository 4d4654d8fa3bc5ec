// Closed-form checks of the network model: one flow, N flows on one link, All-to-All on a star,
// hierarchical and ring collectives; every case must match alpha-beta within 0.1%, in both the
// exact (per-pair flows) and fast (one parallel task per phase) modes.
#include <gtest/gtest.h>

#include "sim/engine/engine.hpp"
#include "tests/engine/fixtures.hpp"

namespace moesim {
namespace {

using namespace moesim::testing;

class ClosedForm : public ::testing::TestWithParam<std::string> {
 protected:
  engine::EngineOptions opt() const {
    engine::EngineOptions o;
    o.network = GetParam();
    return o;
  }
  // Runs one graph with one collective and returns the collective's duration.
  double run_one(const hw::Topology& topo, graph::CollectiveWork w, engine::EngineOptions o) {
    graph::StepGraph g;
    g.add(collective(std::move(w)));
    auto tl = engine::run_graphs(topo, {g}, o);
    timeline_ = tl;
    return tl.steps.at(0).tasks.at(0).end - tl.steps.at(0).tasks.at(0).start;
  }
  graph::Timeline timeline_;
};

constexpr double kTol = 1e-3;  // 0.1%

TEST_P(ClosedForm, OneFlowIsLatencyPlusSizeOverBandwidth) {
  const auto topo = star_cluster(1, 2, 100);
  const double s = 1e9;
  const double t = run_one(topo, alltoallv({0, 1}, {0, s, 0, 0}), opt());
  const double expected = 2 * 1e-6 + s / 100e9;  // two hops of 1 us, 100 GB/s
  EXPECT_NEAR(t / expected, 1.0, kTol) << t;
}

TEST_P(ClosedForm, NFlowsIntoOneLinkShareIt) {
  const int n = 6;
  const auto topo = star_cluster(1, n + 1, 100);
  const double s = 2e8;
  std::vector<double> m(static_cast<size_t>((n + 1) * (n + 1)), 0.0);
  for (int i = 1; i <= n; ++i) m[static_cast<size_t>(i * (n + 1))] = s;  // i -> 0
  const double t = run_one(topo, alltoallv(iota_group(n + 1), m), opt());
  const double expected = 2e-6 + n * s / 100e9;
  EXPECT_NEAR(t / expected, 1.0, kTol) << t;
  // The switch -> device 0 link carried all of it.
  double into0 = 0;
  for (const auto& l : timeline_.links)
    if (l.link == "n0.nvswitch->n0.dev0") into0 = l.bytes;
  EXPECT_DOUBLE_EQ(into0, n * s);
}

TEST_P(ClosedForm, AllToAllOnStar) {
  const int p = 8;
  const auto topo = star_cluster(1, p, 100);
  const double s = 5e7;
  const double t = run_one(topo, alltoallv(iota_group(p), uniform_matrix(p, s)), opt());
  const double expected = 2e-6 + (p - 1) * s / 100e9;  // each uplink carries (p-1) s
  EXPECT_NEAR(t / expected, 1.0, kTol) << t;
}

TEST_P(ClosedForm, AllToAllAcrossNodesIsNicBound) {
  // 2 nodes x 4, NVLink 100 GB/s, NIC 25 GB/s per device, one leaf: the inter-node share
  // (p - G) s = 4 s leaves each device through its NIC path.
  const auto topo = star_cluster(2, 4, 100, 25);
  const double s = 5e7;
  const double t = run_one(topo, alltoallv(iota_group(8), uniform_matrix(8, s)), opt());
  // Remote route dev->NIC (PCIe 2 us, 20 GB/s) -> leaf -> NIC (3 us each) -> dev (2 us): the
  // device's PCIe hop to its NIC carries 4 s at 20 GB/s and is the bottleneck.
  const double expected = 10e-6 + 4 * s / 20e9;
  EXPECT_NEAR(t / expected, 1.0, kTol) << t;
}

TEST_P(ClosedForm, RingAllReduce) {
  const int n = 4;
  const auto topo = star_cluster(1, n, 100);
  graph::CollectiveWork w;
  w.kind = graph::CollectiveKind::all_reduce;
  w.group = iota_group(n);
  w.bytes = Bytes(1e9);
  const double t = run_one(topo, w, opt());
  // 2(n-1) steps of a 2-hop latency, 2(n-1)/n x bytes through each uplink.
  const double expected = 2 * (n - 1) * 2e-6 + 2.0 * (n - 1) / n * 1e9 / 100e9;
  EXPECT_NEAR(t / expected, 1.0, kTol) << t;
}

TEST_P(ClosedForm, HierarchicalAllToAll) {
  // 2 nodes x 2; phase 1 intra-node (bytes for the peer's rail), phase 2 rail-aligned inter-node.
  const auto topo = star_cluster(2, 2, 100, 25);
  const double s = 1e8;
  auto o = opt();
  o.alltoall = "hierarchical";
  const double t = run_one(topo, alltoallv(iota_group(4), uniform_matrix(4, s)), o);
  // Phase 1: each device sends to its local peer 2 s (for the peer itself and the peer's rail
  // partner): 2 us + 2 s / 100 GB/s. Phase 2: each device sends 2 s to its rail partner over
  // PCIe (20 GB/s) + NIC: 2+3+3+2 us + 2 s / 20 GB/s.
  const double expected = (2e-6 + 2 * s / 100e9) + (10e-6 + 2 * s / 20e9);
  EXPECT_NEAR(t / expected, 1.0, kTol) << t;
}

TEST_P(ClosedForm, HostCopyUsesHostLink) {
  const auto topo = star_cluster(1, 2, 100);
  graph::StepGraph g;
  graph::Task t;
  t.name = "h2d";
  graph::CopyWork c;
  c.device = 1;
  c.bytes = Bytes(4e9);
  t.work = c;
  t.stream = graph::Stream::io;
  g.add(t);
  auto tl = engine::run_graphs(topo, {g}, opt());
  const double d = tl.steps[0].tasks[0].end - tl.steps[0].tasks[0].start;
  EXPECT_NEAR(d / (2e-6 + 4e9 / 20e9), 1.0, kTol) << d;
}

INSTANTIATE_TEST_SUITE_P(Modes, ClosedForm, ::testing::Values("exact", "fast"));

}  // namespace
}  // namespace moesim

namespace moesim {
namespace {

using namespace moesim::testing;

// LogP sender overhead and a shared backplane (validate's IPC model): on a P-rank star with
// message overhead o, port B_port and backplane B_bus, a uniform All-to-All of s bytes per pair
// takes (P-1)·o + max((P-1)·s/B_port, P(P-1)·s/B_bus) (hop latency 0), in both network modes.
class OverheadAndBackplane : public ::testing::TestWithParam<std::string> {};

double ipc_alltoall(int p, double s, double o, double port_gbps, std::optional<double> bus_gbps, const std::string& mode,
                    std::vector<hw::LinkRegime> regimes = {}) {
  hw::TopologyParams q;
  q.devices_per_node = p;
  q.device.name = "cpu_rank";
  q.device.memory_capacity = Bytes(1e9);
  q.host_link = link(1000, 0);
  hw::LinkSpec port = link(port_gbps, 0);
  port.message_overhead = Seconds(o);
  port.regimes = std::move(regimes);
  std::optional<hw::LinkSpec> bus;
  if (bus_gbps) bus = link(*bus_gbps, 0);
  q.intra = std::make_shared<hw::NvSwitchFabric>(hw::NvSwitchFabric::Params{port, 1, bus});
  const auto topo = hw::build_topology(q);
  graph::StepGraph g;
  g.add(collective(alltoallv(iota_group(p), uniform_matrix(p, s))));
  engine::EngineOptions opt;
  opt.network = mode;
  auto tl = engine::run_graphs(topo, {g}, opt);
  return tl.steps.at(0).tasks.at(0).end - tl.steps.at(0).tasks.at(0).start;
}

TEST_P(OverheadAndBackplane, OverheadIsPaidOncePerMessageOfTheSender) {
  const double t = ipc_alltoall(4, 1e6, 5e-6, 10, std::nullopt, GetParam());
  EXPECT_NEAR(t / (3 * 5e-6 + 3 * 1e6 / 10e9), 1.0, 1e-3) << t;
}

TEST_P(OverheadAndBackplane, BackplaneCapsAggregateThroughput) {
  // 4 ranks x 3 peers x 1 MB through a 6 GB/s backplane (ports 10 GB/s would allow 3e-4 s).
  const double t = ipc_alltoall(4, 1e6, 0, 10, 6.0, GetParam());
  EXPECT_NEAR(t / (12 * 1e6 / 6e9), 1.0, 1e-3) << t;
}

// Message-size regimes (eager below 4 KiB, rendezvous above; DRAM-rate copies from 1 MiB): each
// message pays its regime's o and moves at its efficiency x every hop's rate. (One simulation per
// test: the engine runs one SimGrid simulation per process.)
const std::vector<hw::LinkRegime> kRegimes = {{Bytes(0), Seconds(1e-6), 1.0}, {Bytes(4096), Seconds(8e-6), 1.0},
                                              {Bytes(1 << 20), Seconds(8e-6), 0.5}};

TEST_P(OverheadAndBackplane, RegimeOverheadReplacesTheLinkOverhead) {
  const double t = ipc_alltoall(4, 1024, 99, 10, std::nullopt, GetParam(), kRegimes);  // o = 99 s is ignored
  EXPECT_NEAR(t / (3 * 1e-6 + 3 * 1024 / 10e9), 1.0, 1e-3) << t;
}

TEST_P(OverheadAndBackplane, RendezvousRegimePaysItsOverhead) {
  const double t = ipc_alltoall(4, 65536, 0, 10, std::nullopt, GetParam(), kRegimes);
  EXPECT_NEAR(t / (3 * 8e-6 + 3 * 65536 / 10e9), 1.0, 1e-3) << t;
}

TEST_P(OverheadAndBackplane, RegimeEfficiencySlowsEveryHop) {
  const double t = ipc_alltoall(4, 4e6, 0, 10, 6.0, GetParam(), kRegimes);  // the backplane binds, at half rate
  EXPECT_NEAR(t / (3 * 8e-6 + 12 * 4e6 / (0.5 * 6e9)), 1.0, 1e-3) << t;
}

TEST_P(OverheadAndBackplane, WithoutBackplaneThePortsBind) {
  EXPECT_NEAR(ipc_alltoall(4, 1e6, 0, 10, std::nullopt, GetParam()) / (3 * 1e6 / 10e9), 1.0, 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Modes, OverheadAndBackplane, ::testing::Values("exact", "fast"));

}  // namespace
}  // namespace moesim

namespace moesim {
namespace {

using namespace moesim::testing;

// Broadcast of S bytes from device 0 to 2 nodes x 4 devices (NVLink 100 GB/s, NIC 25 GB/s per
// device, reached over 20 GB/s PCIe): the NCCL-style chain crosses the node boundary once
// (T ~ S / 20 GB/s, the slowest hop); the direct form
// pushes S to each of the 4 remote devices through the root's NIC path (T ~ 4 S / 20 GB/s).
double broadcast_time(const std::string& algorithm, graph::CollectiveKind kind) {
  const auto topo = star_cluster(2, 4, 100, 25);
  graph::CollectiveWork w;
  w.kind = kind;
  w.group = iota_group(8);
  w.root = 0;
  w.bytes = Bytes(1e9);
  w.algorithm = algorithm;
  graph::StepGraph g;
  g.add(collective(std::move(w)));
  engine::EngineOptions opt;
  opt.network = "exact";
  auto tl = engine::run_graphs(topo, {g}, opt);
  return tl.steps.at(0).tasks.at(0).end - tl.steps.at(0).tasks.at(0).start;
}

TEST(BroadcastAlgorithms, ChainBroadcastCrossesTheNodeBoundaryOnce) {
  EXPECT_NEAR(broadcast_time("ring", graph::CollectiveKind::broadcast) / (1e9 / 20e9), 1.0, 0.01);
}
TEST(BroadcastAlgorithms, DirectBroadcastLoadsTheRootNic) {
  EXPECT_NEAR(broadcast_time("direct", graph::CollectiveKind::broadcast) / (4e9 / 20e9), 1.0, 0.01);
}
TEST(BroadcastAlgorithms, ChainReduceCrossesTheNodeBoundaryOnce) {
  EXPECT_NEAR(broadcast_time("ring", graph::CollectiveKind::reduce) / (1e9 / 20e9), 1.0, 0.01);
}

}  // namespace
}  // namespace moesim
