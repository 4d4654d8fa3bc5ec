// The pipelined training workload (pipeline_training.hpp): setup from the layout, one
// PipelineBuild per step, and the pipeline metrics of a finished run.
#include "models/workload/pipeline_training.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "models/workload/pipeline_build.hpp"
#include "models/workload/pipeline_metrics.hpp"
#include "sim/core/errors.hpp"

namespace moesim::workload {
namespace {

using K = PipelineOp::Kind;

// Nominal op durations for the emission order: proportional to the chunk's layers (forward 1,
// backward 2, B and W 1 each per layer).
double nominal(const Layout& l, const PipelineOp& op) {
  double layers = l.chunk_first_layer[op.chunk + 1] - l.chunk_first_layer[op.chunk];
  return op.kind == K::backward ? 2.0 * layers : layers;
}

PipelineSetup make_setup(const TrainingParams& p, const WorkloadContext& ctx) {
  PipelineSetup s;
  s.params = p;
  s.model = ctx.model;
  s.layout = ctx.layout;
  const Layout& L = *ctx.layout;
  const int32_t D = L.stage_size();
  const int32_t ep = ctx.sharding ? ctx.sharding->ep() : D;
  const int32_t tp = ctx.sharding ? ctx.sharding->tensor_parallel().tp : 1;
  if (D % (ep * tp) != 0)
    throw InfeasibleError(fmt::format("a pipeline stage of {} devices cannot hold expert-parallel groups of ep {} x tp {}", D, ep, tp));
  if (p.two_batch_overlap)
    throw InfeasibleError("two_batch_overlap is not modelled with pp > 1, ZeRO or recomputation (use the dualpipe schedule)");
  s.plan = L.schedule->plan(L.pp, static_cast<int32_t>(p.micro_batches));
  if (std::string bad = validate_plan(s.plan); !bad.empty())
    throw std::logic_error(fmt::format("pipeline schedule {}: {}", L.schedule->name(), bad));
  s.order = replay(s.plan, [&](int32_t, const PipelineOp& op) { return nominal(L, op); }).ops;
  for (const auto& devs : L.stage_devices) s.stage_ctx.push_back(stage_context(ctx, devs));
  s.stage_chunks = chunks_of_stages(s.plan);
  s.stage_of = stage_of_chunks(s.plan);
  for (int32_t st = 0; st < L.pp; ++st)
    for (int32_t i = 0; i < static_cast<int32_t>(s.plan.slots[st].size()); ++i)
      for (const auto& op : s.plan.slots[st][i].ops) {
        if (op.kind != K::forward) s.last_grad_slot[{st, op.chunk}] = i;
        if (op.kind == K::backward || op.kind == K::backward_input) s.last_backward_mb[{st, op.chunk}] = op.micro_batch;
      }
  return s;
}

class PipelineTraining final : public IWorkload {
 public:
  PipelineTraining(const TrainingParams& p, const WorkloadContext& ctx) : ctx_(ctx), setup_(make_setup(p, ctx)) {}
  int64_t steps() const override { return setup_.params.steps; }
  bool is_inference() const override { return false; }

  BuiltStep build(int64_t step) override {
    BuiltStep out;
    out.graph.step = step;
    PipelineBuild b(setup_, out.graph, out.info, step);
    b.run();
    tags_[step] = b.take_tags();
    const auto& p = setup_.params;
    out.info.step = step;
    out.info.phase = "train";
    // Every data-parallel rank of the first stage starts its own sequences.
    out.info.tokens = p.micro_batch_size * p.seq_len * p.micro_batches * setup_.layout->stage_size();
    out.info.output_tokens = out.info.tokens;
    return out;
  }

  std::map<std::string, double> run_metrics(const std::vector<StepInfo>& steps, const std::vector<graph::StepGraph>& graphs,
                                            const graph::Timeline& timeline) const override {
    std::map<std::string, double> out;
    double bubble = 0, exposed = 0, hidden = 0, span = 0, compute = 0;
    size_t n = 0;
    for (size_t i = 0; i < graphs.size() && i < timeline.steps.size(); ++i) {
      auto it = tags_.find(graphs[i].step);
      if (it == tags_.end()) continue;
      PipelineStepMetrics m = pipeline_step_metrics(graphs[i], timeline.steps[i], it->second, *setup_.layout);
      bubble += m.bubble_fraction;
      exposed += m.a2a_exposed_s;
      hidden += m.a2a_hidden_s;
      span += m.span_s;
      compute += m.compute_s;
      ++n;
    }
    if (n == 0) return out;
    out["pipeline_bubble_fraction"] = bubble / static_cast<double>(n);
    out["a2a_exposed_s_per_step"] = exposed / static_cast<double>(n);
    out["a2a_hidden_s_per_step"] = hidden / static_cast<double>(n);
    out["pipeline_span_s_per_step"] = span / static_cast<double>(n);
    out["compute_s_per_step"] = compute / static_cast<double>(n);
    // The schedule's own bubble with nominal op times (uniform layers, free sends).
    const Layout& L = *setup_.layout;
    out["schedule_bubble_fraction"] = replay(setup_.plan, [&](int32_t, const PipelineOp& op) { return nominal(L, op); }).bubble_fraction();
    (void)steps;
    return out;
  }

  std::optional<std::vector<MemoryPeak>> static_memory() const override {
    return estimate_training_memory(setup_.params, ctx_);
  }

 private:
  WorkloadContext ctx_;
  PipelineSetup setup_;
  std::map<int64_t, PipelineTags> tags_;
};

}  // namespace

std::unique_ptr<WorkloadContext> stage_context(const WorkloadContext& ctx, const std::vector<int32_t>& devices) {
  auto s = std::make_unique<WorkloadContext>(ctx);
  s->cluster.devices = static_cast<int32_t>(devices.size());
  s->cluster.node_of.clear();
  for (int32_t d : devices) s->cluster.node_of.push_back(ctx.cluster.node_of[d]);
  // Node-indexed data (a plan's node_bytes) spans the whole cluster's nodes, as the engine's topology.
  s->cluster.nodes = ctx.cluster.nodes > 0 ? ctx.cluster.nodes
                                           : *std::max_element(ctx.cluster.node_of.begin(), ctx.cluster.node_of.end()) + 1;
  ComputeTimer base = ctx.compute_time;
  s->compute_time = [base, devices](const graph::ComputeWork& w) {
    graph::ComputeWork global = w;
    global.device = devices[w.device];
    return base(global);
  };
  return s;
}

std::unique_ptr<IWorkload> make_pipeline_training(const TrainingParams& p, const WorkloadContext& ctx) {
  return std::make_unique<PipelineTraining>(p, ctx);
}

}  // namespace moesim::workload
