// Topology: graph shape, routes of each fabric, the [cluster] reader, Graphviz output.
#include <gtest/gtest.h>

#include <algorithm>

#include "hardware/topology/fabrics.hpp"
#include "sim/core/config.hpp"
#include "tests/engine/fixtures.hpp"

namespace moesim {
namespace {

using namespace moesim::testing;

std::vector<std::string> names(const hw::Topology& t, const std::vector<hw::EdgeId>& r) {
  std::vector<std::string> n;
  for (auto e : r) n.push_back(t.edge(e).name);
  return n;
}

TEST(Topology, CountsAndNodes) {
  const auto t = star_cluster(2, 4);
  EXPECT_EQ(t.device_count(), 8);
  EXPECT_EQ(t.node_count(), 2);
  EXPECT_EQ(t.devices_per_node(), 4);
  EXPECT_EQ(t.node_of(5), 1);
  EXPECT_EQ(t.device(3).name, "test_gpu");
  EXPECT_EQ(t.host_link(0).name, "test_pcie");
  EXPECT_FALSE(t.storage(0).has_value());
  EXPECT_EQ(t.vertex(t.device_vertex(5)).name, "n1.dev1");
}

TEST(Topology, StarRoutes) {
  const auto t = star_cluster(2, 4);
  EXPECT_EQ(names(t, t.route(0, 1)), (std::vector<std::string>{"n0.dev0->n0.nvswitch", "n0.nvswitch->n0.dev1"}));
  EXPECT_EQ(names(t, t.route(1, 6)), (std::vector<std::string>{"n0.dev1->n0.nic1", "n0.nic1->leaf0",
                                                                  "leaf0->n1.nic2", "n1.nic2->n1.dev2"}));
  EXPECT_TRUE(t.route(3, 3).empty());
  EXPECT_NEAR(t.route_latency(t.route(0, 1)), 2e-6, 1e-12);
  EXPECT_EQ(names(t, t.host_route(2, true)), (std::vector<std::string>{"n0.host->n0.dev2"}));
}

TEST(Topology, FatTreeSpineCapacityFollowsOversubscription) {
  const auto t = star_cluster(4, 2, 100, 25, 2, 4.0);  // 2 nodes x 2 NICs per leaf, 4:1
  const auto r = t.route(0, 7);
  const auto n = names(t, r);
  ASSERT_EQ(n.size(), 6u);
  EXPECT_EQ(n[2], "leaf0->spine");
  EXPECT_EQ(n[3], "spine->leaf1");
  EXPECT_DOUBLE_EQ(t.edge(r[2]).capacity(), 4 * 25e9 / 4.0);
}

TEST(Topology, MeshGroupsCrossThroughTheHost) {
  hw::TopologyParams p;
  p.devices_per_node = 8;
  p.host_link = link(30, 1);
  p.intra = std::make_shared<hw::MeshFabric>(hw::MeshFabric::Params{link(30, 1), 1, 4});
  const auto t = hw::build_topology(p);
  EXPECT_EQ(t.route(0, 3).size(), 1u);
  EXPECT_EQ(names(t, t.route(0, 5)), (std::vector<std::string>{"n0.dev0->n0.host", "n0.host->n0.dev5"}));
  EXPECT_THROW(t.edge_between(t.device_vertex(0), t.device_vertex(5)), std::logic_error);
}

TEST(Topology, PcieTreeSharesSwitchUplinks) {
  hw::TopologyParams p;
  p.devices_per_node = 4;
  p.host_link = link(16, 1);
  p.intra = std::make_shared<hw::PcieTreeFabric>(hw::PcieTreeFabric::Params{2});
  const auto t = hw::build_topology(p);
  EXPECT_EQ(names(t, t.route(0, 1)), (std::vector<std::string>{"n0.dev0->n0.pcie0", "n0.pcie0->n0.dev1"}));
  EXPECT_EQ(t.route(0, 2).size(), 4u);
  EXPECT_EQ(names(t, t.host_route(3, false)), (std::vector<std::string>{"n0.dev3->n0.pcie1", "n0.pcie1->n0.host"}));
}

TEST(Topology, RailNeedsANicPerDevice) {
  auto p = star_cluster(2, 4, 100, 25, 0, 1.0, true).params;
  p.nics_per_node = 2;
  EXPECT_THROW(hw::build_topology(p), InfeasibleError);
}

TEST(Topology, DotListsEveryVertex) {
  const auto t = star_cluster(2, 2);
  const auto dot = t.to_dot();
  EXPECT_NE(dot.find("digraph"), std::string::npos);
  EXPECT_NE(dot.find("n1.dev1"), std::string::npos);
  EXPECT_NE(dot.find("leaf0"), std::string::npos);
  EXPECT_NE(dot.find("dir=both"), std::string::npos);
}

const char* kCluster = R"(
[cluster]
nodes = 2
devices_per_node = 8
device = { preset = "a100_80gb" }
[cluster.host]
link = { preset = "pcie4_x16" }
[cluster.intra_node]
kind = "nvswitch"
link = { preset = "nvlink4" }
links = 12
[cluster.inter_node]
kind = "fat_tree"
nics_per_node = 8
nic = { bandwidth = "25GBps", latency = "2us" }
)";

TEST(Topology, ReadsClusterTable) {
  auto doc = config::Document::parse(kCluster, "cluster.toml");
  const auto t = hw::read_topology(config::Table::root(doc).table("cluster"));
  EXPECT_EQ(t.device_count(), 16);
  EXPECT_EQ(t.device(0).name, "a100_80gb");
  const auto r = t.route(0, 1);
  EXPECT_DOUBLE_EQ(t.edge(r[0]).capacity(), 12 * 25e9 * 0.9);  // 12 NVLink4 lanes at 90%
  EXPECT_EQ(t.route(0, 9).size(), 4u);
}

TEST(Topology, UnknownKeysAndKindsAreErrors) {
  std::string bad = kCluster;
  bad.replace(bad.find("nvswitch"), 8, "nvswich");
  auto doc = config::Document::parse(bad, "cluster.toml");
  try {
    hw::read_topology(config::Table::root(doc).table("cluster"));
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("nvswitch"), std::string::npos) << e.what();
  }
  std::string extra = std::string(kCluster) + "oversubscriptio = 2.0\n";
  auto doc2 = config::Document::parse(extra, "cluster.toml");
  EXPECT_THROW(hw::read_topology(config::Table::root(doc2).table("cluster")), ConfigError);
}

