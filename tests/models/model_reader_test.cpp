#include <gtest/gtest.h>

#include "models/model_reader.hpp"

using namespace moesim;
using namespace moesim::model;

namespace {

// A small, complete model in the catalog schema; tests append or replace lines.
const char* kTiny = R"(name = "tiny"
layers = 4
d_model = 64
vocab_size = 100
[attention]
kind = "gqa"
heads = 8
kv_heads = 2
[ffn]
kind = "swiglu3"
dense_dim = 128
[moe]
experts = 4
top_k = 2
expert_dim = 32
first_dense_layers = 1
)";

ModelSpec parse(const std::string& text) {
  auto doc = config::Document::parse(text, "m.toml");
  return read_model(config::Table::root(doc));
}

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError for:\n" << text;
  return "";
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  auto p = s.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  return s.replace(p, from.size(), to);
}

}  // namespace

TEST(ModelReader, ReadsEveryField) {
  ModelSpec m = parse(kTiny);
  EXPECT_EQ(m.name, "tiny");
  EXPECT_EQ(m.family, "decoder");
  EXPECT_EQ(m.attention, AttentionKind::gqa);
  EXPECT_EQ(m.head_dim, 8);  // d_model / heads
  EXPECT_EQ(m.kv_heads, 2);
  EXPECT_EQ(m.experts, 4);
  EXPECT_EQ(m.top_k, 2);
  EXPECT_EQ(m.first_dense_layers, 1);
  EXPECT_EQ(m.moe_layer_count(), 3);
  EXPECT_EQ(m.weight_dtype, hw::Dtype::bf16);
  EXPECT_EQ(m.published_tolerance, 0.02);
}

TEST(ModelReader, TopKAboveExpertsIsLocated) {
  auto e = error_of(replace(kTiny, "top_k = 2", "top_k = 5"));
  EXPECT_NE(e.find("m.toml:14:9: error: moe.top_k: top_k 5 exceeds the 4 routed experts"), std::string::npos) << e;
}

TEST(ModelReader, UnknownAttentionKindSuggests) {
  auto e = error_of(replace(kTiny, "kind = \"gqa\"", "kind = \"gqaa\""));
  EXPECT_NE(e.find("m.toml:6:8: error: attention.kind: unknown value 'gqaa'"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'gqa'"), std::string::npos) << e;
  EXPECT_NE(e.find("mha, gqa, mla"), std::string::npos) << e;
}

TEST(ModelReader, HeadsMustDivide) {
  auto e = error_of(replace(kTiny, "kv_heads = 2", "kv_heads = 3"));
  EXPECT_NE(e.find("m.toml:8:12: error: attention.kv_heads: 8 query heads do not divide into 3"), std::string::npos) << e;
  e = error_of(replace(kTiny, "heads = 8\n", "heads = 6\nhead_dim = 0\n"));
  EXPECT_NE(e.find("attention.head_dim"), std::string::npos) << e;
  e = error_of(replace(replace(kTiny, "heads = 8\n", "heads = 6\n"), "kv_heads = 2", "kv_heads = 3"));
  EXPECT_NE(e.find("attention.heads: d_model 64 is not divisible by 6 heads"), std::string::npos) << e;
}

TEST(ModelReader, UnknownKeysAndBadDtypes) {
  auto e = error_of(replace(kTiny, "expert_dim = 32", "expert_dim = 32\nexpert_dims = 4"));
  EXPECT_NE(e.find("m.toml:16:15: error: moe.expert_dims: unknown key; did you mean 'expert_dim'?"), std::string::npos) << e;
  e = error_of(std::string(kTiny) + "[dtypes]\nweights = \"bf61\"\n");
  EXPECT_NE(e.find("dtypes.weights: unknown value 'bf61'"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'bf16'"), std::string::npos) << e;
  e = error_of(replace(kTiny, "layers = 4", "layers = 4\nlayer = 3"));
  EXPECT_NE(e.find("m.toml:3:9: error: layer: unknown key; did you mean 'layers'?"), std::string::npos) << e;
}

TEST(ModelReader, DenseLayersNeedDenseDim) {
  auto e = error_of(replace(kTiny, "dense_dim = 128\n", ""));
  EXPECT_NE(e.find("ffn: 1 of 4 layers are dense: ffn.dense_dim is required"), std::string::npos) << e;
}

TEST(ModelReader, EncoderDecoderNeedsDecoderLayers) {
  auto e = error_of(replace(kTiny, "layers = 4", "family = \"encoder_decoder\"\nlayers = 4"));
  EXPECT_NE(e.find("decoder_layers: required key is missing"), std::string::npos) << e;
  ModelSpec m = parse(replace(kTiny, "layers = 4", "family = \"encoder_decoder\"\nlayers = 4\ndecoder_layers = 2"));
  EXPECT_FALSE(m.is_decoder_block(1));
  EXPECT_TRUE(m.is_decoder_block(2));
}

TEST(ModelReader, PresetWithOverrideAndErrorInOverride) {
  ModelSpec m = parse("preset = \"mixtral_8x7b\"\n[moe]\ntop_k = 1\n");
  EXPECT_EQ(m.name, "mixtral_8x7b");
  EXPECT_EQ(m.top_k, 1);
  EXPECT_EQ(m.experts, 8);
  auto e = error_of("preset = \"mixtral_8x7b\"\n[moe]\ntop_k = 9\n");
  EXPECT_NE(e.find("m.toml:3:9: error: moe.top_k: top_k 9 exceeds the 8 routed experts"), std::string::npos) << e;
  e = error_of("preset = \"mixtral_8x7\"\n");
  EXPECT_NE(e.find("did you mean 'mixtral_8x7b'"), std::string::npos) << e;
}
