// Eager operators per part of a block (counts and sources in operator_count.hpp).
#include "models/operator_count.hpp"

namespace moesim::model {

EagerOperators eager_operators(const ModelSpec& m) {
  EagerOperators o;
  o.norm = m.norm == NormKind::rmsnorm ? 7 : 1;
  // q, k, v projections (3) with view + transpose (6); KV-cache concat (2); transpose k + QK^T (2);
  // mask / bias add (1); softmax fp32 and back (3); dropout (1); AV (1); transpose, contiguous,
  // view (3); output projection (1); dropout + residual (2).
  const int32_t core = 9 + 2 + 2 + 1 + 3 + 1 + 1 + 3 + 1 + 2;  // 25
  int32_t attention = o.norm + core;
  if (m.positions == PositionKind::rope) attention += 2 * 6 + 1;  // rotate q and k, 1/sqrt(d) scale
  if (m.attention == AttentionKind::mla) attention += 2 + o.norm;  // low-rank down/up + latent norm
  o.self_attention = attention;
  o.cross_attention = m.family == "encoder_decoder" ? attention - 8 : 0;
  o.gate = o.norm + 2 + 11;
  const int32_t ffn_core = m.ffn == FfnKind::swiglu3 ? 6 : 4;  // up, act, dropout, down (+ gate proj, product)
  o.expert_ffn = ffn_core + 2;                                 // + gather, scatter
  o.dense_ffn = o.norm + ffn_core + 2;
  o.lm_head = o.norm + 4;
  return o;
}

}  // namespace moesim::model