TEST(Topology, BackplaneIsCrossedByEveryPairAndItsKeysAreChecked) {
  std::string s = kCluster;
  s.replace(s.find("links = 12\n"), 11, "links = 12\nbackplane = { bandwidth = \"100GBps\", latency = \"0us\" }\n");
  auto doc = config::Document::parse(s, "cluster.toml");
  const auto t = hw::read_topology(config::Table::root(doc).table("cluster"));
  const auto r = t.route(0, 1);  // dev0 -> sw -> backplane -> sw -> dev1
  ASSERT_EQ(r.size(), 4u);
  EXPECT_DOUBLE_EQ(t.edge(r[1]).capacity(), 100e9);
  EXPECT_DOUBLE_EQ(t.edge(r[2]).capacity(), 100e9);
  std::string bad = s;
  bad.replace(bad.find("latency = \"0us\" }"), 17, "latency = \"0us\", efficiancy = 0.9 }");
  auto doc2 = config::Document::parse(bad, "cluster.toml");
  try {
    hw::read_topology(config::Table::root(doc2).table("cluster"));
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("cluster.toml:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("backplane.efficiancy: unknown key; did you mean 'efficiency'"), std::string::npos)
        << e.what();
  }
}

TEST(Topology, SeveralNodesNeedAnInterNodeFabric) {
  std::string s = kCluster;
  s = s.substr(0, s.find("[cluster.inter_node]"));
  auto doc = config::Document::parse(s, "cluster.toml");
  EXPECT_THROW(hw::read_topology(config::Table::root(doc).table("cluster")), ConfigError);
}

}  // namespace
}  // namespace moesim

namespace moesim {
namespace {

// Issue 18: GPUDirect RDMA (GPU -> PCIe switch -> NIC) vs NIC traffic staged in host memory.
hw::Topology nic_cluster(bool gpudirect) {
  hw::TopologyParams p;
  p.nodes = 2;
  p.devices_per_node = 2;
  p.device.name = "test_gpu";
  p.host_link = testing::link(16, 2);       // a slow host link (PCIe 3 class)
  p.host_link.name = "host_pcie";
  p.nic_pcie = testing::link(64, 1);        // the PCIe Gen5 switch the GPU shares with its NIC
  p.nic_pcie->name = "switch_pcie";
  p.gpudirect = gpudirect;
  p.intra = std::make_shared<hw::NvSwitchFabric>(hw::NvSwitchFabric::Params{testing::link(100, 1), 1, std::nullopt});
  p.nics_per_node = 2;
  p.nic = testing::link(50, 1);
  p.inter = std::make_shared<hw::FatTreeFabric>(hw::FatTreeFabric::Params{0, 1.0});
  return hw::build_topology(p);
}

TEST(Topology, GpuDirectKeepsNicTrafficOffTheHostLink) {
  const auto direct = nic_cluster(true);
  const auto r = direct.route(0, 2);
  EXPECT_EQ(names(direct, r), (std::vector<std::string>{"n0.dev0->n0.nic0", "n0.nic0->leaf0", "leaf0->n1.nic0",
                                                        "n1.nic0->n1.dev0"}));
  double bottleneck = 1e30;
  for (auto e : r) bottleneck = std::min(bottleneck, direct.edge(e).capacity());
  EXPECT_DOUBLE_EQ(bottleneck, 50e9);  // the NIC, not the 16 GB/s host link
  EXPECT_EQ(direct.edge(r.front()).link.name, "switch_pcie");

  const auto staged = nic_cluster(false);
  const auto s = staged.route(0, 2);
  EXPECT_EQ(names(staged, s), (std::vector<std::string>{"n0.dev0->n0.host", "n0.host->n0.nic0", "n0.nic0->leaf0",
                                                        "leaf0->n1.nic0", "n1.nic0->n1.host", "n1.host->n1.dev0"}));
  // The first hop is the device's host link, the one host copies use.
  EXPECT_EQ(s.front(), staged.host_route(0, false).front());
  bottleneck = 1e30;
  for (auto e : s) bottleneck = std::min(bottleneck, staged.edge(e).capacity());
  EXPECT_DOUBLE_EQ(bottleneck, 16e9);
}

}  // namespace
}  // namespace moesim
