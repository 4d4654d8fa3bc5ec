// Reader of the model catalog schema (docs/models.md). Each table's keys are read in one function
// and the table is finish()ed there, so an unknown key is reported where it was written.
#include "models/model_reader.hpp"

#include <fmt/format.h>

#include "sim/core/suggest.hpp"

namespace moesim::model {
namespace {

constexpr int64_t kMaxDim = int64_t{1} << 40;

hw::Dtype read_dtype(const config::Table& t, std::string_view key, std::string_view def) {
  std::string name = t.choice_or(key, hw::dtype_names(), def);
  return *hw::dtype_from_name(name);
}

EmbeddingCounting read_counting(const config::Table& t, std::string_view key, EmbeddingCounting def) {
  std::string v = t.choice_or(key, {"all", "output", "none"}, embedding_counting_name(def));
  if (v == "output") return EmbeddingCounting::output;
  if (v == "none") return EmbeddingCounting::none;
  return EmbeddingCounting::all;
}

void read_top_level(const config::Table& t, ModelSpec& m) {
  m.name = t.string_or("name", t.string_or("resolved_from", ""));
  if (m.name.empty()) t.fail("name", "required key is missing (or give preset = \"<catalog entry>\")");
  m.family = t.choice_or("family", {"decoder", "encoder", "encoder_decoder"}, "decoder");
  m.layers = t.integer_in("layers", 1, 100000);
  m.d_model = t.integer_in("d_model", 1, kMaxDim);
  m.vocab_size = t.integer_in("vocab_size", 1, kMaxDim);
  m.tie_embeddings = t.boolean_or("tie_embeddings", false);
  m.max_seq_len = t.integer_in_or("max_seq_len", 1, kMaxDim, 2048);
  std::string pos = t.choice_or("positions", {"rope", "learned", "relative"}, "rope");
  m.positions = pos == "learned" ? PositionKind::learned
              : pos == "relative" ? PositionKind::relative : PositionKind::rope;
  m.norm = t.choice_or("norm", {"rmsnorm", "layernorm"}, "rmsnorm") == "layernorm" ? NormKind::layernorm
                                                                                    : NormKind::rmsnorm;
  m.bias = t.boolean_or("bias", false);
  m.source = t.string_or("source", "");
  if (m.family == "encoder_decoder") {
    m.decoder_layers = t.integer_in("decoder_layers", 1, m.layers - 1);
  } else if (t.has("decoder_layers")) {
    t.fail("decoder_layers", "only an encoder_decoder model has decoder_layers");
  }
}

void read_mla(const config::Table& a, ModelSpec& m) {
  m.mla.q_lora_rank = a.integer_in_or("q_lora_rank", 0, kMaxDim, 0);
  m.mla.kv_lora_rank = a.integer_in("kv_lora_rank", 1, kMaxDim);
  m.mla.qk_nope_head_dim = a.integer_in("qk_nope_head_dim", 1, kMaxDim);
  m.mla.qk_rope_head_dim = a.integer_in("qk_rope_head_dim", 0, kMaxDim);
  m.mla.v_head_dim = a.integer_in("v_head_dim", 1, kMaxDim);
}

void read_attention(const config::Table& t, ModelSpec& m) {
  config::Table a = t.table("attention");
  std::string kind = a.choice("kind", {"mha", "gqa", "mla"});
  m.attention = kind == "gqa" ? AttentionKind::gqa : kind == "mla" ? AttentionKind::mla : AttentionKind::mha;
  m.heads = a.integer_in("heads", 1, kMaxDim);
  if (m.attention == AttentionKind::mla) {
    read_mla(a, m);
    m.kv_heads = m.heads;
    m.head_dim = m.mla.v_head_dim;
  } else {
    m.kv_heads = m.attention == AttentionKind::gqa ? a.integer_in("kv_heads", 1, m.heads) : m.heads;
    if (m.heads % m.kv_heads != 0) {
      a.fail("kv_heads", fmt::format("{} query heads do not divide into {} key/value groups", m.heads, m.kv_heads));
    }
    if (a.has("head_dim")) {
      m.head_dim = a.integer_in("head_dim", 1, kMaxDim);
    } else if (m.d_model % m.heads != 0) {
      a.fail("heads", fmt::format("d_model {} is not divisible by {} heads (give head_dim explicitly)",
                                  m.d_model, m.heads));
    } else {
      m.head_dim = m.d_model / m.heads;
    }
  }
  a.finish();
}

void read_ffn(const config::Table& t, ModelSpec& m) {
  config::Table f = t.table("ffn");
  m.ffn = f.choice("kind", {"gelu2", "swiglu3"}) == "gelu2" ? FfnKind::gelu2 : FfnKind::swiglu3;
  m.dense_ffn_dim = f.integer_in_or("dense_dim", 0, kMaxDim, 0);
  f.finish();
}

void read_moe(const config::Table& t, ModelSpec& m) {
  auto mt = t.table_opt("moe");
  if (!mt) return;  // a dense model
  const config::Table& e = *mt;
  m.experts = e.integer_in("experts", 1, 1 << 20);
  m.top_k = e.integer_in("top_k", 1, 1 << 20);
  if (m.top_k > m.experts) {
    e.fail("top_k", fmt::format("top_k {} exceeds the {} routed experts", m.top_k, m.experts));
  }
  m.expert_ffn_dim = e.integer_in("expert_dim", 1, kMaxDim);
  m.shared_experts = e.integer_in_or("shared_experts", 0, 1 << 20, 0);
  m.shared_expert_ffn_dim = m.shared_experts > 0 ? e.integer_in_or("shared_expert_dim", 1, kMaxDim, m.expert_ffn_dim)
                                                 : e.integer_in_or("shared_expert_dim", 0, kMaxDim, 0);
  m.first_dense_layers = e.integer_in_or("first_dense_layers", 0, m.layers, 0);
  m.moe_every = e.integer_in_or("every", 1, m.layers, 1);
  m.capacity_factor = e.number_in_or("capacity_factor", 0.0, 1e6, 0.0);
  e.finish();
}

void read_dtypes(const config::Table& t, ModelSpec& m) {
  config::Table d = t.table_or_empty("dtypes");
  m.weight_dtype = read_dtype(d, "weights", "bf16");
  m.activation_dtype = read_dtype(d, "activations", hw::dtype_name(m.weight_dtype));
  m.dispatch_dtype = read_dtype(d, "dispatch", hw::dtype_name(m.activation_dtype));
  m.combine_dtype = read_dtype(d, "combine", hw::dtype_name(m.activation_dtype));
  d.finish();
}

void read_published(const config::Table& t, ModelSpec& m) {
  config::Table p = t.table_or_empty("published");
  m.published_total_params = p.number_in_or("total_params", 0, 1e16, 0);
  m.published_active_params = p.number_in_or("active_params", 0, 1e16, 0);
  m.published_total_embeddings = read_counting(p, "embeddings", EmbeddingCounting::all);
  m.published_active_embeddings = read_counting(p, "active_embeddings", m.published_total_embeddings);
  m.published_tolerance = p.number_in_or("tolerance", 0.0, 1.0, 0.02);
  if (m.published_active_params > m.published_total_params && m.published_total_params > 0) {
    p.fail("active_params", "active parameters exceed the total");
  }
  p.finish();
}

// Cross-key checks that need the whole spec.
void validate(const config::Table& t, const ModelSpec& m) {
  int64_t moe_layers = m.moe_layer_count();
  if (m.experts > 0 && moe_layers == 0) {
    t.fail("moe", fmt::format("no layer is an MoE layer (layers {}, moe.first_dense_layers {}, moe.every {})",
                              m.layers, m.first_dense_layers, m.moe_every));
  }
  if (moe_layers < m.layers && m.dense_ffn_dim <= 0) {
    t.fail("ffn", fmt::format("{} of {} layers are dense: ffn.dense_dim is required", m.layers - moe_layers, m.layers));
  }
}

}  // namespace

ModelSpec read_model(config::Table t) {
  t.resolve_preset("models/catalog");
  ModelSpec m;
  read_top_level(t, m);
  read_attention(t, m);
  read_ffn(t, m);
  read_moe(t, m);
  read_dtypes(t, m);
  read_published(t, m);
  validate(t, m);
  t.finish();
  return m;
}

ModelSpec load_catalog_model(std::string_view name) {
  auto doc = config::Document::parse(fmt::format("preset = \"{}\"\n", name), "model");
  return read_model(config::Table::root(doc));
}

std::vector<std::string> catalog_model_names() { return config::preset_names("models/catalog"); }

}  // namespace moesim::model
