// The per-token cost model of attention and the other non-expert operators (model_math): closed
// forms for a small configuration, FlashAttention-style bytes in prefill (linear in the sequence
// length), cache-reading bytes in decode (linear in the context), backward multipliers.
#include <gtest/gtest.h>

#include <string>

#include "models/model_math.hpp"

using namespace moesim;
using namespace moesim::model;

namespace {

ModelSpec small_gqa() {  // d = 64, 4 query heads of 16, 2 K/V heads, no biases, bf16
  ModelSpec m;
  m.name = "small";
  m.family = "decoder";
  m.layers = 2;
  m.d_model = 64;
  m.vocab_size = 100;
  m.attention = AttentionKind::gqa;
  m.heads = 4;
  m.kv_heads = 2;
  m.head_dim = 16;
  m.ffn = FfnKind::swiglu3;
  m.experts = 4;
  m.top_k = 2;
  m.expert_ffn_dim = 32;
  return m;
}

ModelSpec small_mla() {
  ModelSpec m = small_gqa();
  m.attention = AttentionKind::mla;
  m.kv_heads = 4;
  m.mla = {24, 32, 16, 8, 16};  // q_lora, kv_lora, qk_nope, qk_rope, v
  return m;
}

OpCost op(const std::vector<OpCost>& ops, const std::string& name) {
  for (const auto& o : ops)
    if (o.op == name) return o;
  ADD_FAILURE() << "no op " << name;
  return {};
}

// Core bytes of a whole sequence of L tokens in one pass.
double prefill_core_bytes(const ModelSpec& m, double L) {
  return L * attention_core_per_token(m, 0, sequence_span(L, true)).activation_bytes.value;
}

}  // namespace

TEST(AttentionCost, GqaClosedForms) {
  ModelSpec m = small_gqa();
  const double d = 64, h = 4, hkv = 2, dh = 16, b = 2;
  const double L = 100;
  auto ops = layer_ops_per_token(m, 0, sequence_span(L, true));
  // Projections: 2 x (d*h*dh (Q) + 2*d*hkv*dh (K, V) + h*dh*d (O)) FLOPs per token.
  EXPECT_DOUBLE_EQ(op(ops, "attention_proj").flops.value, 2.0 * (d * h * dh + 2 * d * hkv * dh + h * dh * d));
  EXPECT_DOUBLE_EQ(op(ops, "attention_proj").weight_bytes.value, (d * h * dh + 2 * d * hkv * dh + h * dh * d) * b);
  // Core: 4 * heads * head_dim per (query, key); causal mean context (L + 1) / 2.
  OpCost core = op(ops, "attention_core");
  EXPECT_DOUBLE_EQ(core.flops.value, 4.0 * h * dh * (L + 1) / 2);
  // Core bytes per token: q + o (2*h*dh) plus the sequence's K/V (2*hkv*dh per key) read once.
  EXPECT_DOUBLE_EQ(core.activation_bytes.value, (2 * h * dh + 2 * hkv * dh) * b);
  EXPECT_DOUBLE_EQ(core.weight_bytes.value, 0.0);
  // Non-causal (encoder): every query sees all L keys.
  EXPECT_DOUBLE_EQ(attention_core_per_token(m, 0, sequence_span(L, false)).flops.value, 4.0 * h * dh * L);
  // Decode: one query over 1000 cached keys + itself reads all of them.
  OpCost dec = attention_core_per_token(m, 0, AttentionSpan{1, 1000, true});
  EXPECT_DOUBLE_EQ(dec.flops.value, 4.0 * h * dh * 1001);
  EXPECT_DOUBLE_EQ(dec.activation_bytes.value, (2 * h * dh + 1001 * 2 * hkv * dh) * b);
  // Gate and norms (RMSNorm: d params each, 2 per block, 4d FLOPs each).
  EXPECT_DOUBLE_EQ(op(ops, "gate").flops.value, 2.0 * d * 4);
  EXPECT_DOUBLE_EQ(op(ops, "norm").flops.value, 2 * 4.0 * d);
  EXPECT_DOUBLE_EQ(op(ops, "norm").weight_bytes.value, 2 * d * b);
}

