#include <gtest/gtest.h>

#include <numeric>

#include "models/model_math.hpp"
#include "models/operator_count.hpp"

using namespace moesim;
using namespace moesim::model;

namespace {

// DeepSeek-V3's architecture built directly (config.json of deepseek-ai/DeepSeek-V3).
ModelSpec deepseek_v3_like() {
  ModelSpec m;
  m.name = "dsv3";
  m.family = "decoder";
  m.layers = 61;
  m.d_model = 7168;
  m.vocab_size = 129280;
  m.attention = AttentionKind::mla;
  m.heads = 128;
  m.kv_heads = 128;
  m.mla = {1536, 512, 128, 64, 128};
  m.ffn = FfnKind::swiglu3;
  m.dense_ffn_dim = 18432;
  m.experts = 256;
  m.top_k = 8;
  m.expert_ffn_dim = 2048;
  m.shared_experts = 1;
  m.shared_expert_ffn_dim = 2048;
  m.first_dense_layers = 3;
  return m;
}

ModelSpec small_dense_gpt() {  // GPT-2-small-like, dense: every layer uses dense_ffn_dim
  ModelSpec m;
  m.name = "gpt";
  m.family = "decoder";
  m.layers = 12;
  m.d_model = 768;
  m.vocab_size = 50257;
  m.attention = AttentionKind::mha;
  m.heads = 12;
  m.kv_heads = 12;
  m.head_dim = 64;
  m.ffn = FfnKind::gelu2;
  m.dense_ffn_dim = 3072;
  return m;
}

double sum_flops(const std::vector<OpCost>& ops) {
  return std::accumulate(ops.begin(), ops.end(), 0.0, [](double a, const OpCost& o) { return a + o.flops.value; });
}

}  // namespace

TEST(ModelMath, DenseLayerFlopsAreTwiceItsParametersAtShortContext) {
  ModelSpec m = small_dense_gpt();
  double params = attention_params(m, 0) + ffn_params(m, m.dense_ffn_dim);
  double flops = sum_flops(layer_ops_per_token(m, 0, 1));
  EXPECT_NEAR(flops / (2.0 * params), 1.0, 0.01);
  // At a long context the attention core dominates the difference: 2*n*heads*(qk+v) = 4*n*d.
  double long_ctx = sum_flops(layer_ops_per_token(m, 0, 8192));
  EXPECT_NEAR(long_ctx - flops, 4.0 * 8191 * 768, 1.0);
}

TEST(ModelMath, ParameterCountsOfAKnownDenseModel) {
  // GPT-2 small, untied here: 12 * (4 d^2 + 8 d^2) = 84.9M non-embedding (Kaplan et al. 2020: 12 n d^2).
  ModelSpec m = small_dense_gpt();
  ParamCounts c = count_params(m);
  EXPECT_DOUBLE_EQ(c.attention, 12.0 * 4 * 768 * 768);
  EXPECT_DOUBLE_EQ(c.dense_ffn, 12.0 * 2 * 768 * 3072);
  EXPECT_DOUBLE_EQ(c.embedding, 2.0 * 50257 * 768);
  EXPECT_DOUBLE_EQ(c.routed_experts, 0.0);
  EXPECT_DOUBLE_EQ(c.total, c.active);
  m.tie_embeddings = true;
  EXPECT_DOUBLE_EQ(count_params(m).embedding, 50257.0 * 768);
}

TEST(ModelMath, ActiveCountsTopKExperts) {
  ModelSpec m = deepseek_v3_like();
  ParamCounts c = count_params(m);
  EXPECT_EQ(c.moe_layers, 58);
  EXPECT_DOUBLE_EQ(c.per_expert, 3.0 * 7168 * 2048);
  EXPECT_DOUBLE_EQ(c.routed_experts, 58.0 * 256 * c.per_expert);
  EXPECT_DOUBLE_EQ(c.total - c.active, 58.0 * (256 - 8) * c.per_expert);
  m.top_k = m.experts;
  ParamCounts all = count_params(m);
  EXPECT_DOUBLE_EQ(all.active, all.total);
}

TEST(ModelMath, MlaKvCacheIsTheCompressedLatent) {
  ModelSpec m = deepseek_v3_like();
  // (kv_lora_rank + qk_rope_head_dim) x 2 B x 61 layers (DeepSeek-V2 paper, Table 1: (d_c + d_h^R) l).
  EXPECT_DOUBLE_EQ(kv_cache_bytes_per_token(m).value, (512.0 + 64.0) * 2.0 * 61);
  m.activation_dtype = hw::Dtype::fp8;
  EXPECT_DOUBLE_EQ(kv_cache_bytes_per_token(m).value, (512.0 + 64.0) * 61);
}

TEST(ModelMath, GqaKvCache) {
  ModelSpec m = small_dense_gpt();
  m.attention = AttentionKind::gqa;
  m.layers = 32;
  m.d_model = 4096;
  m.heads = 32;
  m.kv_heads = 8;
  m.head_dim = 128;
  EXPECT_DOUBLE_EQ(kv_cache_bytes_per_token(m).value, 128.0 * 1024);  // Mixtral: 128 KiB/token
  m.family = "encoder";
  EXPECT_DOUBLE_EQ(kv_cache_bytes_per_token(m).value, 0.0);
}

