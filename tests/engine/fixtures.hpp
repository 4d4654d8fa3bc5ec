#pragma once
// Small topologies and graphs for engine tests, built from Params directly.
#include <memory>

#include "hardware/topology/fabrics.hpp"
#include "sim/graph/step_graph.hpp"

namespace moesim::testing {

inline hw::LinkSpec link(double gbps, double latency_us, double efficiency = 1.0) {
  hw::LinkSpec l;
  l.name = "test_link";
  l.bandwidth = BytesPerSecond(gbps * 1e9);
  l.latency = Seconds(latency_us * 1e-6);
  l.efficiency = efficiency;
  return l;
}

// nodes x devices on an NVSwitch star (one lane of `nvl_gbps` GB/s, 1 us), PCIe host links
// (20 GB/s, 2 us), one NIC per device (`nic_gbps`, 3 us) on a fat-tree.
inline hw::Topology star_cluster(int nodes, int devices, double nvl_gbps = 100, double nic_gbps = 25,
                                 int nodes_per_leaf = 0, double oversubscription = 1.0, bool rail = false) {
  hw::TopologyParams p;
  p.nodes = nodes;
  p.devices_per_node = devices;
  p.device.name = "test_gpu";
  p.device.memory_capacity = Bytes(80e9);
  p.host_link = link(20, 2);
  p.host_link.name = "test_pcie";
  p.intra = std::make_shared<hw::NvSwitchFabric>(hw::NvSwitchFabric::Params{link(nvl_gbps, 1), 1, std::nullopt});
  if (nodes > 1) {
    p.nics_per_node = devices;
    p.nic = link(nic_gbps, 3);
    p.nic.name = "test_nic";
    if (rail) p.inter = std::make_shared<hw::RailFabric>();
    else p.inter = std::make_shared<hw::FatTreeFabric>(hw::FatTreeFabric::Params{nodes_per_leaf, oversubscription});
  }
  return hw::build_topology(p);
}

inline graph::Task compute(graph::DeviceId d, double seconds, std::vector<graph::TaskId> deps = {},
                           graph::Stream s = graph::Stream::compute) {
  graph::Task t;
  t.name = "compute";
  t.stream = s;
  graph::ComputeWork w;
  w.device = d;
  w.duration = Seconds(seconds);
  t.work = w;
  t.deps = std::move(deps);
  return t;
}

inline graph::Task collective(graph::CollectiveWork w, std::vector<graph::TaskId> deps = {}) {
  graph::Task t;
  t.name = std::string(graph::collective_name(w.kind));
  t.stream = graph::Stream::comm;
  t.work = std::move(w);
  t.deps = std::move(deps);
  return t;
}

inline graph::CollectiveWork alltoallv(std::vector<graph::DeviceId> group, std::vector<double> matrix) {
  graph::CollectiveWork w;
  w.kind = graph::CollectiveKind::alltoallv;
  w.group = std::move(group);
  w.matrix = std::move(matrix);
  return w;
}

inline std::vector<graph::DeviceId> iota_group(int n, int first = 0) {
  std::vector<graph::DeviceId> g;
  for (int i = 0; i < n; ++i) g.push_back(first + i);
  return g;
}

inline std::vector<double> uniform_matrix(int n, double bytes) {
  std::vector<double> m(static_cast<size_t>(n * n), bytes);
  for (int i = 0; i < n; ++i) m[static_cast<size_t>(i * n + i)] = 0;
  return m;
}

}  // namespace moesim::testing
