#pragma once
// Routing decisions: which token goes to which experts, per step and MoE layer, and the interface
// every source of them implements (trace readers and generators alike).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/registry.hpp"

namespace moesim::routing {

inline constexpr int32_t kNoExpert = -1;  // a dropped token slot or an AdaMoE null expert

// One MoE layer of one step: tokens x k expert ids (row-major) and their gate weights.
struct LayerRouting {
  int64_t tokens = 0;
  int32_t k = 0;                  // slots per token (variable k: unused slots hold kNoExpert)
  std::vector<int32_t> experts;   // size tokens * k
  std::vector<float> weights;     // size tokens * k, or empty when the source has none
  std::vector<uint8_t> dropped;   // size tokens * k, 1 = dropped by capacity; or empty
  // Per-slot weight bit-width chosen by a bit-width router (D²MoE dual routing: the expert at
  // INT2/3/4...), size tokens * k, 0 = not given; or empty when the source has none.
  std::vector<uint8_t> bits;
  int32_t shared_experts = 0;     // always-on experts every token also visits (not in `experts`)

  int32_t expert(int64_t token, int32_t slot) const { return experts[token * k + slot]; }
  // Tokens routed to each expert (dropped and null slots excluded).
  std::vector<int64_t> expert_load(int32_t num_experts) const;
};

// What the model and the cluster look like to a routing source.
struct RoutingContext {
  int32_t num_experts = 0;
  int32_t top_k = 1;
  int32_t num_moe_layers = 1;
  int32_t devices = 1;            // ranks that hold tokens and experts
  int32_t devices_per_node = 1;
  std::vector<int32_t> expert_device;  // home device of each expert (size num_experts), may be empty
  uint64_t seed = 0;
};

// One request: route `tokens` tokens of step `step` at MoE layer `layer`. token_device[i] is the
// device that holds token i (size tokens, may be empty when locality does not matter).
struct RouteRequest {
  int64_t step = 0;
  int32_t layer = 0;
  int64_t tokens = 0;
  std::vector<int32_t> token_device;
};

// Count-level request (docs/routing.md, "Count-level routing"): route tokens[s] tokens held by
// source device devices[s] (global ids) at MoE layer `layer` of step `step`, and answer only how
// many go to each expert from each source.
struct CountRequest {
  int64_t step = 0;
  int32_t layer = 0;
  int32_t experts = 0;            // routed experts of the model (columns of the answer)
  std::vector<int32_t> devices;
  std::vector<int64_t> tokens;   // per source, size devices.size()
  int64_t total_tokens() const;
};

// One MoE layer of one step at count level: counts[s * experts + e] tokens of source s go to
// expert e (dropped and null slots excluded).
struct LayerCounts {
  int32_t sources = 0;
  int32_t experts = 0;
  std::vector<int64_t> counts;
  int64_t dropped_slots = 0;      // slots the source itself dropped (capacity), not in `counts`
  int32_t shared_experts = 0;
  // What a token's choice looked like, for expected node-deduplicated bytes (counts carry no token
  // identity, docs/workloads.md "Dispatch plan"): routed experts per token (0 = unknown) and the
  // node limit of node-limited routing (0 = none; DeepSeek-V3 report Sec. 2.1.2, M nodes).
  int32_t top_k = 0;
  int32_t max_nodes = 0;
  // Mean number of distinct nodes (of the source's expert placement) a token's experts span, from
  // the source's own per-token sample where its choice is not "k alike among the chosen nodes"
  // (DeepSeek's node scores); 0 = not known (the closed form alone is used).
  double nodes_per_token = 0;
  std::vector<int64_t> expert_load() const;  // summed over sources
};

// Counts of a per-token routing whose token t is held by source token_source[t].
LayerCounts count_routing(const LayerRouting& r, const std::vector<int32_t>& token_source, int32_t sources,
                          int32_t experts);

class IRoutingSource {
 public:
  static constexpr const char* kInterface = "routing";
  virtual ~IRoutingSource() = default;
  virtual LayerRouting route(const RouteRequest& request) = 0;
  // Whether route_counts samples this request's counts directly (O(sources x experts x k)) rather
  // than routing every token: true for generators whose tokens are independent given the step's
  // popularity. Builders that need only counts ask for counts when this is true.
  virtual bool samples_counts(const CountRequest& /*request*/) const { return false; }
  // Per-(source, expert) counts. Default: route every token and count.
  virtual LayerCounts route_counts(const CountRequest& request);
  // What the source did that the caller should know (e.g. a trace with fewer layers than the
  // model reused for every layer; a trace with fewer tokens cycled). The app prints these.
  virtual std::vector<std::string> notes() const { return {}; }
};

using RoutingRegistry = Registry<IRoutingSource, const RoutingContext&>;

}  // namespace moesim::routing
