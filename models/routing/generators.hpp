#pragma once
// Typed parameters of every routing generator and a factory per kind, so tests build sources
// without TOML. Each kind lives in its own gen_<kind>.cpp, which reads its Params from config (in
// one place) and registers itself with MOESIM_REGISTER. Equations and sources: docs/routing.md.
#include <memory>

#include "models/routing/gen_common.hpp"
#include "models/routing/routing.hpp"

namespace moesim::routing {

struct UniformParams {
  int32_t top_k = 1;
  gen::CountSampling counts = gen::CountSampling::automatic;
};
struct PopularityGenParams {  // kind "popularity"
  gen::PopularityParams popularity;
  int32_t top_k = 1;
  gen::CountSampling counts = gen::CountSampling::automatic;
};
struct TemporalReuseParams {  // kind "temporal_reuse"
  gen::PopularityParams popularity;
  int32_t top_k = 1;
  double reuse = 0.3;  // P(a token repeats the previous token's experts in the same layer)
};
struct CrossLayerParams {  // kind "cross_layer_paths"
  gen::PopularityParams popularity;
  int32_t top_k = 1;
  double follow = 0.9;   // P(a token takes the experts its previous layers' path predicts)
  int32_t history = 2;   // layers of path that predict the next (EdgeMoE: 2)
};
struct DriftParams {  // kind "drift"
  gen::PopularityParams popularity;
  int32_t top_k = 1;
  double sigma = 0.05;   // std of the per-step random walk of log-popularity
};
struct SwitchParams {  // kind "switch" (top-1)
  gen::ScoreParams scores;
  double capacity_factor = 1.0;
};
struct GShardParams {  // kind "gshard" (top-2)
  gen::ScoreParams scores;
  double capacity_factor = 1.0;
  bool random_routing = true;  // second expert kept with probability 2*g2
};
struct ExpertChoiceParams {  // kind "expert_choice"
  gen::ScoreParams scores;
  double capacity_factor = 2.0;  // c: each expert takes n*c/E tokens
};
struct BaseParams {  // kind "base"
  gen::ScoreParams scores;
};
struct HashParams {  // kind "hash"
  int32_t top_k = 1;
  int64_t vocab_size = 50000;
  double token_zipf = 0.0;  // token-id frequency ∝ 1/rank^token_zipf (0 = uniform ids)
};
struct LossFreeParams {  // kind "loss_free_bias"
  gen::ScoreParams scores;
  int32_t top_k = 1;
  double update_rate = 0.001;  // u in b_i <- b_i + u*sign(mean load - load_i)
  double drift = 0.02;         // std of the per-step random walk of the expert score means
  double affinity_scale = 1.0; // s_i = sigmoid(affinity_scale * logit_i)
};
struct AdaMoeParams {  // kind "adamoe"
  gen::PopularityParams popularity;
  int32_t top_k = 2;           // slots per token, real + null
  double mean_real_k = 1.67;   // expected real experts per token (AdaMoE on Mixtral: 2.0 -> ~1.67)
};
struct DeepSeekParams {  // kind "deepseek"
  gen::ScoreParams scores;
  int32_t top_k = 8;
  int32_t max_nodes = 4;       // M: a token's experts span at most M nodes
  int32_t group_top = 2;       // node score = sum of its top-`group_top` affinities
  int32_t shared_experts = 1;
  gen::CountSampling counts = gen::CountSampling::automatic;
  // Count level: tokens routed per layer to estimate the node-limited design's inclusion
  // probabilities (docs/routing.md); requests smaller than this keep the per-token path.
  int64_t estimate_tokens = 16384;
};
struct LocMoeParams {  // kind "locmoe"
  gen::ScoreParams scores;
  int32_t top_k = 1;
  double local_bias = 1.0;     // logit bonus for experts on the token's own node
};
struct ReadMeParams {  // kind "readme_pregate"
  gen::PopularityParams popularity;
  int32_t top_k = 1;
  int32_t permanent_experts = 1;
};

std::unique_ptr<IRoutingSource> make_uniform(const UniformParams& p, const RoutingContext& ctx);
std::unique_ptr<IRoutingSource> make_popularity(const PopularityGenParams& p, const RoutingContext& ctx);
std::unique_ptr<IRoutingSource> make_temporal_reuse(const TemporalReuseParams& p, const RoutingContext& ctx);
std::unique_ptr<IRoutingSource> make_cross_layer(const CrossLayerParams& p, const RoutingContext& ctx);
std::unique_ptr<IRoutingSource> make_drift(const DriftParams& p, const RoutingContext& ctx);
std::unique_ptr<IRoutingSource> make_switch(const SwitchParams& p, const RoutingContext& ctx);
std::unique_ptr<IRoutingSource> make_gshard(const GShardParams& p, const RoutingContext& ctx);
std::unique_ptr<IRoutingSource> make_expert_choice(const ExpertChoiceParams& p, const RoutingContext& ctx);
std::unique_ptr<IRoutingSource> make_base(const BaseParams& p, const RoutingContext& ctx);
std::unique_ptr<IRoutingSource> make_hash(const HashParams& p, const RoutingContext& ctx);
std::unique_ptr<IRoutingSource> make_loss_free(const LossFreeParams& p, const RoutingContext& ctx);
std::unique_ptr<IRoutingSource> make_adamoe(const AdaMoeParams& p, const RoutingContext& ctx);
std::unique_ptr<IRoutingSource> make_deepseek(const DeepSeekParams& p, const RoutingContext& ctx);
std::unique_ptr<IRoutingSource> make_locmoe(const LocMoeParams& p, const RoutingContext& ctx);
std::unique_ptr<IRoutingSource> make_readme(const ReadMeParams& p, const RoutingContext& ctx);

}  // namespace moesim::routing
