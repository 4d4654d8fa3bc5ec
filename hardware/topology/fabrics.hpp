#pragma once
#include <optional>
// The fabric implementations with their Params (tests build them directly; TOML builds them
// through the registries in topology.hpp).
#include "hardware/topology/topology.hpp"

namespace moesim::hw {

// NVSwitch star: every device has `lanes` links (NVLinks) to one switch per node.
// Time of a transfer a->b: latency(a->sw) + latency(sw->b) + bytes / (bw x lanes x eff).
// An optional backplane caps the switch's aggregate throughput: every device-to-device route also
// crosses sw->backplane->sw, so all the node's traffic shares one backplane capacity (a shared
// memory bus for processes on one CPU, a PCIe root complex; NVSwitch itself is non-blocking).
struct NvSwitchFabric final : IIntraNodeFabric {
  struct Params {
    LinkSpec link;
    double lanes = 0;                  // 0 = link.links_per_device
    std::optional<LinkSpec> backplane; // none = non-blocking switch
  };
  explicit NvSwitchFabric(Params p) : p_(std::move(p)) {}
  void build(Topology& t, int32_t node) const override;
  std::vector<EdgeId> path(const Topology& t, int32_t node, int32_t a, int32_t b) const override;
  std::vector<EdgeId> host_path(const Topology& t, int32_t node, int32_t local, bool to_device) const override;
  std::string describe() const override;
  Params p_;
};

// Full mesh (NVLink bridges, HCCS): a direct link of `lanes` links between every pair of devices
// of a group; groups of `group_size` devices (0 = whole node) talk through the host CPU (PCIe),
// as the two 4-NPU HCCS groups of an Atlas 800 server do.
struct MeshFabric final : IIntraNodeFabric {
  struct Params { LinkSpec link; double lanes = 1; int32_t group_size = 0; };
  explicit MeshFabric(Params p) : p_(std::move(p)) {}
  void build(Topology& t, int32_t node) const override;
  std::vector<EdgeId> path(const Topology& t, int32_t node, int32_t a, int32_t b) const override;
  std::vector<EdgeId> host_path(const Topology& t, int32_t node, int32_t local, bool to_device) const override;
  std::string describe() const override;
  Params p_;
};

// PCIe tree: `devices_per_switch` devices under each PCIe switch, switches under the host CPU;
// all edges are the host link kind (the switch uplink is shared by its devices).
struct PcieTreeFabric final : IIntraNodeFabric {
  struct Params { int32_t devices_per_switch = 2; };
  explicit PcieTreeFabric(Params p) : p_(p) {}
  void build(Topology& t, int32_t node) const override;
  std::vector<EdgeId> path(const Topology& t, int32_t node, int32_t a, int32_t b) const override;
  std::vector<EdgeId> host_path(const Topology& t, int32_t node, int32_t local, bool to_device) const override;
  std::string describe() const override;
  Params p_;
};

// Two-level fat-tree: `nodes_per_leaf` nodes' NICs under each leaf switch; all leaves under one
// spine, each leaf's uplink carrying (NIC bandwidth x NICs under the leaf) / oversubscription.
// The spine layer is one aggregate vertex: perfect ECMP spreading over the spine switches.
struct FatTreeFabric final : IInterNodeFabric {
  struct Params { int32_t nodes_per_leaf = 0; double oversubscription = 1.0; };  // 0 = all nodes; links: the NIC kind
  explicit FatTreeFabric(Params p) : p_(std::move(p)) {}
  void build(Topology& t) const override;
  std::vector<EdgeId> path(const Topology& t, VertexId nic_a, VertexId nic_b) const override;
  std::string describe() const override;
  Params p_;
};

// Rail-optimized: NIC r of every node connects to rail switch r (non-blocking). A cross-node
// transfer from a to b first moves over the intra-node fabric to a's local peer with b's local
// index (NCCL PXN), then rides rail local(b).
struct RailFabric final : IInterNodeFabric {
  struct Params {};
  explicit RailFabric(Params p = {}) : p_(p) {}
  void build(Topology& t) const override;
  std::vector<EdgeId> path(const Topology& t, VertexId nic_a, VertexId nic_b) const override;
  bool forwards_to_rail_peer() const override { return true; }
  std::string describe() const override;
  Params p_;
};

}  // namespace moesim::hw
