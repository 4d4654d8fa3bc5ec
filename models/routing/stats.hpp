#pragma once
// Routing statistics as pure functions: load skew (max/mean, CV, Gini, entropy, MaxVio), dropped
// fraction, tokens-per-expert quantiles, cross-layer path concentration and temporal reuse.
// `moesim trace stats` prints them; tests check them. Definitions in docs/routing.md.
#include <array>
#include <cstdint>
#include <vector>

#include "models/routing/trace.hpp"

namespace moesim::routing {

struct LoadStats {
  int64_t selections = 0;
  double mean = 0, max_over_mean = 0, max_over_min = 0;  // max/min = inf when an expert is idle
  double cv = 0;             // std / mean (population)
  double gini = 0;           // 0 = equal, (E-1)/E = one expert takes everything
  double entropy = 0;        // normalised: H(load) / ln E, 1 = uniform
  double max_vio = 0;        // (max - mean) / mean (Wang et al. 2024)
  std::array<double, 5> quantiles{};  // tokens per expert: min, p25, p50, p75, max
  int32_t hottest = -1;      // expert with the largest load
  double hottest_share = 0;  // its share of selections
};
LoadStats load_stats(const std::vector<int64_t>& load);

double gini(const std::vector<int64_t>& load);
double normalised_entropy(const std::vector<int64_t>& load);
double max_vio(const std::vector<int64_t>& load);

// Fraction of slots marked dropped (of all non-null slots); 0 when the layer has no marks.
double dropped_fraction(const LayerRouting& r);
// Mean real (non-null) experts per token.
double mean_real_k(const LayerRouting& r);

// Temporal reuse over consecutive token pairs of a layer: share whose first-choice expert repeats,
// and share that share at least one expert.
struct ReuseStats {
  double first_choice = 0, any_overlap = 0;
  int64_t pairs = 0;
};
ReuseStats temporal_reuse(const LayerRouting& r);

// Cross-layer paths: a token's path is its first-choice expert at every given layer (same step,
// same token count). Share of tokens covered by the top `top_fraction` of distinct paths by count.
struct PathStats {
  int64_t tokens = 0, distinct_paths = 0;
  double top_share = 0;  // tokens on the most frequent ceil(top_fraction * distinct) paths / tokens
};
PathStats path_concentration(const std::vector<const LayerRouting*>& layers, double top_fraction = 0.2);

// Whole trace: per logged layer, loads summed over steps; paths over all steps with >= 2 layers.
struct LayerSummary {
  int32_t layer = 0;
  int64_t tokens = 0;
  LoadStats load;
  double dropped = 0, mean_k = 0;
  ReuseStats reuse;
  std::vector<int64_t> expert_load;
};
struct TraceStats {
  std::vector<LayerSummary> layers;
  LoadStats overall;   // loads summed over layers
  PathStats paths;     // tokens = 0 when fewer than 2 layers
  int64_t steps = 0;
};
TraceStats trace_stats(const Trace& trace);

}  // namespace moesim::routing
