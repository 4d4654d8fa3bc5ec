// Two-level fat-tree (leaf/spine). NIC->leaf->[spine->leaf]->NIC. Each leaf's uplink to the
// (aggregate) spine carries NICs_under_leaf x NIC bandwidth / oversubscription: a fat-tree with
// oversubscription 1 is non-blocking, and ECMP is taken as perfect spreading over the spines
// [Al-Fares et al., SIGCOMM 2008; LocMoE's cluster: 4 servers per leaf].
#include <fmt/format.h>

#include <algorithm>

#include "hardware/topology/fabrics.hpp"

namespace moesim::hw {

void FatTreeFabric::build(Topology& t) const {
  const int32_t per_leaf = p_.nodes_per_leaf > 0 ? std::min(p_.nodes_per_leaf, t.node_count()) : t.node_count();
  const int32_t leaves = (t.node_count() + per_leaf - 1) / per_leaf;
  const VertexId spine = leaves > 1 ? t.add_vertex({VertexKind::fabric_switch, "spine", -1, 0}) : -1;
  for (int32_t leaf = 0; leaf < leaves; ++leaf) {
    const VertexId lv = t.add_vertex({VertexKind::fabric_switch, fmt::format("leaf{}", leaf), -1, leaf});
    const int32_t first = leaf * per_leaf, last = std::min(t.node_count(), first + per_leaf);
    for (int32_t n = first; n < last; ++n)
      for (int32_t k = 0; k < t.params.nics_per_node; ++k) {
        t.add_link(t.nic_vertex(n, k), lv, t.params.nic);
        t.set_parent_switch(t.nic_vertex(n, k), lv);
      }
    if (spine >= 0) {
      const double lanes = (last - first) * t.params.nics_per_node / p_.oversubscription;
      t.add_link(lv, spine, t.params.nic, lanes);
      t.set_parent_switch(lv, spine);
    }
  }
}

std::vector<EdgeId> FatTreeFabric::path(const Topology& t, VertexId nic_a, VertexId nic_b) const {
  return t.tree_path(nic_a, nic_b);
}

std::string FatTreeFabric::describe() const {
  return fmt::format("fat-tree ({} nodes/leaf, oversubscription {})",
                     p_.nodes_per_leaf > 0 ? std::to_string(p_.nodes_per_leaf) : std::string("all"), p_.oversubscription);
}

MOESIM_REGISTER(InterNodeRegistry, "fat_tree", "two-level leaf/spine fat-tree with an oversubscription ratio",
                [](const config::Table& t) -> std::unique_ptr<IInterNodeFabric> {
                  FatTreeFabric::Params p;
                  p.nodes_per_leaf = static_cast<int32_t>(t.integer_in_or("nodes_per_leaf", 0, 1 << 20, 0));
                  p.oversubscription = t.number_in_or("oversubscription", 1.0, 1000.0, 1.0);
                  t.finish();
                  return std::make_unique<FatTreeFabric>(p);
                });

}  // namespace moesim::hw
