#pragma once
// The cluster topology: devices, host CPUs (with DRAM and optional flash), NICs and switches as the
// vertices of a Boost.Graph, and directed link halves (full duplex = two independent edges) as its
// edges, each with the LinkSpec it was built from. Routes are computed by rules (below), never by
// SimGrid: the engine turns a route's edges into SimGrid links.
//
// Routing rules (docs/engine.md):
//   same node      : the intra-node fabric's path (NVSwitch star: a->sw->b; full mesh: a->b;
//                    groups: mesh inside a group, through the host CPU (PCIe) across groups;
//                    pcie_tree: a->pcie switch->[host->pcie switch]->b)
//   other node     : a -> NIC(a) -> inter-node fabric -> NIC(b) -> b (fat_tree: NIC->leaf->
//                    [spine->leaf]->NIC; rail: the source first forwards over the intra-node fabric
//                    to its local peer on b's rail (PXN), then NIC->rail switch->NIC)
//   host<->device  : the intra-node fabric's host path (direct PCIe edge, or through PCIe switches)
//   storage->device: storage -> host CPU -> host path.
#include <boost/graph/adjacency_list.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "hardware/spec.hpp"
#include "sim/core/config.hpp"
#include "sim/core/registry.hpp"

namespace moesim::hw {

using VertexId = int32_t;
using EdgeId = int32_t;

enum class VertexKind : uint8_t { device, host, nic, fabric_switch, storage };
std::string_view vertex_kind_name(VertexKind k);

struct TopoVertex {
  VertexKind kind = VertexKind::device;
  std::string name;   // "n0.gpu3", "n0.nvswitch", "leaf1", "spine"
  int32_t node = -1;  // owning node, -1 for cluster-level switches
  int32_t index = -1; // device id for devices, local index otherwise
};

// One direction of a physical link. capacity = bandwidth x lanes x efficiency (bytes/s).
struct TopoEdge {
  EdgeId id = 0;
  std::string name;   // "n0.gpu3->n0.nvswitch"
  LinkSpec link;      // what it was built from
  double lanes = 1;   // parallel links aggregated into this edge (NVLinks per GPU, leaf uplinks)
  double capacity() const { return link.bandwidth.value * lanes * link.efficiency; }
  double latency() const { return link.latency.value; }
};

using TopoGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS, TopoVertex, TopoEdge>;

struct Topology;

// Intra-node fabric: builds one node's device interconnect and host attachment, and routes inside
// a node. Implementations register under a kind (nvswitch, full_mesh, groups, pcie_tree).
struct IIntraNodeFabric {
  static constexpr const char* kInterface = "intra_node";
  virtual ~IIntraNodeFabric() = default;
  virtual void build(Topology& t, int32_t node) const = 0;
  // Edges from local device a to local device b (a != b) on `node`.
  virtual std::vector<EdgeId> path(const Topology& t, int32_t node, int32_t a, int32_t b) const = 0;
  // Edges between the node's host CPU and local device `local` (host->device when to_device).
  virtual std::vector<EdgeId> host_path(const Topology& t, int32_t node, int32_t local, bool to_device) const = 0;
  virtual std::string describe() const = 0;
};

// Inter-node fabric: builds switches above the NICs, and routes NIC to NIC. Kinds: fat_tree, rail.
struct IInterNodeFabric {
  static constexpr const char* kInterface = "inter_node";
  virtual ~IInterNodeFabric() = default;
  virtual void build(Topology& t) const = 0;
  virtual std::vector<EdgeId> path(const Topology& t, VertexId nic_a, VertexId nic_b) const = 0;
  // Rail-optimized fabrics forward a cross-node transfer first to the local peer on the
  // destination's rail (NCCL PXN); others send from the source device's own NIC.
  virtual bool forwards_to_rail_peer() const { return false; }
  virtual std::string describe() const = 0;
};

using IntraNodeRegistry = Registry<IIntraNodeFabric>;
using InterNodeRegistry = Registry<IInterNodeFabric>;

// Everything a topology is built from (tests build it directly).
struct TopologyParams {
  int32_t nodes = 1;
  int32_t devices_per_node = 1;
  DeviceSpec device;
  LinkSpec host_link;                    // device <-> host CPU (PCIe); also device <-> NIC
  std::optional<MemorySpec> host_memory; // DRAM of each node's host
  std::optional<StorageSpec> storage;    // flash attached to each node's host
  int32_t nics_per_node = 1;             // 1 = per node; devices_per_node = per device
  LinkSpec nic;                          // NIC port <-> first switch
  // GPU <-> NIC path (issue 18). gpudirect (GPUDirect RDMA, NVIDIA docs "GPUDirect RDMA"): each
  // device reaches its NIC peer-to-peer through the PCIe switch they share, over `nic_pcie`
  // (default: host_link), without crossing the host's link. Without it, NIC traffic is staged in
  // host memory: device -> host (the device's host link, shared with host copies) -> NIC.
  bool gpudirect = true;
  std::optional<LinkSpec> nic_pcie;
  std::shared_ptr<const IIntraNodeFabric> intra;
  std::shared_ptr<const IInterNodeFabric> inter;  // may be null when nodes == 1
};

struct Topology {
  TopologyParams params;
  TopoGraph graph;

