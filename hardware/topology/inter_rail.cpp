// Rail-optimized fabric (DGX SuperPOD style): NIC r of every node on rail switch r. Cross-rail
// traffic is forwarded inside the source node to the peer on the destination's rail first (NCCL
// PXN), so a rail carries only same-rail traffic [NVIDIA DGX SuperPOD reference architecture].
#include <fmt/format.h>

#include "hardware/topology/fabrics.hpp"

namespace moesim::hw {

void RailFabric::build(Topology& t) const {
  if (t.params.nics_per_node != t.devices_per_node())
    throw InfeasibleError(fmt::format("inter_node: a rail fabric needs one NIC per device (nics_per_node = {}, "
                                      "devices_per_node = {})", t.params.nics_per_node, t.devices_per_node()));
  for (int32_t r = 0; r < t.params.nics_per_node; ++r) {
    const VertexId rail = t.add_vertex({VertexKind::fabric_switch, fmt::format("rail{}", r), -1, r});
    for (int32_t n = 0; n < t.node_count(); ++n) {
      t.add_link(t.nic_vertex(n, r), rail, t.params.nic);
      t.set_parent_switch(t.nic_vertex(n, r), rail);
    }
  }
}

std::vector<EdgeId> RailFabric::path(const Topology& t, VertexId nic_a, VertexId nic_b) const {
  return t.tree_path(nic_a, nic_b);
}

std::string RailFabric::describe() const { return "rail-optimized (PXN forwarding)"; }

MOESIM_REGISTER(InterNodeRegistry, "rail", "one switch per rail (NIC index), cross-rail forwarded over NVLink (PXN)",
                [](const config::Table& t) -> std::unique_ptr<IInterNodeFabric> {
                  t.finish();
                  return std::make_unique<RailFabric>();
                });

}  // namespace moesim::hw
