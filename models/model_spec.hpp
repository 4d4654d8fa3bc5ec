#pragma once
// An MoE model's architecture (pure data), read from models/catalog/<name>.toml.
// Computations on it (parameter counts, FLOPs and bytes per operator per token, KV-cache bytes)
// live in models/model_math.hpp.
#include <cstdint>
#include <string>
#include <vector>

#include "hardware/spec.hpp"

namespace moesim::model {

enum class AttentionKind { mha, gqa, mla };
enum class FfnKind { gelu2, swiglu3 };  // GELU/ReLU: 2 matrices (up, down); SwiGLU: 3 (gate, up, down)

struct MlaParams {  // DeepSeek-V2/V3 multi-head latent attention
  int64_t q_lora_rank = 0;    // 0 = no query compression
  int64_t kv_lora_rank = 512;
  int64_t qk_nope_head_dim = 128;
  int64_t qk_rope_head_dim = 64;
  int64_t v_head_dim = 128;
};

struct ModelSpec {
  std::string name;
  std::string family;           // "decoder" | "encoder" | "encoder_decoder"
  int64_t layers = 0;           // transformer blocks (for encoder-decoder: total of both stacks)
  int64_t d_model = 0;
  int64_t vocab_size = 0;
  bool tie_embeddings = false;
  int64_t max_seq_len = 2048;

  AttentionKind attention = AttentionKind::mha;
  int64_t heads = 0;
  int64_t kv_heads = 0;         // = heads for MHA
  int64_t head_dim = 0;         // usually d_model / heads
  MlaParams mla;

  FfnKind ffn = FfnKind::swiglu3;
  int64_t dense_ffn_dim = 0;    // FFN width of dense (non-MoE) layers

  // MoE layers
  int64_t experts = 0;          // routed experts per MoE layer
  int64_t top_k = 1;
  int64_t expert_ffn_dim = 0;   // FFN width of one routed expert
  int64_t shared_experts = 0;   // always-active experts per MoE layer
  int64_t shared_expert_ffn_dim = 0;
  int64_t first_dense_layers = 0;  // leading layers that are dense (DeepSeek: first_k_dense_replace)
  int64_t moe_every = 1;           // every n-th layer (after the dense ones) is MoE (GShard/Switch: 2)
  double capacity_factor = 0.0;    // 0 = no capacity limit (dropless)

  hw::Dtype weight_dtype = hw::Dtype::bf16;
  hw::Dtype activation_dtype = hw::Dtype::bf16;

  // Published figures the catalog entry cites, checked by tests (0 = not published).
  double published_total_params = 0;
  double published_active_params = 0;
  std::string source;

  bool is_moe_layer(int64_t layer) const;
  int64_t moe_layer_count() const;
};

}  // namespace moesim::model
