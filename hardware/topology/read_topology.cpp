// The [cluster] table of a scenario (schema in docs/engine.md).
#include <fmt/format.h>

#include "hardware/readers.hpp"
#include "hardware/topology/topology.hpp"

namespace moesim::hw {

Topology read_topology(config::Table cluster) {
  TopologyParams p;
  p.nodes = static_cast<int32_t>(cluster.integer_in("nodes", 1, 1 << 20));
  p.devices_per_node = static_cast<int32_t>(cluster.integer_in("devices_per_node", 1, 1 << 16));
  // Resource guard (docs/robustness.md): the device count is an int32 everywhere and every device
  // costs graph vertices, links and routes; refuse before allocating any of it.
  if (int64_t{p.nodes} * p.devices_per_node > kMaxDevices)
    cluster.fail("nodes", fmt::format("{} nodes x {} devices per node = {} devices; at most {} are supported", p.nodes,
                                      p.devices_per_node, int64_t{p.nodes} * p.devices_per_node, kMaxDevices));
  p.device = read_device(cluster.table("device"));

  config::Table host = cluster.table("host");
  p.host_link = read_link(host.table("link"));
  if (auto m = host.table_opt("memory")) p.host_memory = read_memory(*m);
  if (auto s = host.table_opt("storage")) p.storage = read_storage(*s);
  host.finish();

  p.intra = IntraNodeRegistry::instance().create(cluster.table("intra_node"));

  if (auto inter = cluster.table_opt("inter_node")) {
    p.nic = read_link(inter->table("nic"));
    p.nics_per_node = static_cast<int32_t>(inter->integer_in_or("nics_per_node", 1, p.devices_per_node, 1));
    if (p.devices_per_node % p.nics_per_node != 0)
      inter->fail("nics_per_node", fmt::format("must divide devices_per_node = {}", p.devices_per_node));
    p.gpudirect = inter->boolean_or("gpudirect", p.gpudirect);
    if (auto l = inter->table_opt("pcie_switch")) p.nic_pcie = read_link(*l);
    p.inter = InterNodeRegistry::instance().create(*inter);
  } else if (p.nodes > 1) {
    cluster.fail("inter_node", fmt::format("nodes = {} needs a [cluster.inter_node] table (kind = \"fat_tree\" or \"rail\")", p.nodes));
  }
  cluster.finish();
  try {
    return build_topology(std::move(p));
  } catch (const InfeasibleError& e) {
    cluster.fail("", e.what());
  }
}

}  // namespace moesim::hw