TEST(AttentionCost, MlaReadsTheLatentInDecodeAndPerHeadKvInPrefill) {
  ModelSpec m = small_mla();
  const double h = 4, qk = 16 + 8, v = 16, b = 2, latent = 32 + 8;
  OpCost dec = attention_core_per_token(m, 0, AttentionSpan{1, 500, true});
  EXPECT_DOUBLE_EQ(dec.flops.value, 2.0 * 501 * h * (qk + v));
  EXPECT_DOUBLE_EQ(dec.activation_bytes.value, (h * (qk + v) + 501 * latent) * b);
  const double L = 64;
  OpCost pre = attention_core_per_token(m, 0, sequence_span(L, true));
  EXPECT_DOUBLE_EQ(pre.flops.value, 2.0 * (L + 1) / 2 * h * (qk + v));
  EXPECT_DOUBLE_EQ(pre.activation_bytes.value, (h * (qk + v) + h * (qk + v)) * b);
}

TEST(AttentionCost, PrefillBytesGrowLinearlyInTheSequenceFlopsQuadratically) {
  for (ModelSpec m : {small_gqa(), small_mla()}) {
    double b1 = prefill_core_bytes(m, 2048), b2 = prefill_core_bytes(m, 4096), b4 = prefill_core_bytes(m, 8192);
    EXPECT_NEAR(b2 / b1, 2.0, 1e-9);
    EXPECT_NEAR(b4 / b1, 4.0, 1e-9);
    auto flops = [&](double L) { return L * attention_core_per_token(m, 0, sequence_span(L, true)).flops.value; };
    EXPECT_NEAR(flops(4096) / flops(2048), 4.0, 0.01);  // (L^2 + L) / 2 pairs
  }
}

TEST(AttentionCost, DecodeBytesGrowLinearlyInTheContext) {
  ModelSpec m = small_gqa();
  auto bytes = [&](double ctx) { return attention_core_per_token(m, 0, decode_span(ctx)).activation_bytes.value; };
  const double qo = 2 * 4 * 16 * 2.0;  // q read + o written, independent of the context
  EXPECT_NEAR((bytes(4096) - qo) / (bytes(2048) - qo), 2.0, 1e-12);
  EXPECT_NEAR((bytes(8192) - qo) / (bytes(2048) - qo), 4.0, 1e-12);
  // The int64 overload is the decode pattern.
  EXPECT_DOUBLE_EQ(op(layer_ops_per_token(m, 0, int64_t{2048}), "attention_core").activation_bytes.value, bytes(2048));
}

TEST(AttentionCost, BackwardIsTwiceForwardAndTheCoreRecomputes) {
  ModelSpec m = small_gqa();
  double fwd = 0, bwd = 0, proj_f = 0, proj_b = 0, core_f = 0, core_b = 0;
  for (const auto& o : layer_ops_per_token(m, 0, sequence_span(2048, true))) {
    if (o.op != "attention_proj" && o.op != "attention_core" && o.op != "norm") continue;
    OpCost b = backward_of(o);
    EXPECT_EQ(b.op, o.op + "_bwd");
    EXPECT_DOUBLE_EQ(b.weight_bytes.value, 2.0 * o.weight_bytes.value);
    EXPECT_DOUBLE_EQ(b.activation_bytes.value, 2.0 * o.activation_bytes.value);
    fwd += o.flops.value;
    bwd += b.flops.value;
    if (o.op == "attention_proj") proj_f = o.flops.value, proj_b = b.flops.value;
    if (o.op == "attention_core") core_f = o.flops.value, core_b = b.flops.value;
  }
  EXPECT_DOUBLE_EQ((proj_f + proj_b) / proj_f, 3.0);  // fwd + dgrad + wgrad
  EXPECT_DOUBLE_EQ((core_f + core_b) / core_f, 3.5);  // FlashAttention-2: bwd 2.5x with recomputation
  double ratio = (fwd + bwd) / fwd;
  EXPECT_GT(ratio, 3.0);
  EXPECT_LT(ratio, 3.5);
}

TEST(AttentionCost, NonExpertParamsSumToTheModelTotal) {
  for (ModelSpec m : {small_gqa(), small_mla()}) {
    m.bias = true;
    m.norm = NormKind::layernorm;
    m.positions = PositionKind::learned;
    m.first_dense_layers = 1;
    m.dense_ffn_dim = 48;
    m.shared_experts = 1;
    m.shared_expert_ffn_dim = 32;
    double sum = outside_layer_params(m) + static_cast<double>(m.moe_layer_count() * m.experts) * ffn_params(m, m.expert_ffn_dim);
    for (int64_t l = 0; l < m.layers; ++l) sum += block_non_expert_params(m, l);
    EXPECT_NEAR(sum, count_params(m).total, 1e-6);
    double kv = 0;
    for (int64_t l = 0; l < m.layers; ++l) kv += kv_cache_bytes_per_token(m, l).value;
    EXPECT_DOUBLE_EQ(kv, kv_cache_bytes_per_token(m).value);
  }
}
