#pragma once
// How each task becomes network work (pure: no SimGrid). A task is a sequence of phases; a phase
// is a set of flows that start together, each after a latency, and the phase ends when all its
// flows have ended. Algorithms (docs/engine.md):
//   alltoallv direct       : one phase, every (i, j) pair with bytes a flow.
//   alltoallv hierarchical : Tutel 2DH / DeepSpeed-MoE: phase 1 intra-node, each rank sends to
//                            local peer l' everything bound for local rank l' of any node; phase 2
//                            rail-aligned inter-node, (n, l') -> (m, l').  Needs equal ranks per node.
//   alltoallv node_dedup   : DeepEP normal-mode dispatch: one pipelined phase; a rank sends to its
//                            same-local-rank peer on each destination node the deduplicated bytes
//                            (CollectiveWork::node_bytes, or the sum of its row when absent), which
//                            fans them out over the intra-node fabric; same-node pairs go direct.
//   ring all_gather / reduce_scatter / all_reduce : each member to the next in group order,
//                            (n-1) x shard, (n-1)/n x bytes, 2(n-1)/n x bytes; latency paid
//                            n-1, n-1, 2(n-1) times [Patarasuk & Yuan 2009; NCCL ring].
//   direct variants        : every pair exchanges its share (shard, bytes/n; all_reduce = the two).
//   broadcast / reduce     : ring (default, NCCL): a pipelined chain from the root through its
//                            node, then the other nodes; every hop carries the bytes, latency paid
//                            n-1 times. direct: root to every member / every member to root.
//   send_recv              : the matrix, like alltoallv direct.
// Reductions' arithmetic is not timed (builders add it as compute when it matters).
#include <cstdint>
#include <string>
#include <vector>

#include "hardware/topology/topology.hpp"
#include "sim/graph/step_graph.hpp"

namespace moesim::engine {

enum class Endpoints : uint8_t { device_to_device, host_to_device, device_to_host, storage_to_device };

struct Flow {
  Endpoints kind = Endpoints::device_to_device;
  int32_t src = 0;  // device id (host/storage flows: the device id they serve)
  int32_t dst = 0;
  double bytes = 0.0;
  double fixed_latency = 0.0;  // added to the route latency (storage: requests x read latency)
  // SM budget (CollectiveWork::comm_sms): seconds of the kernel's SMs this flow takes on its source
  // and on its destination device (bytes they move / (comm_sms x sm_copy_bandwidth)); 0 = none.
  double sm_src_s = 0.0;
  double sm_dst_s = 0.0;
};

struct Phase {
  std::vector<Flow> flows;
  double latency_steps = 1.0;  // route latency is paid this many times (ring steps)
};

// Phases of a collective under the given algorithm names (alltoall: direct | hierarchical |
// node_dedup; ring: ring | direct). Throws InfeasibleError when the algorithm cannot apply.
std::vector<Phase> decompose_collective(const graph::CollectiveWork& c, const hw::Topology& topo,
                                        const std::string& alltoall, const std::string& ring);
std::vector<Phase> decompose_copy(const graph::CopyWork& c);
std::vector<Phase> decompose_storage_read(const graph::StorageReadWork& r, const hw::Topology& topo);

}  // namespace moesim::engine
