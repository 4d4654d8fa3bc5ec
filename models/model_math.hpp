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
//   Attention core bytes follow the FlashAttention IO model (Dao et al. 2022, "FlashAttention",
//   Sec. 3.2, Thm. 2; Dao 2023, "FlashAttention-2", Alg. 1): per pass over a sequence Q, K, V and O
//   cross HBM once (the K/V re-reads per query block stay on chip / in L2 at these lengths), so a
//   prefill of L tokens reads O(L) bytes, not O(L^2); a decode step (one query) reads the whole cache.
//   Backward: matrix products 2x forward (dgrad + wgrad; Narayanan et al. 2021, Sec. 5.1), the
//   attention core 2.5x (5 matmuls instead of 2, QK^T recomputed; Dao 2023, Sec. 4.1).
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
  Bytes activation_bytes;  // activations read + written (attention_core: the K/V it reads)
};

// The attention shape of ONE sequence in one pass: `queries` new tokens attend, together, over
// `cached` tokens already in the KV cache plus themselves. Prefill and training: {L, 0}; decode:
// {1, kv_length_before}. Non-causal (encoder) attention: every query sees every key.
struct AttentionSpan {
  double queries = 1;
  double cached = 0;
  bool causal = true;
  // Keys one query attends to, on average: causal cached + (queries + 1) / 2 (the mask halves the
  // score matrix of the new tokens), else cached + queries.
  double mean_context() const { return causal ? cached + (queries + 1.0) / 2.0 : cached + queries; }
  double keys() const { return cached + queries; }
};
// One query over a context of `keys` tokens (a decode step): {1, keys - 1}.
AttentionSpan decode_span(double keys);
// A whole sequence of `tokens` at once, nothing cached (prefill, training).
AttentionSpan sequence_span(double tokens, bool causal);
// Causal for decoder self-attention, bidirectional for encoder models.
bool causal_attention(const ModelSpec&);

// Forward cost for ONE token at `layer` with `context` tokens of attention context, one entry per
// operator: "attention_proj" (QKV and output projections; decoder blocks of encoder-decoder models
// include the cross-attention projections), "attention_core" (QK^T and AV over the context),
// "gate" (router), "expert_ffn" (ONE routed expert, one token: the caller multiplies by the tokens
// each expert gets), "shared_expert", "dense_ffn" (dense layers), "norm". FLOPs = 2 x MACs.
// `context` keys per query as in a decode step (decode_span(context)).
std::vector<OpCost> layer_ops_per_token(const ModelSpec&, int64_t layer, int64_t context);
std::vector<OpCost> layer_ops_per_token(const ModelSpec&, int64_t layer, const AttentionSpan&);
// attention_core alone: FLOPs 2 x mean_context x heads x (qk_head_dim + v_head_dim) per token (x2 in
// decoder blocks: cross-attention); bytes per token q read + o written + the K/V of the span's
// keys read once per pass, shared by its queries (cached keys in cache form: MLA latent; new keys
// of a multi-token pass in the per-head form MLA materializes for prefill).
OpCost attention_core_per_token(const ModelSpec&, int64_t layer, const AttentionSpan&);
// Backward of one forward operator (training): FLOPs 2x (attention_core 2.5x: FlashAttention
// recomputes QK^T), bytes 2x (weights read + gradient written; activations and their gradients).
OpCost backward_of(const OpCost& forward);
OpCost expert_ffn_per_token(const ModelSpec&);
OpCost lm_head_per_token(const ModelSpec&);           // output projection to the vocabulary
Bytes expert_weight_bytes(const ModelSpec&);        // one routed expert, weight_dtype
Bytes non_expert_weight_bytes(const ModelSpec&);    // everything but routed experts
Bytes kv_cache_bytes_per_token(const ModelSpec&);   // all layers (MLA: compressed latent)
Bytes kv_cache_bytes_per_token(const ModelSpec&, int64_t layer);  // one layer (0: not cached)
Bytes hidden_bytes_per_token(const ModelSpec&);     // d_model x activation dtype

// Forward FLOPs of one token through the whole model (top_k experts per MoE layer, LM head
// included) at `context` tokens of context.
Flops forward_flops_per_token(const ModelSpec&, int64_t context);

// Parameter counts of the pieces (one layer).
double attention_params(const ModelSpec&, int64_t layer);
double ffn_params(const ModelSpec&, int64_t ffn_dim);  // one FFN (expert or dense) of that width
double router_params(const ModelSpec&);                // one MoE layer's gate
double norm_params(const ModelSpec&, int64_t layer);   // norms inside one block
// Everything in block `layer` but its routed experts (attention, norms, gate, shared experts or
// the dense FFN); and everything outside the blocks (embeddings, LM head, final norms). Together
// with the routed experts they sum to count_params().total.
double block_non_expert_params(const ModelSpec&, int64_t layer);
double outside_layer_params(const ModelSpec&);

}  // namespace moesim::model
