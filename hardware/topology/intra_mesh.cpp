// Full mesh (NVLink bridges, Ascend HCCS): a direct link between every pair of devices of a group.
// a->b time = latency + bytes / (bandwidth x lanes x efficiency). Groups of `group_size` devices
// (Atlas 800: two groups of 4 NPUs, HCCS inside [LocMoE, arXiv 2401.13920]) reach each other
// through the host CPU over PCIe: a->host->b.
#include <fmt/format.h>

#include "hardware/readers.hpp"
#include "hardware/topology/fabrics.hpp"

namespace moesim::hw {
namespace {

int32_t group_size_of(const MeshFabric::Params& p, const Topology& t) {
  return p.group_size > 0 ? p.group_size : t.devices_per_node();
}

}  // namespace

void MeshFabric::build(Topology& t, int32_t node) const {
  const int32_t g = group_size_of(p_, t);
  if (t.devices_per_node() % g != 0)
    throw InfeasibleError(fmt::format("intra_node: group_size = {} must divide devices_per_node = {}", g,
                                      t.devices_per_node()));
  for (int32_t a = 0; a < t.devices_per_node(); ++a) {
    const VertexId va = t.device_vertex(t.device_id(node, a));
    t.add_link(t.host_vertex(node), va, t.params.host_link);
    for (int32_t b = a + 1; b < (a / g + 1) * g; ++b) t.add_link(va, t.device_vertex(t.device_id(node, b)), p_.link, p_.lanes);
  }
}

std::vector<EdgeId> MeshFabric::path(const Topology& t, int32_t node, int32_t a, int32_t b) const {
  const int32_t g = group_size_of(p_, t);
  const VertexId va = t.device_vertex(t.device_id(node, a)), vb = t.device_vertex(t.device_id(node, b));
  if (a / g == b / g) return {t.edge_between(va, vb)};
  const VertexId h = t.host_vertex(node);
  return {t.edge_between(va, h), t.edge_between(h, vb)};
}

std::vector<EdgeId> MeshFabric::host_path(const Topology& t, int32_t node, int32_t local, bool to_device) const {
  const VertexId h = t.host_vertex(node), d = t.device_vertex(t.device_id(node, local));
  return {to_device ? t.edge_between(h, d) : t.edge_between(d, h)};
}

std::string MeshFabric::describe() const {
  return p_.group_size > 0 ? fmt::format("full mesh in groups of {}, {} x {}", p_.group_size, p_.lanes, p_.link.name)
                           : fmt::format("full mesh, {} x {}", p_.lanes, p_.link.name);
}

namespace {
std::unique_ptr<IIntraNodeFabric> read_mesh(const config::Table& t, int64_t default_group) {
  MeshFabric::Params p;
  p.link = read_link(t.table("link"));
  p.lanes = static_cast<double>(t.integer_in_or("links", 1, 1024, 1));
  p.group_size = static_cast<int32_t>(t.integer_in_or("group_size", 0, 1 << 20, default_group));
  t.finish();
  return std::make_unique<MeshFabric>(p);
}
}  // namespace

MOESIM_REGISTER(IntraNodeRegistry, "full_mesh", "a direct link between every pair of devices of the node",
                [](const config::Table& t) { return read_mesh(t, 0); });
MOESIM_REGISTER(IntraNodeRegistry, "groups", "full mesh inside groups of `group_size` (default 4), PCIe via the host across",
                [](const config::Table& t) { return read_mesh(t, 4); });

}  // namespace moesim::hw
