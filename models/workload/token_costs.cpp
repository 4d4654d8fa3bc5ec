// Transformer arithmetic per token. Equations: a matrix multiply of a token by a (n x m) weight
// costs 2nm FLOPs (Kaplan et al. 2020, Table 1); attention core QK^T and AV cost 2 * 2 * heads *
// head_dim * context (Korthikanti et al. 2022, Sec. 4); KV cache per token per layer is
// 2 * kv_heads * head_dim elements (GQA, Ainslie et al. 2023), (kv_lora_rank + rope_dim) for MLA
// (DeepSeek-V2, Sec. 2.1). Saved activations for backward follow Korthikanti et al. 2022, Eq. 1
// with flash attention (no s^2 term): 34*h bytes per token per layer at 2-byte activations, of
// which 15*h for attention and norms and 19*h for an MLP of width 4h (scaled by the expert width).
#include "models/workload/token_costs.hpp"

namespace moesim::workload {
namespace {

double ffn_params(const model::ModelSpec& m, int64_t width) {
  double mats = m.ffn == model::FfnKind::swiglu3 ? 3.0 : 2.0;
  return mats * static_cast<double>(m.d_model) * static_cast<double>(width);
}

double head_dim(const model::ModelSpec& m) {
  if (m.head_dim > 0) return static_cast<double>(m.head_dim);
  return m.heads > 0 ? static_cast<double>(m.d_model) / static_cast<double>(m.heads) : 0.0;
}

double attention_params(const model::ModelSpec& m) {
  double h = static_cast<double>(m.d_model);
  if (m.attention == model::AttentionKind::mla) {
    const auto& a = m.mla;
    double qk = static_cast<double>(a.qk_nope_head_dim + a.qk_rope_head_dim);
    double heads = static_cast<double>(m.heads);
    double q = a.q_lora_rank > 0 ? h * a.q_lora_rank + a.q_lora_rank * heads * qk : h * heads * qk;
    double kv = h * (a.kv_lora_rank + a.qk_rope_head_dim) +
                a.kv_lora_rank * heads * static_cast<double>(a.qk_nope_head_dim + a.v_head_dim);
    return q + kv + heads * a.v_head_dim * h;
  }
  double hd = head_dim(m);
  double kv_heads = static_cast<double>(m.kv_heads > 0 ? m.kv_heads : m.heads);
  return h * m.heads * hd * 2.0 + h * kv_heads * hd * 2.0;  // q, o + k, v
}

double kv_elements(const model::ModelSpec& m) {
  if (m.attention == model::AttentionKind::mla)
    return static_cast<double>(m.mla.kv_lora_rank + m.mla.qk_rope_head_dim);
  double kv_heads = static_cast<double>(m.kv_heads > 0 ? m.kv_heads : m.heads);
  return 2.0 * kv_heads * head_dim(m);
}

double core_dim(const model::ModelSpec& m) {  // heads * (qk dim + v dim) / 2 equivalent
  if (m.attention == model::AttentionKind::mla)
    return static_cast<double>(m.heads) *
           static_cast<double>(m.mla.qk_nope_head_dim + m.mla.qk_rope_head_dim + m.mla.v_head_dim) / 2.0;
  return static_cast<double>(m.heads) * head_dim(m);
}

}  // namespace

double expert_params(const model::ModelSpec& m) { return ffn_params(m, m.expert_ffn_dim); }

double embedding_params(const model::ModelSpec& m) {
  double e = static_cast<double>(m.vocab_size) * static_cast<double>(m.d_model);
  return m.tie_embeddings ? e : 2.0 * e;
}

double layer_non_expert_params(const model::ModelSpec& m, int64_t layer) {
  double h = static_cast<double>(m.d_model);
  double p = attention_params(m) + 2.0 * h;  // + two norms
  if (m.is_moe_layer(layer)) {
    p += h * static_cast<double>(m.experts);  // gate
    p += static_cast<double>(m.shared_experts) * ffn_params(m, m.shared_expert_ffn_dim);
  } else {
    p += ffn_params(m, m.dense_ffn_dim);
  }
  return p;
}

LayerTokenCosts layer_token_costs(const model::ModelSpec& m, int64_t layer, double context) {
  LayerTokenCosts c;
  double wb = hw::dtype_bytes(m.weight_dtype);
  double ab = hw::dtype_bytes(m.activation_dtype);
  double h = static_cast<double>(m.d_model);
  c.hidden_bytes = h * ab;
  c.kv_bytes = kv_elements(m) * ab;
  double attn_p = attention_params(m);
  c.attention.flops = 2.0 * attn_p + 4.0 * core_dim(m) * context + 10.0 * h;  // + norms, residual
  c.attention.weight_bytes = (attn_p + 2.0 * h) * wb;
  c.attention.activation_bytes = 4.0 * c.hidden_bytes + context * c.kv_bytes;  // in/out + KV read
  c.gate.flops = 2.0 * h * static_cast<double>(m.experts);
  c.gate.weight_bytes = h * static_cast<double>(m.experts) * wb;
  c.gate.activation_bytes = c.hidden_bytes;
  double ep = expert_params(m);
  c.expert.flops = 2.0 * ep;
  c.expert.weight_bytes = ep * wb;
  c.expert.activation_bytes = 2.0 * c.hidden_bytes + 2.0 * static_cast<double>(m.expert_ffn_dim) * ab;
  double sp = static_cast<double>(m.shared_experts) * ffn_params(m, m.shared_expert_ffn_dim);
  c.shared_expert.flops = 2.0 * sp;
  c.shared_expert.weight_bytes = sp * wb;
  c.shared_expert.activation_bytes = m.shared_experts > 0 ? 2.0 * c.hidden_bytes : 0.0;
  double dp = ffn_params(m, m.dense_ffn_dim);
  c.dense_ffn.flops = 2.0 * dp;
  c.dense_ffn.weight_bytes = dp * wb;
  c.dense_ffn.activation_bytes = 2.0 * c.hidden_bytes + 2.0 * static_cast<double>(m.dense_ffn_dim) * ab;
  // Korthikanti's coefficients assume 2-byte activations; the MLP's 19h at width 4h is 19/4 * f.
  auto saved_ffn = [&](int64_t width) { return 19.0 / 4.0 * static_cast<double>(width) * (ab / 2.0); };
  c.saved_activation_bytes = 15.0 * h * (ab / 2.0);
  c.saved_expert_bytes = saved_ffn(m.expert_ffn_dim);
  c.saved_shared_bytes = static_cast<double>(m.shared_experts) * saved_ffn(m.shared_expert_ffn_dim);
  c.saved_dense_bytes = saved_ffn(m.dense_ffn_dim);
  return c;
}

OpWork lm_head_costs(const model::ModelSpec& m) {
  double p = static_cast<double>(m.vocab_size) * static_cast<double>(m.d_model);
  double ab = hw::dtype_bytes(m.activation_dtype);
  return OpWork{2.0 * p, p * hw::dtype_bytes(m.weight_dtype),
                static_cast<double>(m.d_model) * ab + static_cast<double>(m.vocab_size) * ab};
}

}  // namespace moesim::workload