  // Move-only: the graph's edge descriptors (edges_) point into `graph`, and a copy would leave
  // them pointing into the original (SimGrid then aborts with duplicate link names).
  Topology() = default;
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;
  Topology(Topology&&) = default;
  Topology& operator=(Topology&&) = default;

  // --- the published API (used by the workload builders) ---
  int32_t device_count() const { return params.nodes * params.devices_per_node; }
  int32_t node_count() const { return params.nodes; }
  int32_t devices_per_node() const { return params.devices_per_node; }
  int32_t node_of(int32_t device) const { return device / params.devices_per_node; }
  int32_t local_of(int32_t device) const { return device % params.devices_per_node; }
  int32_t device_id(int32_t node, int32_t local) const { return node * params.devices_per_node + local; }
  const DeviceSpec& device(int32_t device) const;
  const LinkSpec& host_link(int32_t device) const;          // device <-> host (PCIe) for copies
  std::optional<StorageSpec> storage(int32_t device) const; // flash attached to its host
  std::optional<MemorySpec> host_memory(int32_t device) const;
  std::string to_dot() const;                                // Graphviz
  std::string describe() const;                              // one line: "2 nodes x 8 a100 ..."

  // --- routes, as directed edge ids ---
  std::vector<EdgeId> route(int32_t src_device, int32_t dst_device) const;
  std::vector<EdgeId> host_route(int32_t device, bool host_to_device) const;
  std::vector<EdgeId> storage_route(int32_t device) const;  // empty when no storage
  double route_latency(const std::vector<EdgeId>& r) const;  // sum of hop latencies

  // --- graph access ---
  int32_t vertex_count() const { return static_cast<int32_t>(boost::num_vertices(graph)); }
  int32_t edge_count() const { return static_cast<int32_t>(edges_.size()); }
  const TopoVertex& vertex(VertexId v) const { return graph[static_cast<size_t>(v)]; }
  const TopoEdge& edge(EdgeId e) const { return graph[edges_[static_cast<size_t>(e)]]; }
  VertexId source(EdgeId e) const;
  VertexId target(EdgeId e) const;
  VertexId device_vertex(int32_t device) const { return device_vertices_.at(static_cast<size_t>(device)); }
  VertexId host_vertex(int32_t node) const { return host_vertices_.at(static_cast<size_t>(node)); }
  VertexId nic_vertex(int32_t node, int32_t nic) const;
  VertexId nic_of_device(int32_t device) const;                // the NIC a device sends through
  std::optional<VertexId> storage_vertex(int32_t node) const;
  EdgeId edge_between(VertexId from, VertexId to) const;       // throws std::logic_error if none
  bool has_message_overhead() const { return has_message_overhead_; }  // any link with o > 0

  // --- building (used by fabrics and build_topology) ---
  VertexId add_vertex(TopoVertex v);
  // Adds both directions; returns the id of from->to (the reverse is that id + 1).
  EdgeId add_link(VertexId a, VertexId b, const LinkSpec& link, double lanes = 1);
  EdgeId add_directed(VertexId from, VertexId to, const LinkSpec& link, double lanes = 1);
  // Inter-node trees: the switch above a vertex (NIC -> leaf, leaf -> spine), and the route
  // between two vertices of one tree (up to the lowest common switch, then down).
  void set_parent_switch(VertexId v, VertexId parent);
  std::vector<EdgeId> tree_path(VertexId a, VertexId b) const;
  std::vector<VertexId> device_vertices_, host_vertices_, nic_vertices_, storage_vertices_;
  std::vector<VertexId> parent_switch_;  // per vertex, -1 = none

 private:
  // Edges from a device to its NIC and back (GPUDirect: one PCIe-switch hop; else via the host).
  std::vector<EdgeId> to_nic(int32_t device, VertexId nic) const;
  std::vector<EdgeId> from_nic(VertexId nic, int32_t device) const;
  std::vector<TopoGraph::edge_descriptor> edges_;
  std::unordered_map<uint64_t, EdgeId> edge_index_;
  bool has_message_overhead_ = false;
};

// Builds the graph: per node a host CPU, its devices, the intra-node fabric, NICs, storage; then
// the inter-node fabric. Throws InfeasibleError on impossible params (e.g. a rail fabric with
// fewer NICs than devices per node).
Topology build_topology(TopologyParams p);

// Reads the [cluster] table of a scenario (schema in docs/engine.md).
// Largest cluster a scenario may describe (devices); beyond it read_topology refuses up front.
inline constexpr int64_t kMaxDevices = int64_t{1} << 17;
Topology read_topology(config::Table cluster);

}  // namespace moesim::hw
