// Topology: graph building, routes by rule, Graphviz output.
#include "hardware/topology/topology.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "sim/core/errors.hpp"

namespace moesim::hw {
namespace {

uint64_t key(VertexId a, VertexId b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

void append(std::vector<EdgeId>& to, const std::vector<EdgeId>& from) { to.insert(to.end(), from.begin(), from.end()); }

}  // namespace

std::string_view vertex_kind_name(VertexKind k) {
  switch (k) {
    case VertexKind::device: return "device";
    case VertexKind::host: return "host";
    case VertexKind::nic: return "nic";
    case VertexKind::fabric_switch: return "switch";
    case VertexKind::storage: return "storage";
  }
  return "?";
}

const DeviceSpec& Topology::device(int32_t) const { return params.device; }
const LinkSpec& Topology::host_link(int32_t) const { return params.host_link; }
std::optional<StorageSpec> Topology::storage(int32_t) const { return params.storage; }
std::optional<MemorySpec> Topology::host_memory(int32_t) const { return params.host_memory; }

VertexId Topology::source(EdgeId e) const {
  return static_cast<VertexId>(boost::source(edges_[static_cast<size_t>(e)], graph));
}
VertexId Topology::target(EdgeId e) const {
  return static_cast<VertexId>(boost::target(edges_[static_cast<size_t>(e)], graph));
}

VertexId Topology::nic_vertex(int32_t node, int32_t nic) const {
  return nic_vertices_.at(static_cast<size_t>(node * params.nics_per_node + nic));
}

VertexId Topology::nic_of_device(int32_t device) const {
  const int32_t per_nic = params.devices_per_node / params.nics_per_node;
  return nic_vertex(node_of(device), local_of(device) / per_nic);
}

std::optional<VertexId> Topology::storage_vertex(int32_t node) const {
  if (storage_vertices_.empty()) return std::nullopt;
  return storage_vertices_.at(static_cast<size_t>(node));
}

EdgeId Topology::edge_between(VertexId from, VertexId to) const {
  auto it = edge_index_.find(key(from, to));
  if (it == edge_index_.end())
    throw std::logic_error(fmt::format("topology: no link {} -> {}", vertex(from).name, vertex(to).name));
  return it->second;
}

VertexId Topology::add_vertex(TopoVertex v) {
  auto id = static_cast<VertexId>(boost::add_vertex(std::move(v), graph));
  parent_switch_.push_back(-1);
  return id;
}

EdgeId Topology::add_directed(VertexId from, VertexId to, const LinkSpec& link, double lanes) {
  TopoEdge e;
  e.id = static_cast<EdgeId>(edges_.size());
  e.name = vertex(from).name + "->" + vertex(to).name;
  e.link = link;
  e.lanes = lanes;
  if (link.message_overhead.value > 0 || !link.regimes.empty()) has_message_overhead_ = true;
  auto [desc, ok] = boost::add_edge(static_cast<size_t>(from), static_cast<size_t>(to), std::move(e), graph);
  edges_.push_back(desc);
  edge_index_[key(from, to)] = graph[desc].id;
  return graph[desc].id;
}

EdgeId Topology::add_link(VertexId a, VertexId b, const LinkSpec& link, double lanes) {
  EdgeId up = add_directed(a, b, link, lanes);
  add_directed(b, a, link, lanes);
  return up;
}

void Topology::set_parent_switch(VertexId v, VertexId parent) { parent_switch_.at(static_cast<size_t>(v)) = parent; }

std::vector<EdgeId> Topology::tree_path(VertexId a, VertexId b) const {
  std::vector<VertexId> up_a{a}, up_b{b};
  while (parent_switch_[static_cast<size_t>(up_a.back())] >= 0) up_a.push_back(parent_switch_[static_cast<size_t>(up_a.back())]);
  while (parent_switch_[static_cast<size_t>(up_b.back())] >= 0) up_b.push_back(parent_switch_[static_cast<size_t>(up_b.back())]);
  // Lowest common ancestor: walk both chains from the top while they agree.
  size_t ia = up_a.size(), ib = up_b.size();
  if (up_a[ia - 1] != up_b[ib - 1])
    throw std::logic_error(fmt::format("topology: {} and {} are in different trees", vertex(a).name, vertex(b).name));
  while (ia > 1 && ib > 1 && up_a[ia - 2] == up_b[ib - 2]) { --ia; --ib; }
  std::vector<EdgeId> r;
  for (size_t i = 0; i + 1 < ia; ++i) r.push_back(edge_between(up_a[i], up_a[i + 1]));
  for (size_t i = ib - 1; i > 0; --i) r.push_back(edge_between(up_b[i], up_b[i - 1]));
  return r;
}

std::vector<EdgeId> Topology::route(int32_t src, int32_t dst) const {
  if (src == dst) return {};
  const int32_t na = node_of(src), nb = node_of(dst);
  if (na == nb) return params.intra->path(*this, na, local_of(src), local_of(dst));
  std::vector<EdgeId> r;
  int32_t via = src;
  if (params.inter->forwards_to_rail_peer()) {
    via = device_id(na, local_of(dst));
    if (via != src) r = params.intra->path(*this, na, local_of(src), local_of(via));
  }
  const VertexId nic_a = nic_of_device(via), nic_b = nic_of_device(dst);
  append(r, to_nic(via, nic_a));
  append(r, params.inter->path(*this, nic_a, nic_b));
  append(r, from_nic(nic_b, dst));
  return r;
}

std::vector<EdgeId> Topology::to_nic(int32_t device, VertexId nic) const {
  if (params.gpudirect) return {edge_between(device_vertex(device), nic)};
  std::vector<EdgeId> r = host_route(device, false);
  r.push_back(edge_between(host_vertex(node_of(device)), nic));
  return r;
}

std::vector<EdgeId> Topology::from_nic(VertexId nic, int32_t device) const {
  if (params.gpudirect) return {edge_between(nic, device_vertex(device))};
  std::vector<EdgeId> r{edge_between(nic, host_vertex(node_of(device)))};
  append(r, host_route(device, true));
  return r;
}

std::vector<EdgeId> Topology::host_route(int32_t device, bool host_to_device) const {
  return params.intra->host_path(*this, node_of(device), local_of(device), host_to_device);
}

std::vector<EdgeId> Topology::storage_route(int32_t device) const {
  auto s = storage_vertex(node_of(device));
  if (!s) return {};
  std::vector<EdgeId> r{edge_between(*s, host_vertex(node_of(device)))};
  append(r, host_route(device, true));
  return r;
}

double Topology::route_latency(const std::vector<EdgeId>& r) const {
  double l = 0;
  for (EdgeId e : r) l += edge(e).latency();
  return l;
}

std::string Topology::describe() const {
  std::string s = fmt::format("{} node(s) x {} {} ({}), host link {}", params.nodes, params.devices_per_node,
                              params.device.name, params.intra->describe(), params.host_link.name);
  if (params.inter) s += fmt::format(", {} NIC(s)/node {} on {}", params.nics_per_node, params.nic.name, params.inter->describe());
  if (params.storage) s += fmt::format(", storage {}", params.storage->name);
  return s;
}

std::string Topology::to_dot() const {
  std::string s = "digraph topology {\n  rankdir=TB;\n  node [fontsize=10];\n";
  for (VertexId v = 0; v < vertex_count(); ++v) {
    const auto& x = vertex(v);
    const char* shape = x.kind == VertexKind::device ? "box" : x.kind == VertexKind::fabric_switch ? "diamond"
                        : x.kind == VertexKind::host ? "house" : x.kind == VertexKind::storage ? "cylinder" : "ellipse";
    s += fmt::format("  v{} [label=\"{}\", shape={}];\n", v, x.name, shape);
  }
  // One line per full-duplex pair (labelled with the per-direction capacity), one per simplex edge.
  for (EdgeId e = 0; e < edge_count(); ++e) {
    const VertexId a = source(e), b = target(e);
    const bool duplex = edge_index_.count(key(b, a)) > 0;
    if (duplex && b < a) continue;
    s += fmt::format("  v{} -> v{} [label=\"{} {:.1f} GB/s\"{}];\n", a, b, edge(e).link.name, edge(e).capacity() / 1e9,
                     duplex ? ", dir=both" : "");
  }
  return s + "}\n";
}

Topology build_topology(TopologyParams p) {
  if (p.nodes < 1 || p.devices_per_node < 1) throw InfeasibleError("topology: nodes and devices_per_node must be >= 1");
  if (!p.intra) throw InfeasibleError("topology: no intra-node fabric");
  if (p.nodes > 1 && !p.inter) throw InfeasibleError("topology: several nodes need an inter-node fabric");
  if (p.inter && (p.nics_per_node < 1 || p.devices_per_node % p.nics_per_node != 0))
    throw InfeasibleError(fmt::format("topology: nics_per_node = {} must divide devices_per_node = {}",
                                      p.nics_per_node, p.devices_per_node));
  Topology t;
  t.params = std::move(p);
  const auto& q = t.params;
  for (int32_t n = 0; n < q.nodes; ++n) {
    t.host_vertices_.push_back(t.add_vertex({VertexKind::host, fmt::format("n{}.host", n), n, 0}));
    for (int32_t l = 0; l < q.devices_per_node; ++l) {
      const int32_t d = n * q.devices_per_node + l;
      t.device_vertices_.push_back(t.add_vertex({VertexKind::device, fmt::format("n{}.dev{}", n, l), n, d}));
    }
    q.intra->build(t, n);
    if (q.storage) {
      const VertexId s = t.add_vertex({VertexKind::storage, fmt::format("n{}.storage", n), n, 0});
      t.storage_vertices_.push_back(s);
      LinkSpec read{q.storage->name, q.storage->seq_read_bandwidth, Seconds(0.0), 1.0, 1, q.storage->source, Seconds(0.0), {}};
      t.add_directed(s, t.host_vertex(n), read);  // read path only; latency is per request (engine)
    }
    if (q.inter) {
      const int32_t per_nic = q.devices_per_node / q.nics_per_node;
      for (int32_t k = 0; k < q.nics_per_node; ++k) {
        const VertexId nic = t.add_vertex({VertexKind::nic, fmt::format("n{}.nic{}", n, k), n, k});
        t.nic_vertices_.push_back(nic);
        const LinkSpec& pcie = q.nic_pcie ? *q.nic_pcie : q.host_link;
        if (!q.gpudirect) t.add_link(t.host_vertex(n), nic, pcie);  // staged in host memory
        else
          for (int32_t l = k * per_nic; l < (k + 1) * per_nic; ++l) t.add_link(t.device_vertex(t.device_id(n, l)), nic, pcie);
      }
    }
  }
  if (q.inter) q.inter->build(t);
  return t;
}

}  // namespace moesim::hw
