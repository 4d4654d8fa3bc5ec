#pragma once
// Building blocks shared by the routing generators: expert popularity laws tuned to a target skew,
// sampling k distinct experts with exact inclusion probabilities, router score models, capacity.
// Pure functions; randomness comes in through a moesim::Rng the caller names.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/routing/counts.hpp"
#include "models/routing/routing.hpp"
#include "sim/core/config.hpp"
#include "sim/core/rng.hpp"

namespace moesim::routing::gen {

// Per-layer expert popularity. law = "uniform" | "zipf" | "dirichlet".
//  zipf:      p_i ∝ 1 / rank_i^s (Zipf 1949); s given, or tuned so the expected selection load hits
//             max/mean = target_max_mean or CV = target_cv.
//  dirichlet: p ~ Dirichlet(alpha) (Gamma(alpha) draws normalised), then p_i ∝ p_i^beta with beta
//             tuned to the target (beta = 1 when no target).
// The rank order (which expert is hot) is a random permutation per layer (shuffle_per_layer) or the
// same for every layer.
struct PopularityParams {
  std::string law = "uniform";
  double exponent = 1.0;         // zipf s when no target is given
  double alpha = 1.0;            // dirichlet concentration
  std::optional<double> target_max_mean;
  std::optional<double> target_cv;
  bool shuffle_per_layer = true;
};
PopularityParams read_popularity(const config::Table& t);  // keys: law, exponent, alpha, max_mean, cv, shuffle_per_layer

// Inclusion probabilities pi_i = P(expert i among a token's k choices), sum = k, each <= 1:
// pi = min(1, c * p) with c found by water-filling so that sum pi = k.
std::vector<double> inclusion_probabilities(const std::vector<double>& p, int32_t k);
// Expected selection-load skew of inclusion probabilities: max/mean and coefficient of variation.
double max_over_mean(const std::vector<double>& pi);
double coefficient_of_variation(const std::vector<double>& pi);

// Popularity (probabilities, sum 1) of layer `layer` of a context; deterministic in (seed, layer).
std::vector<double> layer_popularity(const PopularityParams& p, int32_t experts, int32_t k, int32_t layer, uint64_t seed);

// k distinct experts with P(i chosen) = pi_i exactly: Madow's systematic sampling over a random
// rotation of a per-token shuffled order (Madow 1949). `pi` sums to k, each <= 1.
void sample_k_distinct(const std::vector<double>& pi, int32_t k, Rng& rng, std::vector<int32_t>& order, int32_t* out);

// Routes token t of r by sample_k_distinct; gate weights ∝ pi of the chosen experts (normalised),
// slots in decreasing weight order.
void sample_token(const std::vector<double>& pi, Rng& rng, std::vector<int32_t>& order, LayerRouting& r, int64_t t);
// A whole layer of independent tokens drawn from pi.
LayerRouting sample_layer(const std::vector<double>& pi, int32_t k, int64_t tokens, Rng& rng);

// Indices of the k largest values (ties -> lower index), in decreasing value order.
void top_k_indices(const double* v, int32_t n, int32_t k, int32_t* out);

// Router scores: logit_{t,i} = log p_i + noise * N(0,1) (a Gaussian score model around the
// popularity); softmax or sigmoid applied by the caller.
struct ScoreParams {
  PopularityParams popularity;
  double noise = 1.0;
};
ScoreParams read_scores(const config::Table& t);  // popularity keys plus `score_noise`
// tokens x experts logits, row-major.
std::vector<double> score_logits(const std::vector<double>& popularity, int64_t tokens, double noise, Rng& rng);
void softmax_row(double* row, int32_t n);

// A LayerRouting with all slots empty (kNoExpert, weight 0).
LayerRouting empty_layer(int64_t tokens, int32_t k, bool weights, bool dropped);
// Expert capacity C = ceil(tokens * k / E * capacity_factor) (Switch Transformer, Fedus et al. 2021).
int64_t expert_capacity(int64_t tokens, int32_t k, int32_t experts, double capacity_factor);
// Sorts each token's slots by decreasing gate weight (kNoExpert slots last); gate order is what
// real routers emit.
void sort_slots_by_weight(LayerRouting& r);
// The RNG stream of (generator, step, layer): order-independent, so any call order gives the same.
Rng stream(uint64_t seed, const std::string& kind, int64_t step, int32_t layer);
// top_k override: `top_k` key or the context's.
int32_t read_top_k(const config::Table& t, const RoutingContext& ctx);
// Node of each expert: from ctx.expert_device / devices_per_node, or contiguous blocks over
// ceil(devices / devices_per_node) nodes when no placement is given.
std::vector<int32_t> expert_nodes(const RoutingContext& ctx);
int32_t node_count(const RoutingContext& ctx);

// Count-level sampling (docs/routing.md): key `count_sampling` = "auto" (default: sample counts for
// requests of at least kCountSamplingMinTokens tokens, where routing every token would cost more
// than the count sampler; smaller requests keep the per-token path) | "on" | "off".
enum class CountSampling { automatic, on, off };
inline constexpr int64_t kCountSamplingMinTokens = 16384;
CountSampling read_count_sampling(const config::Table& t);
bool samples_counts(CountSampling mode, const CountRequest& q);
// Counts of every source of q drawn from one fixed-size design (sources in order, one stream).
LayerCounts design_counts(const FixedSizeDesign& design, const CountRequest& q, Rng& rng,
                          int32_t shared_experts = 0);

}  // namespace moesim::routing::gen
