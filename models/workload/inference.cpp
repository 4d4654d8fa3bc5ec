// The "inference" workload (see inference.hpp). TTFT is the prefill step's time (all requests
// arrive together), TPOT the mean decode step time (Agrawal et al. 2024, "Vidur", Sec. 2 metrics).
#include "models/workload/inference.hpp"

#include <fmt/format.h>

#include "models/workload/step_assembler.hpp"

namespace moesim::workload {
namespace {

// Splits n items over `parts` as evenly as possible, the first ones getting one more.
std::vector<int64_t> split(int64_t n, int64_t parts) {
  std::vector<int64_t> out(static_cast<size_t>(parts), n / parts);
  for (int64_t i = 0; i < n % parts; ++i) ++out[static_cast<size_t>(i)];
  return out;
}

class Inference final : public IWorkload {
 public:
  Inference(InferenceParams p, const WorkloadContext& ctx) : p_(std::move(p)), ctx_(ctx) {}

  int64_t steps() const override {
    if (p_.phases == "prefill") return 1;
    return p_.generate_tokens;
  }
  bool is_inference() const override { return true; }

  BuiltStep build(int64_t step) override {
    BuiltStep out;
    out.graph.step = step;
    out.graph.tasks.reserve(last_task_count_);  // steps are alike: no regrowth (docs/performance.md)
    bool prefill = p_.phases != "decode" && step == 0;
    int64_t kv_before = p_.phases == "decode" ? p_.prompt_tokens + step : (prefill ? 0 : p_.prompt_tokens + step - 1);
    // Attention of one request: prefill runs its whole prompt in one pass (FlashAttention: K/V read
    // once), a decode step one query over the cache (model::AttentionSpan).
    model::AttentionSpan span = prefill ? model::sequence_span(static_cast<double>(p_.prompt_tokens), model::causal_attention(*ctx_.model))
                                        : model::AttentionSpan{1.0, static_cast<double>(kv_before), true};
    double context = span.mean_context();
    double cf = p_.capacity_factor >= 0 ? p_.capacity_factor : ctx_.model->capacity_factor;
    StepAssembler a(ctx_, out.graph, out.info, cf);
    int32_t P = a.devices();
    auto requests = split(p_.batch, P);
    double wb = hw::dtype_bytes(ctx_.model->weight_dtype);
    a.add_resident(a.params_per_device(step), graph::MemCategory::weights, wb);
    double kv_per_token = 0;
    for (int64_t l = 0; l < ctx_.model->layers; ++l) kv_per_token += model::kv_cache_bytes_per_token(*ctx_.model, l).value;
    for (int32_t d = 0; d < P; ++d)
      out.graph.resident.push_back(graph::MemDelta{d, graph::MemCategory::kv_cache,
                                                   Bytes(static_cast<double>(requests[d] * kv_before) * kv_per_token)});
    int32_t halves = p_.two_batch_overlap ? 2 : 1;
    std::vector<MicroBatch> mbs;
    std::vector<std::vector<int64_t>> outputs;
    for (int32_t h = 0; h < halves; ++h) {
      std::vector<int64_t> req(static_cast<size_t>(P)), tok(static_cast<size_t>(P));
      for (int32_t d = 0; d < P; ++d) {
        req[d] = split(requests[d], halves)[h];
        tok[d] = prefill ? req[d] * p_.prompt_tokens : req[d];
      }
      mbs.push_back(a.start(h, step * halves + h, tok, context, false));
      mbs.back().attention = span;
      outputs.push_back(req);
    }
    for (int32_t l = 0; l < ctx_.model->layers; ++l)
      for (auto& mb : mbs) a.forward_layer(mb, l);
    for (int32_t h = 0; h < halves; ++h) a.lm_head(mbs[h], outputs[h], false);
    out.info.step = step;
    out.info.phase = prefill ? "prefill" : "decode";
    out.info.tokens = prefill ? p_.batch * p_.prompt_tokens : p_.batch;
    out.info.output_tokens = p_.batch;
    last_task_count_ = out.graph.tasks.size();
    return out;
  }

 private:
  InferenceParams p_;
  size_t last_task_count_ = 0;  // tasks of the step built last (the next one reserves as many)
  WorkloadContext ctx_;
};

}  // namespace

InferenceParams read_inference_params(const config::Table& t) {
  InferenceParams p;
  p.batch = t.integer_in_or("batch", 1, 1 << 24, p.batch);
  p.prompt_tokens = t.integer_in_or("prompt_tokens", 1, 1 << 24, p.prompt_tokens);
  p.generate_tokens = t.integer_in_or("generate_tokens", 1, 1 << 24, p.generate_tokens);
  p.phases = t.choice_or("phases", {"both", "prefill", "decode"}, p.phases);
  p.two_batch_overlap = t.boolean_or("two_batch_overlap", p.two_batch_overlap);
  p.capacity_factor = t.number_in_or("capacity_factor", 0.0, 1e6, -1.0);  // absent: -1 = the model's
  t.finish();
  return p;
}

std::unique_ptr<IWorkload> make_inference(const InferenceParams& p, const WorkloadContext& ctx) {
  return std::make_unique<Inference>(p, ctx);
}

MOESIM_REGISTER(WorkloadRegistry, "inference",
                "MoE inference: prefill of a batch of prompts, then one decode step per generated token",
                [](const config::Table& t, const WorkloadContext& ctx) { return make_inference(read_inference_params(t), ctx); });

}  // namespace moesim::workload
