#include "models/model_spec.hpp"

namespace moesim::model {

bool ModelSpec::is_moe_layer(int64_t layer) const {
  if (experts <= 0 || layer < first_dense_layers) return false;
  int64_t every = moe_every > 0 ? moe_every : 1;
  // GShard/Switch convention: with moe_every = 2 the 2nd, 4th, ... layers are MoE.
  return (layer - first_dense_layers + 1) % every == 0;
}

int64_t ModelSpec::moe_layer_count() const {
  int64_t n = 0;
  for (int64_t l = 0; l < layers; ++l) n += is_moe_layer(l) ? 1 : 0;
  return n;
}

bool ModelSpec::is_decoder_block(int64_t layer) const {
  return family == "encoder_decoder" && layer >= layers - decoder_layers;
}

int64_t ModelSpec::qk_head_dim() const {
  return attention == AttentionKind::mla ? mla.qk_nope_head_dim + mla.qk_rope_head_dim : head_dim;
}

int64_t ModelSpec::v_head_dim() const {
  return attention == AttentionKind::mla ? mla.v_head_dim : head_dim;
}

std::string_view attention_kind_name(AttentionKind k) {
  switch (k) {
    case AttentionKind::mha: return "mha";
    case AttentionKind::gqa: return "gqa";
    case AttentionKind::mla: return "mla";
  }
  return "?";
}

std::string_view ffn_kind_name(FfnKind k) { return k == FfnKind::gelu2 ? "gelu2" : "swiglu3"; }

std::string_view position_kind_name(PositionKind k) {
  switch (k) {
    case PositionKind::rope: return "rope";
    case PositionKind::learned: return "learned";
    case PositionKind::relative: return "relative";
  }
  return "?";
}

std::string_view norm_kind_name(NormKind k) { return k == NormKind::rmsnorm ? "rmsnorm" : "layernorm"; }

std::string_view embedding_counting_name(EmbeddingCounting k) {
  switch (k) {
    case EmbeddingCounting::all: return "all";
    case EmbeddingCounting::output: return "output";
    case EmbeddingCounting::none: return "none";
  }
  return "?";
}

}  // namespace moesim::model
