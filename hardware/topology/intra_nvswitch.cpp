// NVSwitch star (DGX A100/H100): each device reaches one node switch over `lanes` NVLinks.
// a->b time = 2 x link latency + bytes / (bandwidth x lanes x efficiency)   [NVIDIA DGX datasheets]
#include <fmt/format.h>

#include "hardware/readers.hpp"
#include "hardware/topology/fabrics.hpp"

namespace moesim::hw {
namespace {

double lanes_of(const NvSwitchFabric::Params& p) { return p.lanes > 0 ? p.lanes : p.link.links_per_device; }

// The node's switch: the only switch among device 0's neighbours.
VertexId switch_of(const Topology& t, int32_t node) {
  const auto v = static_cast<size_t>(t.device_vertex(t.device_id(node, 0)));
  for (auto [it, end] = boost::out_edges(v, t.graph); it != end; ++it) {
    const auto tgt = static_cast<VertexId>(boost::target(*it, t.graph));
    if (t.vertex(tgt).kind == VertexKind::fabric_switch && t.vertex(tgt).node == node) return tgt;
  }
  throw std::logic_error("nvswitch: node without a switch");
}

// The backplane vertex: the switch's only switch neighbour.
VertexId backplane_of(const Topology& t, VertexId sw) {
  for (auto [it, end] = boost::out_edges(static_cast<size_t>(sw), t.graph); it != end; ++it) {
    const auto tgt = static_cast<VertexId>(boost::target(*it, t.graph));
    if (t.vertex(tgt).kind == VertexKind::fabric_switch) return tgt;
  }
  throw std::logic_error("nvswitch: backplane vertex missing");
}

}  // namespace

void NvSwitchFabric::build(Topology& t, int32_t node) const {
  const VertexId sw = t.add_vertex({VertexKind::fabric_switch, fmt::format("n{}.nvswitch", node), node, 0});
  for (int32_t l = 0; l < t.devices_per_node(); ++l) {
    const VertexId dv = t.device_vertex(t.device_id(node, l));
    t.add_link(dv, sw, p_.link, lanes_of(p_));
    t.add_link(t.host_vertex(node), dv, t.params.host_link);
  }
  if (p_.backplane) {
    const VertexId bp = t.add_vertex({VertexKind::fabric_switch, fmt::format("n{}.nvswitch.backplane", node), node, 1});
    t.add_link(sw, bp, *p_.backplane);
  }
}

std::vector<EdgeId> NvSwitchFabric::path(const Topology& t, int32_t node, int32_t a, int32_t b) const {
  const VertexId sw = switch_of(t, node);
  const EdgeId up = t.edge_between(t.device_vertex(t.device_id(node, a)), sw);
  const EdgeId down = t.edge_between(sw, t.device_vertex(t.device_id(node, b)));
  if (!p_.backplane) return {up, down};
  const VertexId bp = backplane_of(t, sw);
  return {up, t.edge_between(sw, bp), t.edge_between(bp, sw), down};
}

std::vector<EdgeId> NvSwitchFabric::host_path(const Topology& t, int32_t node, int32_t local, bool to_device) const {
  const VertexId h = t.host_vertex(node), d = t.device_vertex(t.device_id(node, local));
  return {to_device ? t.edge_between(h, d) : t.edge_between(d, h)};
}

std::string NvSwitchFabric::describe() const {
  if (p_.backplane) return fmt::format("nvswitch star, {} x {}, backplane {}", lanes_of(p_), p_.link.name, p_.backplane->name);
  return fmt::format("nvswitch star, {} x {}", lanes_of(p_), p_.link.name);
}

MOESIM_REGISTER(IntraNodeRegistry, "nvswitch", "every device to one NVSwitch per node over `links` NVLinks",
                [](const config::Table& t) -> std::unique_ptr<IIntraNodeFabric> {
                  NvSwitchFabric::Params p;
                  p.link = read_link(t.table("link"));
                  p.lanes = static_cast<double>(t.integer_in_or("links", 0, 1024, 0));
                  if (t.has("backplane")) p.backplane = read_link(t.table("backplane"));
                  t.finish();
                  return std::make_unique<NvSwitchFabric>(p);
                });

}  // namespace moesim::hw
