#pragma once
// From one MoE layer's routing (token -> experts) and the expert placement to what the simulator
// executes: the dispatch alltoallv byte matrix, the tokens each device's experts process, and the
// slots dropped by the capacity limit. The combine alltoallv is the transpose of the dispatch.
#include <cstdint>
#include <vector>

#include "models/routing/routing.hpp"
#include "models/workload/placement.hpp"
#include "sim/graph/step_graph.hpp"

namespace moesim::workload {

struct DispatchInput {
  const routing::LayerRouting* routing = nullptr;
  std::vector<int32_t> token_device;   // global device of each token (size routing->tokens)
  const ExpertPlacement* placement = nullptr;
  std::vector<int32_t> group;          // global device ids of the EP group, in rank order
  std::vector<int32_t> node_of;        // node of every global device
  double bytes_per_token = 0;          // hidden-state bytes of one token copy (d_model * act bytes)
  double capacity_factor = 0;          // 0 = dropless
  int32_t nodes = 0;                   // cluster nodes (node_bytes stride); 0: max(node_of) + 1
};

struct DispatchPlan {
  int32_t n = 0;                       // group size
  int32_t experts = 0;
  std::vector<double> bytes;           // n*n dispatch bytes [src * n + dst]; combine is the transpose
  std::vector<int64_t> expert_tokens;  // n*E: tokens expert e processes on group rank r [r * E + e]
  int64_t routed_slots = 0;            // (token, expert) pairs asked for, null slots excluded
  int64_t dropped_slots = 0;           // of those, dropped by the capacity limit
  int64_t capacity = 0;                // per-expert capacity (0 = unlimited)
  // Bytes each group rank sends to each node once deduplicated (a token bound for several experts
  // on one node crosses to it once: DeepEP normal-mode dispatch), [rank * nodes + node] over the
  // cluster's nodes, own node 0; filled by plan_dispatch (token level, exact) and by
  // plan_dispatch_counts as an expected value (expected_node_bytes below).
  std::vector<double> node_bytes;

