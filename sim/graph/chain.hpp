#pragma once
// The order a pipelined chain broadcast / reduce (NCCL's ring broadcast and reduce) visits its
// members: the root, then the members on the root's node, then the other nodes in order, so the
// chain crosses each node boundary once. Within a node the given order is kept. Used by the
// engine's broadcast/reduce decomposition and by the sharding strategies' grouped spAG/spRS.
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace moesim::graph {

// `node_of(device)` -> node id. `members` may contain the root; it appears once, first.
template <class NodeOf>
std::vector<int32_t> chain_order(int32_t root, const std::vector<int32_t>& members, NodeOf node_of) {
  std::vector<int32_t> order;
  for (int32_t d : members)
    if (d != root) order.push_back(d);
  const int32_t home = node_of(root);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return std::pair{node_of(a) != home, node_of(a)} < std::pair{node_of(b) != home, node_of(b)};
  });
  order.insert(order.begin(), root);
  return order;
}

}  // namespace moesim::graph
