#pragma once
// An MoE model's architecture (pure data), read from models/catalog/<name>.toml by
// models/model_reader.hpp. Computations on it (parameter counts, FLOPs and bytes per operator per
// token, KV-cache bytes) live in models/model_math.hpp.
#include <cstdint>
#include <string>
#include <vector>

#include "hardware/spec.hpp"

namespace moesim::model {

enum class AttentionKind { mha, gqa, mla };
enum class FfnKind { gelu2, swiglu3 };  // GELU/ReLU: 2 matrices (up, down); SwiGLU: 3 (gate, up, down)
enum class PositionKind { rope, learned, relative };  // learned = a max_seq_len x d_model table
enum class NormKind { rmsnorm, layernorm };           // parameters per norm: d (RMS) or 2d (LN)
// Which embedding matrices a publisher's parameter figure includes: every one, only the output
// projection (LM head; the input lookup excluded), or none ("non-embedding parameters").
enum class EmbeddingCounting { all, output, none };

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
  int64_t decoder_layers = 0;   // encoder_decoder only: the last decoder_layers blocks are decoder
                                // blocks (self + cross attention); 0 otherwise
  int64_t d_model = 0;
  int64_t vocab_size = 0;
  bool tie_embeddings = false;
  int64_t max_seq_len = 2048;
  PositionKind positions = PositionKind::rope;
  NormKind norm = NormKind::rmsnorm;
  bool bias = false;            // linear layers carry biases (GPT-2/BERT/Megatron style)

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
  // Wire formats of the MoE All-to-Alls (issue 18): dispatch-direction transfers (forward dispatch,
  // backward of combine) and combine-direction ones (forward combine, backward of dispatch).
  // DeepSeek-V3 (arXiv 2412.19437, Sec. 3.3.2): FP8 dispatch with 1x128 scales, BF16 combine.
  // fp8 adds one fp32 scale per 128 elements (workload::token_bytes). Default: activation_dtype.
  hw::Dtype dispatch_dtype = hw::Dtype::bf16;
  hw::Dtype combine_dtype = hw::Dtype::bf16;

  // Published figures the catalog entry cites, checked by tests (0 = not published).
  double published_total_params = 0;
  double published_active_params = 0;
  EmbeddingCounting published_total_embeddings = EmbeddingCounting::all;
  EmbeddingCounting published_active_embeddings = EmbeddingCounting::all;
  // Relative tolerance the catalog test allows for the published figures (default 2%); an entry
  // that needs more says why in its TOML.
  double published_tolerance = 0.02;
  std::string source;

  bool is_moe_layer(int64_t layer) const;
  int64_t moe_layer_count() const;
  bool is_decoder_block(int64_t layer) const;   // has cross-attention (encoder_decoder only)
  int64_t qk_head_dim() const;                  // per-head query/key width (MLA: nope + rope)
  int64_t v_head_dim() const;                   // per-head value width
};

std::string_view attention_kind_name(AttentionKind k);
std::string_view ffn_kind_name(FfnKind k);
std::string_view position_kind_name(PositionKind k);
std::string_view norm_kind_name(NormKind k);
std::string_view embedding_counting_name(EmbeddingCounting k);

}  // namespace moesim::model
