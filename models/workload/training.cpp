// The "training" workload (see training.hpp). Per iteration and device: weights, gradients and
// optimizer state are resident (mixed-precision Adam: 2 + 2 + 12 bytes per parameter, ZeRO paper
// Sec. 3.1); activations are saved by forward tasks and freed by their backward mirrors. Gradient
// all-reduces of each layer are issued as soon as that layer's last backward ends, so they overlap
// the backward of earlier layers (PyTorch DDP bucketing, Li et al. 2020, Sec. 3.2.3). The
// optimizer reads and writes every held parameter's weights, gradients and state (memory bound).
#include "models/workload/training.hpp"

#include <algorithm>
#include <map>

#include "models/workload/layout.hpp"
#include "models/workload/pipeline_training.hpp"
#include "models/workload/step_assembler.hpp"

namespace moesim::workload {

double device_params(const model::ModelSpec& m, int32_t experts_on_device) {
  double p = embedding_params(m);
  for (int64_t l = 0; l < m.layers; ++l) p += layer_non_expert_params(m, l);
  return p + expert_params(m) * experts_on_device * static_cast<double>(m.moe_layer_count());
}

namespace {

class Training final : public IWorkload {
 public:
  Training(TrainingParams p, const WorkloadContext& ctx) : p_(p), ctx_(ctx) {}
  int64_t steps() const override { return p_.steps; }
  bool is_inference() const override { return false; }

  BuiltStep build(int64_t step) override {
    BuiltStep out;
    out.graph.step = step;
    const auto& m = *ctx_.model;
    double cf = p_.capacity_factor >= 0 ? p_.capacity_factor : m.capacity_factor;
    StepAssembler a(ctx_, out.graph, out.info, cf);
    a.materialization_state().optimizer_bytes_per_param = p_.optimizer_bytes_per_param;
    int32_t P = a.devices();
    auto params = a.params_per_device(step);
    double gb = hw::dtype_bytes(p_.grad_dtype);
    a.materialization_state().grad_bytes_per_param = gb;
    a.add_resident(params, graph::MemCategory::weights, hw::dtype_bytes(m.weight_dtype));
    a.add_resident(params, graph::MemCategory::gradients, gb);
    a.add_resident(params, graph::MemCategory::optimizer_state, p_.optimizer_bytes_per_param);
    int64_t per_device = p_.micro_batch_size * p_.seq_len;
    int32_t halves = p_.two_batch_overlap ? 2 : 1;
    // Each sequence in one pass (FlashAttention: K/V read once); causal mean context (L + 1) / 2,
    // bidirectional encoders L.
    model::AttentionSpan span = model::sequence_span(static_cast<double>(p_.seq_len), model::causal_attention(m));
    double context = span.mean_context();
    std::vector<std::vector<graph::TaskId>> frontier(static_cast<size_t>(P));
    std::vector<graph::TaskId> reductions;
    for (int64_t acc = 0; acc < p_.micro_batches; ++acc) {
      bool last = acc + 1 == p_.micro_batches;
      std::vector<MicroBatch> mbs;
      for (int32_t h = 0; h < halves; ++h) {
        int64_t tok = per_device / halves + (h < per_device % halves ? 1 : 0);
        int64_t routing_step = (step * p_.micro_batches + acc) * halves + h;
        mbs.push_back(a.start(static_cast<int32_t>(acc * halves + h), routing_step,
                              std::vector<int64_t>(static_cast<size_t>(P), tok), context, true));
        mbs.back().frontier = frontier;
        mbs.back().attention = span;
        mbs.back().last_accumulation = last;
      }
      for (int32_t l = 0; l < m.layers; ++l)
        for (auto& mb : mbs) a.forward_layer(mb, l);
      for (auto& mb : mbs) {
        a.lm_head(mb, mb.tokens, false);
        a.lm_head(mb, mb.tokens, true);
      }
      for (int32_t l = static_cast<int32_t>(m.layers) - 1; l >= 0; --l) {
        for (auto& mb : mbs) a.backward_layer(mb, l);
        if (last) reduce_layer(a, mbs, l, gb, reductions);
      }
      for (int32_t d = 0; d < P; ++d) {
        frontier[d].clear();
        for (auto& mb : mbs) frontier[d].insert(frontier[d].end(), mb.frontier[d].begin(), mb.frontier[d].end());
      }
    }
    if (a.tp() > 1) {  // tensor parallel (ep_tp): shards reduced over each TP rank's data-parallel peers
      std::vector<graph::TaskId> deps;
      for (auto& f : frontier) deps.insert(deps.end(), f.begin(), f.end());
      a.tp_gradient_reductions(-1, deps, gb, reductions);
    } else if (P > 1) {
      graph::CollectiveWork w{graph::CollectiveKind::all_reduce, all_devices(P), {}, Bytes(embedding_params(m) * gb), 0, ""};
      std::vector<graph::TaskId> deps;
      for (auto& f : frontier) deps.insert(deps.end(), f.begin(), f.end());
      reductions.push_back(a.collective(w, "embedding.grad_allreduce", "grad_allreduce", -1, 0, deps));
    }
    on_dp_stream(a, reductions);
    for (int32_t d = 0; d < P; ++d) {
      std::vector<graph::TaskId> deps = frontier[d];
      deps.insert(deps.end(), reductions.begin(), reductions.end());
      deps.insert(deps.end(), a.sharding_reductions().begin(), a.sharding_reductions().end());
      // Adam: ~10 FLOPs per parameter; reads and writes weights, gradients and state.
      double bytes = 2.0 * params[d] * (hw::dtype_bytes(m.weight_dtype) + gb + p_.optimizer_bytes_per_param);
      a.compute(d, "optimizer", "optimizer", -1, 0, 10.0 * params[d], bytes, 0, 4, deps);
    }
    out.info.step = step;
    out.info.phase = "train";
    out.info.tokens = per_device * p_.micro_batches * P;
    out.info.output_tokens = out.info.tokens;
    return out;
  }

