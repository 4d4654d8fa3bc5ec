#include "sim/engine/platform.hpp"

namespace moesim::engine {

namespace sg4 = simgrid::s4u;

Platform build_platform(const hw::Topology& topo) {
  Platform p;
  auto* zone = sg4::create_full_zone("cluster");
  for (hw::VertexId v = 0; v < topo.vertex_count(); ++v)
    p.hosts.push_back(zone->create_host(topo.vertex(v).name, kHostSpeed)->seal());
  std::vector<bool> done(static_cast<size_t>(topo.edge_count()), false);
  for (hw::EdgeId e = 0; e < topo.edge_count(); ++e) {
    if (done[static_cast<size_t>(e)]) continue;
    const hw::VertexId a = topo.source(e), b = topo.target(e);
    const auto& edge = topo.edge(e);
    auto* na = p.hosts[static_cast<size_t>(a)]->get_netpoint();
    auto* nb = p.hosts[static_cast<size_t>(b)]->get_netpoint();
    hw::EdgeId back = -1;
    try {
      back = topo.edge_between(b, a);
    } catch (const std::logic_error&) {
    }
    if (back >= 0 && topo.edge(back).capacity() == edge.capacity()) {
      auto* link = zone->create_split_duplex_link(edge.name, edge.capacity())->set_latency(0)->seal();
      zone->add_route(na, nb, nullptr, nullptr, {sg4::LinkInRoute(link, sg4::LinkInRoute::Direction::UP)}, false);
      zone->add_route(nb, na, nullptr, nullptr, {sg4::LinkInRoute(link, sg4::LinkInRoute::Direction::DOWN)}, false);
      done[static_cast<size_t>(back)] = true;
    } else {
      auto* link = zone->create_link(edge.name, edge.capacity())->set_latency(0)->seal();
      zone->add_route(na, nb, nullptr, nullptr, {sg4::LinkInRoute(link)}, false);
    }
    done[static_cast<size_t>(e)] = true;
  }
  zone->seal();
  return p;
}

}  // namespace moesim::engine
