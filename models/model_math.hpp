#pragma once
// Model arithmetic: parameter counts, forward FLOPs and bytes per operator per token, KV-cache and
// hidden-state bytes. Equations and sources: docs/models.md.
//   FLOPs of a matrix product = 2 x MACs; a token's forward pass through a weight matrix costs
//   2 x (its parameters) FLOPs (Kaplan et al. 2020, "Scaling Laws for Neural Language Models",
//   Table 1 / Sec. 2.1; Narayanan et al. 2021, "Efficient Large-Scale Language Model Training on
//   GPU Clusters Using Megatron-LM", Sec. 5.1 / Appendix). Attention over a context of n tokens adds
//   2 x n x heads x (qk_head_dim + v_head_dim) FLOPs per token and layer (QK^T and AV).
//   MLA (DeepSeek-V2, Liu et al. 2024, Sec. 2.1): the cache holds kv_lora_rank + qk_rope_head_dim
//   elements per token and layer.
#include <cstdint>
#include <string>
#include <vector>

#include "models/model_spec.hpp"
#include "sim/core/units.hpp"

namespace moesim::model {

struct ParamCounts {
  double total = 0, active = 0, embedding = 0, attention = 0, dense_ffn = 0, routed_experts = 0,
         shared_experts = 0, router = 0, norms = 0, per_expert = 0;
  // Part of `embedding` used only as a lookup (untied input table, learned positions): excluded by
  // publishers that count "the output embedding only" (EmbeddingCounting::output).
  double lookup_embedding = 0;
  double moe_layers = 0;  // number of MoE layers (for display)
};
ParamCounts count_params(const ModelSpec&);

// A count as the publisher counted it (`active` picks the active figure's convention).
double count_as_published(const ParamCounts&, const ModelSpec&, bool active);

struct OpCost {
  std::string op;
  Flops flops;
  Bytes weight_bytes;
  Bytes activation_bytes;  // activations read + written (attention_core: the KV cache it reads)
};

// Forward cost for ONE token at `layer` with `context` tokens of attention context, one entry per
// operator: "attention_proj" (QKV and output projections; decoder blocks of encoder-decoder models
// include the cross-attention projections), "attention_core" (QK^T and AV over the context),
// "gate" (router), "expert_ffn" (ONE routed expert, one token: the caller multiplies by the tokens
// each expert gets), "shared_expert", "dense_ffn" (dense layers), "norm". FLOPs = 2 x MACs.
std::vector<OpCost> layer_ops_per_token(const ModelSpec&, int64_t layer, int64_t context);
OpCost expert_ffn_per_token(const ModelSpec&);
OpCost lm_head_per_token(const ModelSpec&);           // output projection to the vocabulary
Bytes expert_weight_bytes(const ModelSpec&);        // one routed expert, weight_dtype
Bytes non_expert_weight_bytes(const ModelSpec&);    // everything but routed experts
Bytes kv_cache_bytes_per_token(const ModelSpec&);   // all layers (MLA: compressed latent)
Bytes hidden_bytes_per_token(const ModelSpec&);     // d_model x activation dtype

// Forward FLOPs of one token through the whole model (top_k experts per MoE layer, LM head
// included) at `context` tokens of context.
Flops forward_flops_per_token(const ModelSpec&, int64_t context);

// Parameter counts of the pieces (one layer).
double attention_params(const ModelSpec&, int64_t layer);
double ffn_params(const ModelSpec&, int64_t ffn_dim);  // one FFN (expert or dense) of that width

}  // namespace moesim::model
