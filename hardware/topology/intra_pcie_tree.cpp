// PCIe tree (commodity servers without NVLink): `devices_per_switch` devices under each PCIe
// switch, the switches under the host CPU's root complex. Every edge is the host link kind, so
// a->b under one switch = 2 hops; across switches a->sw->host->sw'->b, sharing the uplinks.
#include <fmt/format.h>

#include "hardware/topology/fabrics.hpp"

namespace moesim::hw {
namespace {

VertexId switch_above(const Topology& t, VertexId device) {
  for (auto [it, end] = boost::out_edges(static_cast<size_t>(device), t.graph); it != end; ++it) {
    const auto tgt = static_cast<VertexId>(boost::target(*it, t.graph));
    if (t.vertex(tgt).kind == VertexKind::fabric_switch) return tgt;
  }
  throw std::logic_error("pcie_tree: device without a switch");
}

}  // namespace

void PcieTreeFabric::build(Topology& t, int32_t node) const {
  const int32_t per = p_.devices_per_switch;
  if (per < 1 || t.devices_per_node() % per != 0)
    throw InfeasibleError(fmt::format("intra_node: devices_per_switch = {} must divide devices_per_node = {}", per,
                                      t.devices_per_node()));
  for (int32_t s = 0; s < t.devices_per_node() / per; ++s) {
    const VertexId sw = t.add_vertex({VertexKind::fabric_switch, fmt::format("n{}.pcie{}", node, s), node, s});
    t.add_link(sw, t.host_vertex(node), t.params.host_link);
    for (int32_t l = s * per; l < (s + 1) * per; ++l) t.add_link(t.device_vertex(t.device_id(node, l)), sw, t.params.host_link);
  }
}

std::vector<EdgeId> PcieTreeFabric::path(const Topology& t, int32_t node, int32_t a, int32_t b) const {
  const VertexId va = t.device_vertex(t.device_id(node, a)), vb = t.device_vertex(t.device_id(node, b));
  const VertexId sa = switch_above(t, va), sb = switch_above(t, vb);
  if (sa == sb) return {t.edge_between(va, sa), t.edge_between(sa, vb)};
  const VertexId h = t.host_vertex(node);
  return {t.edge_between(va, sa), t.edge_between(sa, h), t.edge_between(h, sb), t.edge_between(sb, vb)};
}

std::vector<EdgeId> PcieTreeFabric::host_path(const Topology& t, int32_t node, int32_t local, bool to_device) const {
  const VertexId h = t.host_vertex(node), d = t.device_vertex(t.device_id(node, local));
  const VertexId s = switch_above(t, d);
  if (to_device) return {t.edge_between(h, s), t.edge_between(s, d)};
  return {t.edge_between(d, s), t.edge_between(s, h)};
}

std::string PcieTreeFabric::describe() const { return fmt::format("PCIe tree, {} devices per switch", p_.devices_per_switch); }

MOESIM_REGISTER(IntraNodeRegistry, "pcie_tree", "devices under PCIe switches under the host CPU (no NVLink)",
                [](const config::Table& t) -> std::unique_ptr<IIntraNodeFabric> {
                  PcieTreeFabric::Params p;
                  p.devices_per_switch = static_cast<int32_t>(t.integer_in_or("devices_per_switch", 1, 1 << 16, 2));
                  t.finish();
                  return std::make_unique<PcieTreeFabric>(p);
                });

}  // namespace moesim::hw
