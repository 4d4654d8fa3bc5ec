// All-to-All algorithms and the fast network mode against the exact one under skewed routing.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "sim/core/errors.hpp"
#include "sim/core/rng.hpp"
#include "sim/engine/engine.hpp"
#include "tests/engine/fixtures.hpp"

namespace moesim {
namespace {

using namespace moesim::testing;

// Skewed dispatch matrix: expert popularity from a gamma(0.5) draw, so a few destinations get
// most of the bytes (hot experts), plus +-50% noise per pair.
std::vector<double> skewed_matrix(int p, double mean_bytes, uint64_t seed) {
  Rng rng(seed, "skew");
  std::vector<double> pop(static_cast<size_t>(p));
  double total = 0;
  for (auto& x : pop) total += (x = rng.gamma(0.5) + 1e-3);
  std::vector<double> m(static_cast<size_t>(p * p), 0.0);
  for (int i = 0; i < p; ++i)
    for (int j = 0; j < p; ++j)
      if (i != j) m[static_cast<size_t>(i * p + j)] = mean_bytes * p * pop[static_cast<size_t>(j)] / total * rng.uniform(0.5, 1.5);
  return m;
}

double a2a_time(const hw::Topology& topo, std::vector<double> m, engine::EngineOptions o) {
  graph::StepGraph g;
  g.add(collective(alltoallv(iota_group(topo.device_count()), std::move(m))));
  const auto tl = engine::run_graphs(topo, {g}, o);
  return tl.steps[0].end - tl.steps[0].start;
}

// Fast vs exact on one skewed 16-rank All-to-All over 2 nodes: each mode runs in its own child.
TEST(FastMode, StaysCloseToExactUnderSkew) {
  const auto topo = star_cluster(2, 8, 100, 25);
  const auto m = skewed_matrix(16, 4e6, 7);
  auto time_in = [&](const std::string& mode) {
    return std::stod(engine::run_in_child([&] {
      engine::EngineOptions o;
      o.network = mode;
      return std::to_string(a2a_time(topo, m, o));
    }));
  };
  const double exact = time_in("exact"), fast = time_in("fast");
  // The fast mode ends when the bottleneck link has carried its load (a lower bound of the exact
  // per-flow sharing) after the largest route latency (an upper bound): close either way.
  EXPECT_LT(std::abs(exact - fast) / exact, 0.10) << "exact " << exact << " fast " << fast;
  EXPECT_LE(fast, exact * (1 + 1e-3));
  RecordProperty("exact_s", std::to_string(exact));
  RecordProperty("fast_s", std::to_string(fast));
}

TEST(Algorithms, NodeDedupSendsEachTokenToANodeOnce) {
  // 2 nodes x 4. Device 0 sends 1e8 bytes to each device of node 1, all the SAME tokens
  // (node_bytes says 1e8 cross once). Direct: 4e8 through device 0's NIC path; node_dedup: 1e8
  // to its peer (node 1, local 0), which fans out 3e8 over NVLink.
  const auto topo = star_cluster(2, 4, 100, 25);
  std::vector<double> m(64, 0.0);
  for (int j = 4; j < 8; ++j) m[static_cast<size_t>(j)] = 1e8;
  auto w = alltoallv(iota_group(8), m);
  w.node_bytes.assign(8 * 2, 0.0);
  w.node_bytes[0 * 2 + 1] = 1e8;
  w.algorithm = "node_dedup";
  graph::StepGraph g;
  g.add(collective(w));
  const auto tl = engine::run_graphs(topo, {g}, {});
  double nic_bytes = 0, fanout = 0;
  for (const auto& l : tl.links) {
    if (l.link == "n0.dev0->n0.nic0") nic_bytes = l.bytes;
    if (l.link == "n1.dev0->n1.nvswitch") fanout = l.bytes;
  }
  EXPECT_DOUBLE_EQ(nic_bytes, 1e8);
  EXPECT_DOUBLE_EQ(fanout, 3e8);
  // Pipelined: bounded by the PCIe hop to the NIC (1e8 / 20 GB/s) and the fan-out (3e8 / 100 GB/s).
  const double t = tl.steps[0].end;
  EXPECT_NEAR(t / (10e-6 + 1e8 / 20e9), 1.0, 1e-3);
}

TEST(Algorithms, HierarchicalNeedsEvenNodes) {
  const auto topo = star_cluster(2, 4);
  auto w = alltoallv({0, 1, 2, 4}, uniform_matrix(4, 1e6));  // 3 ranks on node 0, 1 on node 1
  w.algorithm = "hierarchical";
  graph::StepGraph g;
  g.add(collective(w));
  EXPECT_THROW(engine::run_graphs(topo, {g}, {}), InfeasibleError);
}

TEST(Algorithms, RailForwardsOverNvlinkFirst) {
  // Rail fabric: device 0 (node 0, local 0) -> device 5 (node 1, local 1) goes 0 -> nvswitch ->
  // 1 -> nic1 -> rail1 -> nic1 -> 5.
  const auto topo = star_cluster(2, 4, 100, 25, 0, 1.0, true);
  std::vector<double> m(64, 0.0);
  m[5] = 1e8;
  graph::StepGraph g;
  g.add(collective(alltoallv(iota_group(8), m)));
  const auto tl = engine::run_graphs(topo, {g}, {});
  std::set<std::string> used;
  for (const auto& l : tl.links) used.insert(l.link);
  EXPECT_TRUE(used.count("n0.dev0->n0.nvswitch"));
  EXPECT_TRUE(used.count("n0.dev1->n0.nic1"));
  EXPECT_TRUE(used.count("n0.nic1->rail1"));
  EXPECT_FALSE(used.count("n0.dev0->n0.nic0"));
}

TEST(Algorithms, OversubscribedSpineSlowsCrossLeafTraffic) {
  // 4 nodes x 1 device, 2 nodes per leaf, oversubscription 2: each leaf uplink carries 25 GB/s.
  // Nodes 0,1 (leaf 0) each send 1e9 to nodes 2,3 (leaf 1): 2e9 over one 25 GB/s uplink.
  const auto topo = star_cluster(4, 1, 100, 25, 2, 2.0);
  std::vector<double> m(16, 0.0);
  m[0 * 4 + 2] = 1e9;
  m[1 * 4 + 3] = 1e9;
  graph::StepGraph g;
  g.add(collective(alltoallv(iota_group(4), m)));
  const auto tl = engine::run_graphs(topo, {g}, {});
  const double lat = 2e-6 + 4 * 3e-6 + 2e-6;  // PCIe, nic->leaf->spine->leaf->nic, PCIe
  EXPECT_NEAR(tl.steps[0].end / (lat + 2e9 / 25e9), 1.0, 1e-3);
}

}  // namespace
}  // namespace moesim