  int64_t tokens_on(int32_t rank) const;        // slots processed by one rank's experts
  int32_t active_experts(int32_t rank) const;   // experts with at least one token on that rank
  double routed_bytes(int32_t rank) const;      // bytes of rank's routed slots, local copies included
  double sent(int32_t rank) const;              // bytes rank sends, local copies excluded
  double received(int32_t rank) const;          // bytes rank receives, local copies excluded
  std::vector<double> combine_bytes() const;    // transpose of bytes
  double total_bytes() const;                   // off-diagonal sum
  double inter_node_bytes(const std::vector<int32_t>& group, const std::vector<int32_t>& node_of) const;
};

// Bytes of one token's hidden state in a dispatch/combine dtype: fp8 carries one fp32 scale per
// 128 elements (DeepSeek-V3 report, arXiv 2412.19437, Sec. 3.3.2: 1x128 tile-wise activation
// scaling; DeepEP's fp8 dispatch: hidden + hidden/128 * 4 bytes); others hidden x element bytes.
double token_bytes(hw::Dtype dtype, int64_t hidden);

// Per-expert capacity, GShard (Lepikhin et al. 2020, Sec. 2.2) and Switch (Fedus et al. 2021,
// Eq. 3): C = ceil(capacity_factor * routed_slots / E). 0 when capacity_factor <= 0.
int64_t expert_capacity(double capacity_factor, int64_t routed_slots, int32_t experts);

// Slots are served first choice first (GShard gives 1st choices priority over 2nd), tokens in
// order; a slot whose expert is full is dropped (its token skips that expert: residual only).
// A slot goes to the copy of its expert on the token's own device, else to a copy on the same
// node, else to any copy; copies that qualify equally share the tokens round-robin (Hecate's
// topology-aware dispatch, Qing et al. 2025, Sec. 4).
DispatchPlan plan_dispatch(const DispatchInput& in);

// Probability that a token choosing k of `pool` equally likely experts picks at least one of
// `own` of them: 1 - C(pool - own, k) / C(pool, k) = 1 - prod_{t<k} (pool - own - t) / (pool - t)
// (hypergeometric; the product form also takes a fractional `own` and `pool`). DeepEP's normal
// benchmark traffic (docs/workloads.md "All-to-All microbenchmark") uses the same hit.
double node_hit_probability(int64_t k, double pool, double own);

// Expected node-deduplicated dispatch bytes of a count-level plan (counts have no token identity,
// so which experts one token combines is not known; its expectation is). A token of source s
// sends one copy to every distinct node other than its own that holds one of its k experts. With
// N nodes holding the group's experts, node-limited routing to g = min(M, N) nodes (g = N without
// a limit), each token on g of the N nodes chosen alike, then k experts alike among their
// pool P = g E / N (DeepSeek-V3 report Sec. 2.1.2; DeepEP test_internode.py draws the same):
//   P(token of s reaches node n) = (g / N) hit(k, P, o_sn),   o_sn = x_sn E / k,
// where x_sn = copies s sends to node n per token (from the counts; under uniform popularity
// x_sn = k o / E, so o_sn is the experts node n serves s, and the formula is DeepEP's
// in_node = g/N hit(k, gE/N, E/N)); node_bytes[s][n] = T_s P(reach n) x bytes_per_token.
// Exact in expectation for uniform expert popularity and equal experts per node (tested by
// enumeration); skewed popularity enters through x_sn only. When the routing source knows the mean
// number of distinct nodes per token from its own sample (`nodes_per_token` > 0; DeepSeek's node
// scores spread the picks more than "alike"), each source's hits are scaled so that their sum
// over the N nodes (its own included) is that mean. `tokens` per group rank, `expert_nodes` = N,
// `nodes` the node_bytes stride (0: max(node_of) + 1); `top_k` 0 leaves node_bytes empty.
void add_expected_node_bytes(DispatchPlan& p, const std::vector<int32_t>& group, const std::vector<int32_t>& node_of,
                             int32_t nodes, const std::vector<int64_t>& tokens, int32_t top_k, int32_t max_nodes,
                             int32_t expert_nodes, double bytes_per_token, double nodes_per_token = 0);

// The same plan from count-level routing (routing::LayerCounts, source s = group rank s), dropless
// only: a (source, expert) count goes to the copy on the source's device, else on its node, else
// to any copy, split round-robin over the copies that qualify equally (as plan_dispatch does token
// by token). O(group x experts x copies), no per-token work.
struct CountDispatchInput {
  const routing::LayerCounts* counts = nullptr;
  const ExpertPlacement* placement = nullptr;
  std::vector<int32_t> group;          // global device ids of the EP group, in rank order
  std::vector<int32_t> node_of;        // node of every global device
  double bytes_per_token = 0;
  int32_t nodes = 0;                   // cluster nodes (node_bytes stride); 0: max(node_of) + 1
  // Tokens of each group rank; when given (and the counts say their top_k), the plan's node_bytes
  // are their expected value (add_expected_node_bytes). Empty: node_bytes stay empty.
  std::vector<int64_t> tokens;
};
DispatchPlan plan_dispatch_counts(const CountDispatchInput& in);

// The collectives of a plan (issue 18): the dispatch direction (forward dispatch, backward of the
// combine) carries plan.bytes, the combine direction (forward combine, backward of the dispatch)
// its transpose, each scaled by `scale` = wire bytes of a token copy / the plan's bytes_per_token
// (dispatch and combine dtypes), with the plan's node_bytes for node_dedup.
graph::CollectiveWork dispatch_collective(const DispatchPlan& p, const std::vector<int32_t>& group, double scale);
graph::CollectiveWork combine_collective(const DispatchPlan& p, const std::vector<int32_t>& group, double scale);

}  // namespace moesim::workload
