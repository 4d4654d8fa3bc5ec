// `moesim show model <name>`: a catalog model's architecture, parameter counts (computed and
// published), per-operator FLOPs and bytes per token, KV-cache bytes per token.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "models/model_math.hpp"
#include "models/model_reader.hpp"
#include "sim/app/show.hpp"
#include "sim/core/registry.hpp"

namespace moesim::app {
namespace {

using namespace moesim::model;

constexpr int64_t kShowContext = 4096;  // attention context of the per-operator table

std::string billions(double v) { return fmt::format("{:.3f}B", v / 1e9); }

void print_architecture(const ModelSpec& m) {
  fmt::print("model {} ({})\n  source: {}\n", m.name, m.family, m.source);
  fmt::print("  layers {}{}, d_model {}, vocab {}{}, positions {}, norm {}{}\n", m.layers,
             m.decoder_layers > 0 ? fmt::format(" ({} encoder + {} decoder)", m.layers - m.decoder_layers, m.decoder_layers) : "",
             m.d_model, m.vocab_size, m.tie_embeddings ? " (tied)" : "", position_kind_name(m.positions),
             norm_kind_name(m.norm), m.bias ? ", biases" : "");
  if (m.attention == AttentionKind::mla) {
    fmt::print("  attention mla: {} heads, q_lora {}, kv_lora {}, qk {}+{}, v {}\n", m.heads, m.mla.q_lora_rank,
               m.mla.kv_lora_rank, m.mla.qk_nope_head_dim, m.mla.qk_rope_head_dim, m.mla.v_head_dim);
  } else {
    fmt::print("  attention {}: {} heads, {} kv heads, head_dim {}\n", attention_kind_name(m.attention), m.heads,
               m.kv_heads, m.head_dim);
  }
  fmt::print("  ffn {}: dense dim {}\n", ffn_kind_name(m.ffn), m.dense_ffn_dim);
  if (m.experts > 0) {
    fmt::print("  moe: {} of {} layers (first {} dense, every {}), {} experts top-{}, expert dim {}, {} shared (dim {}), capacity factor {}\n",
               m.moe_layer_count(), m.layers, m.first_dense_layers, m.moe_every, m.experts, m.top_k, m.expert_ffn_dim,
               m.shared_experts, m.shared_expert_ffn_dim, m.capacity_factor > 0 ? fmt::format("{}", m.capacity_factor) : "none");
  }
  fmt::print("  dtypes: weights {}, activations {}\n", hw::dtype_name(m.weight_dtype), hw::dtype_name(m.activation_dtype));
}

void print_published(const char* what, double computed_as_published, double published, EmbeddingCounting c) {
  if (published <= 0) {
    fmt::print("  {:<7} published: not published\n", what);
    return;
  }
  fmt::print("  {:<7} published: {} (embeddings counted: {}); computed the same way {} ({:+.2f}%)\n", what,
             billions(published), embedding_counting_name(c), billions(computed_as_published),
             100.0 * (computed_as_published - published) / published);
}

void print_params(const ModelSpec& m) {
  ParamCounts c = count_params(m);
  fmt::print("parameters:\n  total {}  active {}  (per token, top-{})\n", billions(c.total), billions(c.active), m.top_k);
  fmt::print("  embedding {}  attention {}  dense_ffn {}  routed_experts {}  shared_experts {}  router {}  norms {}\n",
             billions(c.embedding), billions(c.attention), billions(c.dense_ffn), billions(c.routed_experts),
             billions(c.shared_experts), billions(c.router), billions(c.norms));
  fmt::print("  per expert {:.2f}M params = {}\n", c.per_expert / 1e6, format_bytes(expert_weight_bytes(m)));
  print_published("total", count_as_published(c, m, false), m.published_total_params, m.published_total_embeddings);
  print_published("active", count_as_published(c, m, true), m.published_active_params, m.published_active_embeddings);
}

void print_layer_ops(const ModelSpec& m, int64_t layer, int64_t context) {
  fmt::print("layer {} ({}), per token, context {}:\n", layer, m.is_moe_layer(layer) ? "MoE" : "dense", context);
  fmt::print("  {:<16} {:>14} {:>14} {:>16}\n", "op", "flops", "weight_bytes", "activation_bytes");
  for (const auto& op : layer_ops_per_token(m, layer, context)) {
    fmt::print("  {:<16} {:>14} {:>14} {:>16}\n", op.op, format_flops(op.flops), format_bytes(op.weight_bytes),
               format_bytes(op.activation_bytes));
  }
}

void show_model(const std::string& name) {
  ModelSpec m = load_catalog_model(name);
  print_architecture(m);
  print_params(m);
  int64_t context = std::min(kShowContext, m.max_seq_len);
  int64_t first_moe = -1, first_dense = -1;
  for (int64_t l = 0; l < m.layers; ++l) {
    if (m.is_moe_layer(l) && first_moe < 0) first_moe = l;
    if (!m.is_moe_layer(l) && first_dense < 0) first_dense = l;
  }
  if (first_dense >= 0) print_layer_ops(m, first_dense, context);
  if (first_moe >= 0) {
    print_layer_ops(m, first_moe, context);
    fmt::print("  (expert_ffn is one expert for one token; a token visits top-{} experts)\n", m.top_k);
  }
  auto head = lm_head_per_token(m);
  fmt::print("lm_head per token: {}, {} of weights\n", format_flops(head.flops), format_bytes(head.weight_bytes));
  fmt::print("forward per token (context {}): {}\n", context, format_flops(forward_flops_per_token(m, context)));
  fmt::print("weights: routed experts {} each, non-expert {}\n", format_bytes(expert_weight_bytes(m)),
             format_bytes(non_expert_weight_bytes(m)));
  fmt::print("kv cache per token: {}   hidden state per token: {}\n", format_bytes(kv_cache_bytes_per_token(m)),
             format_bytes(hidden_bytes_per_token(m)));
}

MOESIM_SHOW_TARGET(ShowTarget{"model", "an MoE model of models/catalog: architecture, parameters, FLOPs and bytes per token",
                              [] { return catalog_model_names(); }, show_model});

}  // namespace
}  // namespace moesim::app
