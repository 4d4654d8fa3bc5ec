// Model arithmetic. Conventions (docs/models.md):
//   one matrix of shape a x b: a*b parameters, 2*a*b FLOPs per token (Kaplan et al. 2020, Sec. 2.1;
//   Narayanan et al. 2021, Sec. 5.1);
//   attention core per token and layer: 2*n*heads*qk_head_dim (QK^T) + 2*n*heads*v_head_dim (AV)
//   over n context tokens (Kaplan et al. 2020 Table 1: 2*n_layer*n_ctx*d_attn, split per head);
//   MLA projections and cached latent as in DeepSeek-V2 (Liu et al. 2024, Sec. 2.1.2-2.1.3);
//   attention core bytes per the FlashAttention IO model (Dao et al. 2022, Sec. 3.2: Q, K, V, O
//   cross HBM O(1) times per pass), backward per Narayanan et al. 2021 Sec. 5.1 (2x) and
//   FlashAttention-2 Sec. 4.1 (core 2.5x with recomputation). See model_math.hpp.
#include "models/model_math.hpp"

namespace moesim::model {
namespace {

double d(int64_t v) { return static_cast<double>(v); }
double weight_bytes_per_param(const ModelSpec& m) { return hw::dtype_bytes(m.weight_dtype); }
double act_bytes(const ModelSpec& m) { return hw::dtype_bytes(m.activation_dtype); }

// Self-attention projections of one layer (weights, then biases when the model has them).
double self_attention_params(const ModelSpec& m) {
  const double dm = d(m.d_model), h = d(m.heads);
  if (m.attention == AttentionKind::mla) {
    const auto& a = m.mla;
    const double qk = d(a.qk_nope_head_dim + a.qk_rope_head_dim);
    double q = a.q_lora_rank > 0 ? dm * d(a.q_lora_rank) + d(a.q_lora_rank) * h * qk : dm * h * qk;
    double kv_down = dm * d(a.kv_lora_rank + a.qk_rope_head_dim);
    double kv_up = d(a.kv_lora_rank) * h * d(a.qk_nope_head_dim + a.v_head_dim);
    double out = h * d(a.v_head_dim) * dm;
    return q + kv_down + kv_up + out;
  }
  const double q = h * d(m.head_dim), kv = d(m.kv_heads) * d(m.head_dim);
  double w = dm * q + 2.0 * dm * kv + q * dm;
  double b = m.bias ? q + 2.0 * kv + dm : 0.0;
  return w + b;
}

// Norm layers in one block: before attention and FFN (+ before cross-attention in decoder
// blocks); MLA adds RMSNorms on the compressed latents (DeepSeek-V2 config: kv_a_layernorm,
// q_a_layernorm).
double norms_of_block(const ModelSpec& m, int64_t layer) {
  double per_norm = d(m.d_model) * (m.norm == NormKind::layernorm ? 2.0 : 1.0);
  double n = (m.is_decoder_block(layer) ? 3.0 : 2.0) * per_norm;
  if (m.attention == AttentionKind::mla) n += d(m.mla.kv_lora_rank) + d(m.mla.q_lora_rank);
  return n;
}

double final_norm_params(const ModelSpec& m) {
  double stacks = m.family == "encoder_decoder" ? 2.0 : 1.0;
  return stacks * d(m.d_model) * (m.norm == NormKind::layernorm ? 2.0 : 1.0);
}

double gate_params(const ModelSpec& m) { return d(m.d_model) * d(m.experts) + (m.bias ? d(m.experts) : 0.0); }

int64_t norms_in_layer(const ModelSpec& m, int64_t layer) { return m.is_decoder_block(layer) ? 3 : 2; }

// Elements read and written by the attention projections of one token (inputs and outputs of
// each projection).
double attention_proj_activations(const ModelSpec& m, int64_t layer) {
  const double dm = d(m.d_model), h = d(m.heads);
  double e;
  if (m.attention == AttentionKind::mla) {
    const auto& a = m.mla;
    e = dm + h * d(m.qk_head_dim()) + d(a.kv_lora_rank + a.qk_rope_head_dim) +
        h * d(a.qk_nope_head_dim + a.v_head_dim) + h * d(a.v_head_dim) + dm;
  } else {
    e = dm + h * d(m.head_dim) + 2.0 * d(m.kv_heads * m.head_dim) + h * d(m.head_dim) + dm;
  }
  return m.is_decoder_block(layer) ? 2.0 * e : e;
}

// KV-cache elements of one token in one layer.
double kv_elements_per_layer(const ModelSpec& m) {
  if (m.attention == AttentionKind::mla) return d(m.mla.kv_lora_rank + m.mla.qk_rope_head_dim);
  return 2.0 * d(m.kv_heads) * d(m.head_dim);
}

// K/V elements the core reads for one key computed in this pass. MLA prefill runs in the
// non-absorbed form: the latent is up-projected to per-head K (nope + rope) and V, which the core
// reads (DeepSeek-V2 Sec. 2.1.2; absorption only pays off for decode, Sec. 2.1.3). A one-query
// pass (decode) reads the new key like the cached ones.
double fresh_kv_elements(const ModelSpec& m, const AttentionSpan& s) {
  if (m.attention == AttentionKind::mla && s.queries > 1.0) return d(m.heads) * d(m.qk_head_dim() + m.v_head_dim());
  return kv_elements_per_layer(m);
}

OpCost ffn_op(const ModelSpec& m, std::string name, int64_t width, int64_t count) {
  double params = ffn_params(m, width) * d(count);
  double acts = (2.0 * d(m.d_model) + 2.0 * d(width)) * d(count);  // in, out, intermediate w+r
  return {std::move(name), Flops(2.0 * params), Bytes(params * weight_bytes_per_param(m)),
          Bytes(acts * act_bytes(m))};
}

}  // namespace

double ffn_params(const ModelSpec& m, int64_t ffn_dim) {
  const double dm = d(m.d_model), f = d(ffn_dim);
  const double mats = m.ffn == FfnKind::swiglu3 ? 3.0 : 2.0;
  double b = m.bias ? (mats - 1.0) * f + dm : 0.0;
  return mats * dm * f + b;
}

double router_params(const ModelSpec& m) { return gate_params(m); }

double norm_params(const ModelSpec& m, int64_t layer) { return norms_of_block(m, layer); }

double block_non_expert_params(const ModelSpec& m, int64_t layer) {
  double p = attention_params(m, layer) + norm_params(m, layer);
  if (!m.is_moe_layer(layer)) return p + ffn_params(m, m.dense_ffn_dim);
  return p + router_params(m) + d(m.shared_experts) * ffn_params(m, m.shared_expert_ffn_dim);
}

double outside_layer_params(const ModelSpec& m) {
  const double vd = d(m.vocab_size) * d(m.d_model);
  double positions = m.positions == PositionKind::learned ? d(m.max_seq_len) * d(m.d_model) : 0.0;
  return vd + (m.tie_embeddings ? 0.0 : vd) + positions + final_norm_params(m);
}

double attention_params(const ModelSpec& m, int64_t layer) {
  double p = self_attention_params(m);
  return m.is_decoder_block(layer) ? 2.0 * p : p;  // cross-attention has the same projections
}

ParamCounts count_params(const ModelSpec& m) {
  ParamCounts c;
  const double vd = d(m.vocab_size) * d(m.d_model);
  double positions = m.positions == PositionKind::learned ? d(m.max_seq_len) * d(m.d_model) : 0.0;
  c.embedding = vd + (m.tie_embeddings ? 0.0 : vd) + positions;
  c.lookup_embedding = (m.tie_embeddings ? 0.0 : vd) + positions;
  c.per_expert = m.experts > 0 ? ffn_params(m, m.expert_ffn_dim) : 0.0;
  c.norms = final_norm_params(m);
  for (int64_t l = 0; l < m.layers; ++l) {
    c.attention += attention_params(m, l);
    c.norms += norm_params(m, l);
    if (m.is_moe_layer(l)) {
      c.moe_layers += 1;
      c.routed_experts += d(m.experts) * c.per_expert;
      c.shared_experts += d(m.shared_experts) * ffn_params(m, m.shared_expert_ffn_dim);
      c.router += router_params(m);
    } else {
      c.dense_ffn += ffn_params(m, m.dense_ffn_dim);
    }
  }
  c.total = c.embedding + c.attention + c.dense_ffn + c.routed_experts + c.shared_experts + c.router + c.norms;
  c.active = c.total - c.routed_experts + c.moe_layers * d(m.top_k) * c.per_expert;
  return c;
}

double count_as_published(const ParamCounts& c, const ModelSpec& m, bool active) {
  double v = active ? c.active : c.total;
  switch (active ? m.published_active_embeddings : m.published_total_embeddings) {
    case EmbeddingCounting::all: return v;
    case EmbeddingCounting::output: return v - c.lookup_embedding;
    case EmbeddingCounting::none: return v - c.embedding;
  }
  return v;
}

AttentionSpan decode_span(double keys) { return AttentionSpan{1.0, keys - 1.0, true}; }

AttentionSpan sequence_span(double tokens, bool causal) { return AttentionSpan{tokens, 0.0, causal}; }

bool causal_attention(const ModelSpec& m) { return m.family != "encoder"; }

// FLOPs: QK^T costs 2*d_qk and AV 2*d_v per (query, key, head) (Kaplan et al. 2020, Table 1:
// 2 n_ctx d_attn per token; Dao 2023, Sec. 4.1: 4 N^2 d h per sequence, /2 with a causal mask,
// which mean_context() carries). Bytes per query: q read and o written, plus the span's K/V read
// once per pass and shared by its queries (FlashAttention IO model, Dao et al. 2022, Thm. 2, at
// SRAM/L2 large enough for one K/V block row: Q, K, V, O each cross HBM once).
OpCost attention_core_per_token(const ModelSpec& m, int64_t layer, const AttentionSpan& s) {
  const double stacks = m.is_decoder_block(layer) ? 2.0 : 1.0;  // + cross-attention over `keys` tokens
  const double qo = d(m.heads) * d(m.qk_head_dim() + m.v_head_dim());
  const double queries = s.queries > 1.0 ? s.queries : 1.0;
  const double kv_read = s.cached * kv_elements_per_layer(m) + s.queries * fresh_kv_elements(m, s);
  double flops = stacks * 2.0 * s.mean_context() * qo;
  double bytes = stacks * (qo + kv_read / queries) * act_bytes(m);
  return {"attention_core", Flops(flops), Bytes(0), Bytes(bytes)};
}

std::vector<OpCost> layer_ops_per_token(const ModelSpec& m, int64_t layer, int64_t context) {
  return layer_ops_per_token(m, layer, decode_span(d(context)));
}

std::vector<OpCost> layer_ops_per_token(const ModelSpec& m, int64_t layer, const AttentionSpan& span) {
  const double wb = weight_bytes_per_param(m), ab = act_bytes(m);
  const double dm = d(m.d_model);
  std::vector<OpCost> ops;
  double ap = attention_params(m, layer);
  // Projections are GEMMs: 2 x params FLOPs per token, weights once per task, inputs + outputs.
  ops.push_back({"attention_proj", Flops(2.0 * ap), Bytes(ap * wb), Bytes(attention_proj_activations(m, layer) * ab)});
  ops.push_back(attention_core_per_token(m, layer, span));
  if (m.is_moe_layer(layer)) {
    double rp = router_params(m);
    ops.push_back({"gate", Flops(2.0 * d(m.d_model) * d(m.experts)), Bytes(rp * wb), Bytes((dm + d(m.experts)) * ab)});
    ops.push_back(expert_ffn_per_token(m));
    if (m.shared_experts > 0) ops.push_back(ffn_op(m, "shared_expert", m.shared_expert_ffn_dim, m.shared_experts));
  } else {
    ops.push_back(ffn_op(m, "dense_ffn", m.dense_ffn_dim, 1));
  }
  double norms = d(norms_in_layer(m, layer));
  double np = norm_params(m, layer);
  // A norm reads and writes d elements and costs ~4d FLOPs (square, sum, scale, weight multiply).
  ops.push_back({"norm", Flops(4.0 * dm * norms), Bytes(np * wb), Bytes(2.0 * dm * norms * ab)});
  return ops;
}

OpCost backward_of(const OpCost& f) {
  // Matrix products: dgrad (dX = dY W^T) + wgrad (dW = X^T dY), 2x forward (Narayanan et al. 2021,
  // Sec. 5.1). FlashAttention backward: 5 matmuls (QK^T recomputed, dV, dP, dQ, dK) vs 2 forward,
  // 2.5x (Dao 2023, FlashAttention-2, Sec. 4.1); it reads Q, K, V, O, dO and writes dQ, dK, dV: 2x.
  const double flops = f.op == "attention_core" ? 2.5 : 2.0;
  return {f.op + "_bwd", f.flops * flops, f.weight_bytes * 2.0, f.activation_bytes * 2.0};
}

OpCost expert_ffn_per_token(const ModelSpec& m) { return ffn_op(m, "expert_ffn", m.expert_ffn_dim, 1); }

OpCost lm_head_per_token(const ModelSpec& m) {
  double p = d(m.vocab_size) * d(m.d_model);
  return {"lm_head", Flops(2.0 * p), Bytes(p * weight_bytes_per_param(m)),
          Bytes((d(m.d_model) + d(m.vocab_size)) * act_bytes(m))};
}

Bytes expert_weight_bytes(const ModelSpec& m) {
  return Bytes(m.experts > 0 ? ffn_params(m, m.expert_ffn_dim) * weight_bytes_per_param(m) : 0.0);
}

Bytes non_expert_weight_bytes(const ModelSpec& m) {
  ParamCounts c = count_params(m);
  return Bytes((c.total - c.routed_experts) * weight_bytes_per_param(m));
}

Bytes kv_cache_bytes_per_token(const ModelSpec& m, int64_t layer) {
  // An encoder keeps no cache; an encoder-decoder caches self-attention K/V in its decoder blocks
  // (cross-attention K/V are per source token, computed once per request).
  bool cached = m.family == "encoder" ? false : m.family == "encoder_decoder" ? m.is_decoder_block(layer) : true;
  return Bytes(cached ? kv_elements_per_layer(m) * act_bytes(m) : 0.0);
}

Bytes kv_cache_bytes_per_token(const ModelSpec& m) {
  Bytes b(0);
  for (int64_t l = 0; l < m.layers; ++l) b += kv_cache_bytes_per_token(m, l);
  return b;
}

Bytes hidden_bytes_per_token(const ModelSpec& m) { return Bytes(d(m.d_model) * act_bytes(m)); }

Flops forward_flops_per_token(const ModelSpec& m, int64_t context) {
  double f = lm_head_per_token(m).flops.value;
  for (int64_t l = 0; l < m.layers; ++l) {
    for (const auto& op : layer_ops_per_token(m, l, context)) {
      f += op.flops.value * (op.op == "expert_ffn" ? d(m.top_k) : 1.0);
    }
  }
  return Flops(f);
}

}  // namespace moesim::model
