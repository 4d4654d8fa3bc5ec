#pragma once
// Expert prefetchers (registry "prefetcher", TOML [workload.prefetch] kind = ...): before MoE
// layer `layer` routes, guess which of its experts will be needed so their loads start early on
// the I/O stream. A wrong guess costs its load time and cache space, nothing else (EdgeMoE §2.3:
// "falls back to an on-demand load"). Kinds: none, edgemoe, readme_lookahead,
// next_layer_frequent (one .cpp each; docs/offload.md).
#include <memory>
#include <vector>

#include "models/offload/expert_key.hpp"
#include "models/routing/routing.hpp"
#include "sim/core/registry.hpp"

namespace moesim::offload {

struct PrefetchQuery {
  int32_t layer = 0;                                  // MoE layer to predict
  int64_t tokens = 1;                                 // tokens of the step (batch)
  std::vector<const routing::LayerRouting*> history;  // this step's routing of MoE layers 0 .. layer-1
  const routing::LayerRouting* upcoming = nullptr;    // the routing of `layer` itself: only an
                                                      // oracle (pre-gating) may read it
};

class IPrefetcher {
 public:
  static constexpr const char* kInterface = "prefetcher";
  virtual ~IPrefetcher() = default;
  virtual void calibrate(const CalibrationTrace&) {}
  // Experts of q.layer to load ahead, most likely first.
  virtual std::vector<int32_t> predict(const PrefetchQuery& q) = 0;
  // The routing that actually happened at `layer` (online statistics).
  virtual void observe(int32_t /*layer*/, const routing::LayerRouting&) {}
};

using PrefetcherRegistry = Registry<IPrefetcher, const OffloadContext&>;

struct EdgeMoePrefetchParams {
  int32_t max_experts = 2;        // preloads per layer (EdgeMoE: typically 1-3)
  double min_probability = 0.1;   // skip guesses below this conditional probability
  int32_t history = 2;            // previous MoE layers in the key (EdgeMoE: 2)
};
struct FrequentPrefetchParams {
  int32_t max_experts = 1;
};
struct LookaheadParams {
  int32_t max_experts = 0;  // 0 = every expert the layer will use
};

std::unique_ptr<IPrefetcher> make_no_prefetch();
std::unique_ptr<IPrefetcher> make_edgemoe_prefetch(const EdgeMoePrefetchParams& p, const OffloadContext& ctx);
std::unique_ptr<IPrefetcher> make_readme_lookahead(const LookaheadParams& p, const OffloadContext& ctx);
std::unique_ptr<IPrefetcher> make_next_layer_frequent(const FrequentPrefetchParams& p, const OffloadContext& ctx);

// Distinct experts of a layer's routing, most tokens first (ties: lower id).
std::vector<int32_t> experts_by_load(const routing::LayerRouting& r, int32_t num_experts);

}  // namespace moesim::offload
