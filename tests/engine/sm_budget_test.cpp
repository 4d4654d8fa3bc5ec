// SM budget of communication kernels (docs/engine.md "SM budget"): a collective on comm_sms SMs
// moves at most comm_sms x sm_copy_bandwidth per device, counting what the device sends and what
// it receives, and a node_dedup forwarder only what it passes on (plus what ends there). Closed
// forms in the fast and the exact network modes (each run in its own child process).
#include <gtest/gtest.h>

#include <string>

#include "sim/core/errors.hpp"
#include "sim/engine/engine.hpp"
#include "tests/engine/fixtures.hpp"

namespace moesim {
namespace {

using namespace moesim::testing;

// nodes x devices (NVSwitch 100 GB/s, 1 us per hop; NICs 25 GB/s, 3 us), devices with
// `sm_gbps` GB/s per SM of copy throughput and `sms` SMs (0 = not stated).
hw::Topology cluster(int nodes, int devices, double sm_gbps, int sms = 0) {
  hw::TopologyParams p;
  p.nodes = nodes;
  p.devices_per_node = devices;
  p.device.name = "test_gpu";
  p.device.memory_capacity = Bytes(80e9);
  p.device.sm_copy_bandwidth = BytesPerSecond(sm_gbps * 1e9);
  p.device.sm_count = sms;
  p.host_link = link(20, 2);
  p.intra = std::make_shared<hw::NvSwitchFabric>(hw::NvSwitchFabric::Params{link(100, 1), 1, std::nullopt});
  if (nodes > 1) {
    p.nics_per_node = devices;
    p.nic = link(25, 3);
    p.inter = std::make_shared<hw::FatTreeFabric>(hw::FatTreeFabric::Params{0, 1.0});
  }
  return hw::build_topology(p);
}

double time_of(const hw::Topology& topo, const graph::CollectiveWork& w, const std::string& network = "fast") {
  return std::stod(engine::run_in_child([&] {
    graph::StepGraph g;
    g.add(collective(w));
    engine::EngineOptions o;
    o.network = network;
    const auto tl = engine::run_graphs(topo, {g}, o);
    return std::to_string(tl.steps[0].end - tl.steps[0].start);
  }));
}

class SmBudget : public ::testing::TestWithParam<std::string> {};

TEST_P(SmBudget, BoundsARankBySendAndReceiveBytes) {
  // 4 ranks, 1 MB per pair: each device sends 3 MB and receives 3 MB. Links alone: 2 hops x 1 us
  // + 3 MB / 100 GB/s = 32 us. On 2 SMs of 10 GB/s: 6 MB / 20 GB/s = 300 us (+ 2 us).
  const auto topo = cluster(1, 4, 10);
  auto w = alltoallv(iota_group(4), uniform_matrix(4, 1e6));
  EXPECT_NEAR(time_of(topo, w, GetParam()), 32e-6, 1e-9);
  w.comm_sms = 2;
  EXPECT_NEAR(time_of(topo, w, GetParam()), 302e-6, 1e-8);
  // Enough SMs: the links bound it again (6 MB / 1 TB/s = 6 us < 30 us).
  w.comm_sms = 100;
  EXPECT_NEAR(time_of(topo, w, GetParam()), 32e-6, 1e-9);
}

TEST_P(SmBudget, OffWithoutARate) {
  // A device without sm_copy_bandwidth: comm_sms changes nothing.
  const auto topo = cluster(1, 4, 0);
  auto w = alltoallv(iota_group(4), uniform_matrix(4, 1e6));
  w.comm_sms = 2;
  EXPECT_NEAR(time_of(topo, w, GetParam()), 32e-6, 1e-9);
}

INSTANTIATE_TEST_SUITE_P(Modes, SmBudget, ::testing::Values("fast", "exact"));

TEST(SmBudgetNodeDedup, ForwarderPaysWhatItPassesOnNotWhatItReceives) {
  // 2 nodes x 2. Rank 0 sends 1 MB to rank 3 only: over RDMA to its same-local-rank peer 2 (the
  // forwarder), which stores it to 3 over NVLink. SM bytes: 0 sends 1 MB, 2 forwards 1 MB (its
  // RDMA reception is not a separate pass: nothing ends there), 3 receives 1 MB. On 1 SM of
  // 1 GB/s: 1 ms, not the 2 ms a forwarder charged for receiving and sending would take.
  const auto topo = cluster(2, 2, 1);
  std::vector<double> m(16, 0.0);
  m[0 * 4 + 3] = 1e6;
  auto w = alltoallv(iota_group(4), m);
  w.algorithm = "node_dedup";
  w.comm_sms = 1;
  const double t = time_of(topo, w);
  EXPECT_GT(t, 1e-3);
  EXPECT_LT(t, 1e-3 + 20e-6);  // + route latency
  // Rank 0 sends 1 MB to 2 and 3: the forwarder 2 keeps 1 MB (a receive pass) and forwards 1 MB.
  m[0 * 4 + 2] = 1e6;
  auto both = alltoallv(iota_group(4), m);
  both.algorithm = "node_dedup";
  both.node_bytes = {0, 1e6, 0, 0, 0, 0, 0, 0};  // rank 0 -> node 1 once (the same token)
  both.comm_sms = 1;
  const double t2 = time_of(topo, both);
  EXPECT_GT(t2, 2e-3);
  EXPECT_LT(t2, 2e-3 + 20e-6);
  // The combine mirrors the dispatch (transposed matrix, flows reversed): the same SM bytes.
  std::vector<double> back(16, 0.0);
  back[3 * 4 + 0] = 1e6;
  back[2 * 4 + 0] = 1e6;
  auto combine = alltoallv(iota_group(4), back);
  combine.algorithm = "node_dedup";
  combine.node_bytes = both.node_bytes;
  combine.combine = true;
  combine.comm_sms = 1;
  EXPECT_NEAR(time_of(topo, combine), t2, 1e-9);
}

TEST(SmBudgetCompute, ComputeSlowsWhileACollectiveHoldsSms) {
  // Devices of 4 SMs (no copy rate: the collective is link-bound, 32 us). A 100 us compute task
  // on device 0 beside a collective holding 2 of its SMs runs at half rate for 32 us (16 us of
  // work), then at full rate: it ends at 32 + 84 = 116 us. Without comm_sms: at 100 us.
  const auto topo = cluster(1, 4, 0, 4);
  auto end_of_compute = [&](int32_t sms) {
    return std::stod(engine::run_in_child([&] {
      auto w = alltoallv(iota_group(4), uniform_matrix(4, 1e6));
      w.comm_sms = sms;
      graph::StepGraph g;
      g.add(collective(w));
      g.add(compute(0, 100e-6));
      const auto tl = engine::run_graphs(topo, {g}, {});
      return std::to_string(tl.steps[0].tasks[1].end - tl.steps[0].start);
    }));
  };
  EXPECT_NEAR(end_of_compute(0), 100e-6, 1e-9);
  EXPECT_NEAR(end_of_compute(2), 116e-6, 1e-9);
  // All SMs held: the compute waits for the collective, then runs its 100 us.
  EXPECT_NEAR(end_of_compute(4), 132e-6, 1e-9);
}

TEST(SmBudgetNodeDedup, MoreSmsThanTheDeviceHasIsInfeasible) {
  const auto topo = cluster(1, 4, 10, 8);
  auto w = alltoallv(iota_group(4), uniform_matrix(4, 1e6));
  w.comm_sms = 9;
  try {
    time_of(topo, w);
    ADD_FAILURE() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("comm_sms = 9"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace moesim