TEST(ModelMath, MoeLayerOps) {
  ModelSpec m = deepseek_v3_like();
  auto dense = layer_ops_per_token(m, 0, 1);
  auto moe = layer_ops_per_token(m, 3, 1);
  auto names = [](const std::vector<OpCost>& ops) {
    std::vector<std::string> n;
    for (auto& o : ops) n.push_back(o.op);
    return n;
  };
  EXPECT_EQ(names(dense), (std::vector<std::string>{"attention_proj", "attention_core", "dense_ffn", "norm"}));
  EXPECT_EQ(names(moe), (std::vector<std::string>{"attention_proj", "attention_core", "gate", "expert_ffn",
                                                  "shared_expert", "norm"}));
  OpCost e = expert_ffn_per_token(m);
  EXPECT_DOUBLE_EQ(e.flops.value, 2.0 * 3 * 7168 * 2048);
  EXPECT_DOUBLE_EQ(e.weight_bytes.value, 3.0 * 7168 * 2048 * 2);
  EXPECT_DOUBLE_EQ(expert_weight_bytes(m).value, e.weight_bytes.value);
  EXPECT_DOUBLE_EQ(moe[2].flops.value, 2.0 * 7168 * 256);  // gate
  // Non-expert + all experts = every weight.
  ParamCounts c = count_params(m);
  EXPECT_NEAR(non_expert_weight_bytes(m).value + 58.0 * 256 * expert_weight_bytes(m).value, c.total * 2.0, 1.0);
  // Forward FLOPs per token at short context ~ 2 x active parameters (LM head included, input
  // embedding lookup not: it is no matrix product).
  double fwd = forward_flops_per_token(m, 1).value;
  EXPECT_NEAR(fwd / (2.0 * (c.active - c.lookup_embedding)), 1.0, 0.01);
}

TEST(ModelMath, IsMoeLayerPatterns) {
  ModelSpec m = deepseek_v3_like();
  EXPECT_FALSE(m.is_moe_layer(0));
  EXPECT_FALSE(m.is_moe_layer(2));
  EXPECT_TRUE(m.is_moe_layer(3));
  EXPECT_TRUE(m.is_moe_layer(60));
  EXPECT_EQ(m.moe_layer_count(), 58);
  ModelSpec s = small_dense_gpt();  // Switch-like: 12 + 12 blocks, MoE every other FFN
  s.family = "encoder_decoder";
  s.layers = 24;
  s.decoder_layers = 12;
  s.experts = 8;
  s.expert_ffn_dim = 3072;
  s.moe_every = 2;
  EXPECT_FALSE(s.is_moe_layer(0));
  EXPECT_TRUE(s.is_moe_layer(1));
  EXPECT_FALSE(s.is_moe_layer(12));  // first decoder block is dense, as in the encoder
  EXPECT_TRUE(s.is_moe_layer(13));
  EXPECT_EQ(s.moe_layer_count(), 12);
  // Decoder blocks carry cross-attention: twice the projections.
  EXPECT_DOUBLE_EQ(attention_params(s, 12), 2.0 * attention_params(s, 0));
}

TEST(EagerOperators, CountsFollowTheArchitecture) {
  // T5 / Switch-Base: RMSNorm (7 ops), relative positions, ReLU FFN, encoder-decoder.
  ModelSpec t5;
  t5.family = "encoder_decoder";
  t5.layers = 24;
  t5.decoder_layers = 12;
  t5.positions = PositionKind::relative;
  t5.norm = NormKind::rmsnorm;
  t5.ffn = FfnKind::gelu2;
  const EagerOperators o = eager_operators(t5);
  EXPECT_EQ(o.norm, 7);
  EXPECT_EQ(o.self_attention, 32);
  EXPECT_EQ(o.cross_attention, 24);
  EXPECT_EQ(o.gate, 20);
  EXPECT_EQ(o.expert_ffn, 6);
  EXPECT_EQ(o.dense_ffn, 13);
  EXPECT_EQ(o.lm_head, 11);
  EXPECT_EQ(o.attention_of(t5, 0), 32);   // encoder block
  EXPECT_EQ(o.attention_of(t5, 12), 56);  // decoder block: self + cross
  // A RoPE + SwiGLU decoder (Mixtral-like): rotary q and k and the scale, no cross-attention.
  ModelSpec llama;
  llama.family = "decoder";
  llama.positions = PositionKind::rope;
  llama.ffn = FfnKind::swiglu3;
  const EagerOperators l = eager_operators(llama);
  EXPECT_EQ(l.self_attention, 45);
  EXPECT_EQ(l.cross_attention, 0);
  EXPECT_EQ(l.expert_ffn, 8);
  // LayerNorm is one fused call.
  llama.norm = NormKind::layernorm;
  EXPECT_EQ(eager_operators(llama).dense_ffn, 1 + 6 + 2);
}
