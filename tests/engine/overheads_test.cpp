// Collective fixed costs (issue 18): per-message overhead counted per message, a kernel launch per
// phase, and the strided copies of the hierarchical (2DH) All-to-All, each against its closed form
// in the fast network mode (each run in its own child: one SimGrid engine per process).
#include <gtest/gtest.h>

#include <string>

#include "sim/engine/engine.hpp"
#include "tests/engine/fixtures.hpp"

namespace moesim {
namespace {

using namespace moesim::testing;

// One node of 4 devices on an NVSwitch star (100 GB/s, 1 us per hop), links with LogP overhead
// `o_us`, devices with `mem_gbps` of memory bandwidth (efficiency 1); or 2 nodes x 2 devices.
hw::Topology cluster(int nodes, int devices, double o_us, double mem_gbps) {
  hw::TopologyParams p;
  p.nodes = nodes;
  p.devices_per_node = devices;
  p.device.name = "test_gpu";
  p.device.memory_capacity = Bytes(80e9);
  p.device.memory_bandwidth = BytesPerSecond(mem_gbps * 1e9);
  p.device.memory_efficiency = 1.0;
  p.host_link = link(20, 2);
  hw::LinkSpec nvl = link(100, 1);
  nvl.message_overhead = Seconds(o_us * 1e-6);
  p.intra = std::make_shared<hw::NvSwitchFabric>(hw::NvSwitchFabric::Params{nvl, 1, std::nullopt});
  if (nodes > 1) {
    p.nics_per_node = devices;
    p.nic = link(25, 3);
    p.inter = std::make_shared<hw::FatTreeFabric>(hw::FatTreeFabric::Params{0, 1.0});
  }
  return hw::build_topology(p);
}

double time_of(const hw::Topology& topo, const graph::CollectiveWork& w) {
  return std::stod(engine::run_in_child([&] {
    graph::StepGraph g;
    g.add(collective(w));
    const auto tl = engine::run_graphs(topo, {g}, {});
    return std::to_string(tl.steps[0].end - tl.steps[0].start);
  }));
}

TEST(CollectiveOverheads, MessageOverheadCountsMessagesNotOnlyPeers) {
  // 4 ranks, 1 MB to each peer, o = 1 us on the first hop. One message per flow: each rank posts 3
  // messages (3 us); with 100 kB messages each flow is 10 messages: 30 us.
  const auto topo = cluster(1, 4, 1.0, 0);
  auto w = alltoallv(iota_group(4), uniform_matrix(4, 1e6));
  const double per_peer = time_of(topo, w);
  w.message_bytes = 1e5;
  const double per_token = time_of(topo, w);
  EXPECT_NEAR(per_token - per_peer, 27e-6, 1e-9);
  // Closed form of the per-peer case: 2 hops x 1 us + 3 x o + 3 MB over the 100 GB/s port.
  EXPECT_NEAR(per_peer, 2e-6 + 3e-6 + 3e6 / 100e9, 1e-9);
}

TEST(CollectiveOverheads, LaunchIsPaidOncePerPhase) {
  // Hierarchical = 2 phases: a 5 us launch adds 10 us; a ring all-reduce (1 phase of 2(n-1) steps)
  // adds it once, not per step.
  const auto topo = cluster(2, 2, 0.0, 0);
  auto w = alltoallv(iota_group(4), uniform_matrix(4, 1e6));
  w.algorithm = "hierarchical";
  const double plain = time_of(topo, w);
  w.launch = Seconds(5e-6);
  EXPECT_NEAR(time_of(topo, w) - plain, 10e-6, 1e-9);

  graph::CollectiveWork ar;
  ar.kind = graph::CollectiveKind::all_reduce;
  ar.group = iota_group(4);
  ar.bytes = Bytes(1e6);
  const double ring = time_of(topo, ar);
  ar.launch = Seconds(5e-6);
  EXPECT_NEAR(time_of(topo, ar) - ring, 5e-6, 1e-9);
}

TEST(CollectiveOverheads, HierarchicalPaysItsStridedCopies) {
  // 2 nodes x 2, 1 MB per pair. Phase 1: each rank regroups the 2 MB it sends to its local peer
  // (bytes bound for local rank 1 of both nodes); phase 2: the 2 MB it forwards to its rail peer.
  // Each copy reads and writes them: 2 x 2 MB / 1 TB/s = 4 us per phase, 8 us in all.
  const auto with_copies = cluster(2, 2, 0.0, 1000), without = cluster(2, 2, 0.0, 0);
  auto w = alltoallv(iota_group(4), uniform_matrix(4, 1e6));
  w.algorithm = "hierarchical";
  EXPECT_NEAR(time_of(with_copies, w) - time_of(without, w), 8e-6, 1e-9);
  // Direct All-to-All does no strided copy.
  w.algorithm = "direct";
  EXPECT_NEAR(time_of(with_copies, w), time_of(without, w), 1e-12);
}

}  // namespace
}  // namespace moesim
