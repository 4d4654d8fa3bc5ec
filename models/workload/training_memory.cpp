// Memory of pipelined / ZeRO training from the model and the layout alone (pipeline_training.hpp):
// no step graph, no routing (experts assumed balanced: each device's experts see top_k x its tokens).
#include <algorithm>

#include "models/workload/pipeline_build.hpp"
#include "models/workload/pipeline_training.hpp"
#include "models/workload/token_costs.hpp"

namespace moesim::workload {

namespace {

using graph::MemCategory;
using K = PipelineOp::Kind;

struct ChunkActivations {
  double kept = 0;  // saved for backward under the layout's recomputation
  double full = 0;  // without recomputation
};

ChunkActivations chunk_activations(const model::ModelSpec& m, const Layout& L, int32_t chunk, double tokens,
                                   const model::AttentionSpan& span) {
  ChunkActivations a;
  const double k = static_cast<double>(m.top_k);
  for (int32_t l = L.chunk_first_layer[chunk]; l < L.chunk_first_layer[chunk + 1]; ++l) {
    LayerTokenCosts c = layer_token_costs(m, l, span);
    auto add = [&](const char* op, double bytes) {
      a.full += bytes;
      a.kept += bytes * recompute_keep_share(L.recompute, op);
    };
    add("attention", tokens * c.saved_activation_bytes);
    if (m.is_moe_layer(l)) {
      add("expert_ffn", tokens * k * c.saved_expert_bytes);
      add("shared_expert", tokens * c.saved_shared_bytes);
    } else {
      add("dense_ffn", tokens * c.saved_dense_bytes);
    }
  }
  return a;
}

}  // namespace

std::vector<MemoryPeak> estimate_training_memory(const TrainingParams& p, const WorkloadContext& ctx) {
  const Layout& L = *ctx.layout;
  const auto& m = *ctx.model;
  PipelinePlan plan = L.schedule->plan(L.pp, static_cast<int32_t>(p.micro_batches));
  auto chunks = chunks_of_stages(plan);
  const double w = hw::dtype_bytes(m.weight_dtype), g = hw::dtype_bytes(p.grad_dtype);
  const double ab = hw::dtype_bytes(m.activation_dtype), hidden = model::hidden_bytes_per_token(m).value;
  const double T = static_cast<double>(p.micro_batch_size * p.seq_len);
  const double k = static_cast<double>(m.top_k);
  model::AttentionSpan span = model::sequence_span(static_cast<double>(p.seq_len), model::causal_attention(m));
  std::vector<MemoryPeak> out(static_cast<size_t>(L.devices));
  for (int32_t st = 0; st < L.pp; ++st) {
    auto sctx = stage_context(ctx, L.stage_devices[st]);
    auto params = stage_device_params(*sctx, L, chunks[st], 0);
    std::map<int32_t, ChunkActivations> act;
    for (int32_t c : chunks[st]) act[c] = chunk_activations(m, L, c, T, span);
    // Activations the schedule keeps in flight on this stage (freed by the backward, or by W).
    double now = 0, peak = 0, regrown = 0;
    for (const auto& slot : plan.slots[st])
      for (const auto& op : slot.ops) {
        if (op.kind == K::forward) now += act[op.chunk].kept;
        if (op.kind == K::backward || op.kind == K::backward_weight) now -= act[op.chunk].kept;
        peak = std::max(peak, now);
      }
    for (const auto& [c, a] : act) regrown = std::max(regrown, a.full - a.kept);  // one chunk recomputed at a time
    // The largest transient of one layer: All-to-All buffers with the expert GEMMs' workspace, the
    // attention workspace, or the fp32 logits on the stage with the LM head.
    double a2a = m.experts > 0 ? 2.0 * T * k * hidden : 0.0;
    double expert_ws = m.experts > 0 ? T * k * 2.0 * static_cast<double>(m.expert_ffn_dim) * ab : 0.0;
    bool head = std::find(chunks[st].begin(), chunks[st].end(), plan.chunks - 1) != chunks[st].end();
    double workspace = std::max({expert_ws, 4.0 * T * hidden, head ? T * static_cast<double>(m.vocab_size) * 4.0 : 0.0});
    for (size_t d = 0; d < L.stage_devices[st].size(); ++d) {
      ZeroBytes z = resident_bytes(params[d], L, w, g, p.optimizer_bytes_per_param);
      double gathered = 0;  // ZeRO-3: the largest chunk's weights gathered for one op
      if (L.zero_dense >= 3 || L.zero_expert >= 3)
        for (int32_t c : chunks[st]) {
          double dense = L.zero_dense >= 3 ? chunk_dense_params(m, L, c) / sctx->sharding->tensor_parallel().tp *
                                                 (1.0 - 1.0 / params[d].dense_dp) : 0.0;
          double expert = L.zero_expert >= 3 ? (params[d].expert - params[d].expert_per_dp) / static_cast<double>(chunks[st].size()) : 0.0;
          gathered = std::max(gathered, (dense + expert) * w);
        }
      MemoryPeak mp;
      mp.by_category.assign(graph::kMemCategories, 0.0);
      mp.by_category[static_cast<size_t>(MemCategory::weights)] = z.weights + gathered;
      mp.by_category[static_cast<size_t>(MemCategory::gradients)] = z.gradients;
      mp.by_category[static_cast<size_t>(MemCategory::optimizer_state)] = z.optimizer;
      mp.by_category[static_cast<size_t>(MemCategory::activations)] = peak + regrown;
      mp.by_category[static_cast<size_t>(MemCategory::a2a_buffers)] = a2a;
      mp.by_category[static_cast<size_t>(MemCategory::workspace)] = workspace;
      for (double v : mp.by_category) mp.total += v;
      out[static_cast<size_t>(L.stage_devices[st][d])] = mp;
    }
  }
  return out;
}

}  // namespace moesim::workload
