#pragma once
// The All-to-All microbenchmark workload (issue 18, docs/workloads.md "alltoall_bench"): one
// collective per step, swept over the number of ranks and the message size, in the patterns the
// published kernel tables use, so their rows can be compared one by one:
//   uniform          : nccl-tests alltoall_perf: every rank sends size / ranks bytes to every rank.
//   moe_low_latency  : DeepEP low-latency kernels (DeepEP/tests/test_low_latency.py): `tokens` per rank,
//                      each to top_k experts drawn uniformly, one message per (token, expert).
//   moe_normal       : DeepEP normal kernels (DeepEP/tests/test_internode.py, DeepEP/tests/test_intranode.py): tokens
//                      pick top_groups nodes, then top_k experts inside them; a token goes to a
//                      rank once and crosses to a node once (node_dedup dispatch).
// The traffic is the EXPECTED byte matrix of those random draws (closed form, no sampling).
#include <cstdint>
#include <string>
#include <vector>

#include "hardware/spec.hpp"
#include "models/workload/dispatch.hpp"  // token_bytes

namespace moesim::workload {

// Probability that a draw of k distinct items out of `pool` hits at least one of `own` given
// items: 1 - C(pool - own, k) / C(pool, k).
double hit_probability(int64_t k, int64_t pool, int64_t own);

struct MoeTrafficParams {
  int32_t ranks = 8;
  int32_t ranks_per_node = 8;   // ranks on one node (the last node may hold fewer: not supported)
  int64_t tokens = 128;         // tokens per rank
  int64_t experts = 256;
  int64_t top_k = 8;
  int64_t top_groups = 4;       // moe_normal: nodes a token may reach (min with the node count)
  double token_bytes = 0;       // bytes of one token copy
};

struct MoeTraffic {
  std::vector<double> matrix;      // ranks x ranks bytes [src * ranks + dst] (diagonal = local)
  std::vector<double> node_bytes;  // ranks x nodes: bytes src sends to each node once deduplicated
  double reported_bytes = 0;       // per rank, as the published bandwidth counts them (below)
};

// DeepEP low-latency: E[selections src -> dst] = tokens x top_k / ranks; reported bytes = every
// selection (local ones included), as test_low_latency.py counts them.
MoeTraffic low_latency_traffic(const MoeTrafficParams& p);
// DeepEP normal: with g = min(top_groups, nodes) nodes picked uniformly and top_k experts among
// their g*E/nodes experts, E[token in rank j] = g/nodes x hit(k, gE/nodes, E/ranks) and
// E[token in node m] = g/nodes x hit(k, gE/nodes, E/nodes). Reported bytes: nodes > 1, the
// (token, node) pairs including the own node (test_internode.py's RDMA bytes); one node, the
// bytes a rank receives, its own included (test_intranode.py's NVLink bytes).
MoeTraffic normal_traffic(const MoeTrafficParams& p);

}  // namespace moesim::workload