 private:
  static std::vector<int32_t> all_devices(int32_t P) {
    std::vector<int32_t> g(static_cast<size_t>(P));
    for (int32_t d = 0; d < P; ++d) g[d] = d;
    return g;
  }

  // Gradient all-reduce of layer l: non-expert weights over every device (they are replicated on
  // all), expert weights over the devices holding the same experts in different EP groups.
  void reduce_layer(StepAssembler& a, const std::vector<MicroBatch>& mbs, int32_t l, double gb,
                    std::vector<graph::TaskId>& reductions) {
    const auto& m = *ctx_.model;
    int32_t P = a.devices();
    std::vector<graph::TaskId> deps;
    for (const auto& mb : mbs) {
      auto f = a.all_frontier(mb);
      deps.insert(deps.end(), f.begin(), f.end());
    }
    if (a.tp() > 1) {
      a.tp_gradient_reductions(l, deps, gb, reductions);
      on_dp_stream(a, reductions);
      return;
    }
    if (P > 1) {
      graph::CollectiveWork w{graph::CollectiveKind::all_reduce, all_devices(P), {},
                              Bytes(layer_non_expert_params(m, l) * gb), 0, ""};
      reductions.push_back(a.collective(w, layer_task_name(l, "grad_allreduce"), "grad_allreduce", l, 0, deps));
    }
    if (!m.is_moe_layer(l)) return;
    // Devices holding copies of the same experts (across EP groups, or inside a group when ep > E)
    // all-reduce those experts' gradients.
    std::map<std::vector<int32_t>, int32_t> copies;  // sorted holder set -> experts it holds
    std::vector<std::vector<int32_t>> holders(static_cast<size_t>(m.experts));
    for (int32_t g = 0; g < P / a.ep(); ++g) {
      ExpertPlacement place = ctx_.sharding->place(PlacementRequest{0, 0, g});
      for (int32_t e = 0; e < place.experts(); ++e)
        holders[e].insert(holders[e].end(), place.holders[e].begin(), place.holders[e].end());
    }
    for (auto& h : holders) {
      std::sort(h.begin(), h.end());
      if (h.size() > 1) ++copies[h];
    }
    for (const auto& [group, experts] : copies) {
      graph::CollectiveWork w{graph::CollectiveKind::all_reduce, group, {}, Bytes(expert_params(m) * experts * gb), 0, ""};
      reductions.push_back(a.collective(w, layer_task_name(l, "expert_grad_allreduce"), "grad_allreduce", l, 0, deps));
    }
    on_dp_stream(a, reductions);
  }

  // Data-parallel gradient reductions on their own communication stream (issue 18): the device's
  // io stream, as the pipeline builder does, so they do not queue in front of the next layer's
  // backward dispatch on the comm stream (PyTorch DDP / Megatron-LM reduce gradients on their own
  // process group's NCCL stream, concurrent with the EP All-to-Alls). dp_stream = "comm" keeps
  // them on the comm stream (the serial schedule, for comparison).
  void on_dp_stream(StepAssembler& a, const std::vector<graph::TaskId>& reductions) const {
    if (p_.dp_stream != "separate") return;
    for (graph::TaskId t : reductions) a.task(t).stream = graph::Stream::io;
  }

  TrainingParams p_;
  WorkloadContext ctx_;
};

}  // namespace

TrainingParams read_training_params(const config::Table& t) {
  TrainingParams p;
  p.steps = t.integer_in_or("steps", 1, 1 << 20, p.steps);
  p.micro_batch_size = t.integer_in_or("micro_batch_size", 1, 1 << 20, p.micro_batch_size);
  p.seq_len = t.integer_in_or("seq_len", 1, 1 << 24, p.seq_len);
  p.micro_batches = t.integer_in_or("micro_batches", 1, 1 << 16, p.micro_batches);
  p.two_batch_overlap = t.boolean_or("two_batch_overlap", p.two_batch_overlap);
  p.capacity_factor = t.number_in_or("capacity_factor", 0.0, 1e6, -1.0);  // absent: -1 = the model's
  std::string g = t.choice_or("grad_dtype", {"fp32", "bf16", "fp16"}, "bf16");
  p.grad_dtype = *hw::dtype_from_name(g);
  p.optimizer_bytes_per_param = t.number_in_or("optimizer_bytes_per_param", 0.0, 64.0, p.optimizer_bytes_per_param);
  p.dp_stream = t.choice_or("dp_stream", {"separate", "comm"}, p.dp_stream);
  t.finish();
  return p;
}

std::unique_ptr<IWorkload> make_training(const TrainingParams& p, const WorkloadContext& ctx) {
  return std::make_unique<Training>(p, ctx);
}

MOESIM_REGISTER(WorkloadRegistry, "training",
                "MoE training: micro-batched forward/backward, gradient all-reduce, optimizer step",
                [](const config::Table& t, const WorkloadContext& ctx) {
                  // Pipeline stages, ZeRO or recomputation: the layout-aware builder;
                  // otherwise the replicated-weights builder above, unchanged.
                  if (ctx.layout && !ctx.layout->plain()) return make_pipeline_training(read_training_params(t), ctx);
                  return make_training(read_training_params(t), ctx);
                });

}  // namespace moesim::workload
