// The "serving" workload (serving_workload.hpp). The engine runs steps one after another and asks
// for the next one with the timeline so far (IWorkload::observe), so each step is formed at the
// simulated time the previous one ended: arrivals up to then join, each pool's scheduler picks its
// batch, and the step is those batches' forward passes (or, with nothing to run, a wait until the
// next arrival). Disaggregated pools advance in lock-step: a step ends when both pools' iterations
// have ended (docs/serving.md, "Disaggregation").
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "models/model_math.hpp"
#include "models/serving/pools.hpp"
#include "models/serving/serving_workload.hpp"
#include "models/workload/step_assembler.hpp"
#include "sim/core/errors.hpp"

namespace moesim::serving {
namespace {

struct Pool {
  int32_t offset = 0;
  workload::WorkloadContext ctx;
  std::unique_ptr<Server> server;
  Iteration it;  // this step's iteration
  bool runs = false;
};

class ServingWorkload final : public workload::IWorkload {
 public:
  ServingWorkload(ServingParams p, const workload::WorkloadContext& ctx)
      : ctx_(ctx), slo_(p.slo), cache_(p.cache), capacity_factor_(p.capacity_factor >= 0 ? p.capacity_factor : ctx.model->capacity_factor),
        kv_bytes_per_token_(model::kv_cache_bytes_per_token(*ctx.model).value) {
    if (!model::causal_attention(*ctx.model)) throw InfeasibleError("serving: the model has no causal decoder (nothing to generate)");
    make_pools(std::move(p));
    weights_ = weights_resident();
  }

  int64_t steps() const override { return done() ? built_ : built_ + 1; }
  bool is_inference() const override { return true; }
  bool top_level_metrics() const override { return true; }

  void observe(const graph::Timeline& so_far) override {
    if (!pending_ || static_cast<int64_t>(so_far.steps.size()) < built_) return;
    const auto& st = so_far.steps[static_cast<size_t>(built_ - 1)];
    for (auto& p : pools_)
      if (p.runs) p.server->complete(p.it, st.end);
    if (pools_.size() == 2 && pools_[0].runs) hand_off(st.end);
    if (pending_full_ && cache_.enabled) cache_times_.emplace(pending_key_, CachedStep{st.end - st.start, pending_info_});
    now_ = st.end;
    pending_ = false;
  }

  workload::BuiltStep build(int64_t step) override {
    double idle_until = -1;
    bool any = false, swaps = false;
    for (size_t i = 0; i < pools_.size(); ++i) {
      Pool& p = pools_[i];
      p.it = p.server->done() && i == 0 ? Iteration{} : p.server->next(now_, i > 0);
      p.runs = !p.it.empty();
      any = any || p.runs;
      swaps = swaps || !p.it.swaps.empty();
      if (p.it.idle_until >= 0 && (idle_until < 0 || p.it.idle_until < idle_until)) idle_until = p.it.idle_until;
    }
    record_kv(step);
    workload::BuiltStep out;
    pending_full_ = false;
    if (!any) {
      if (idle_until < 0) throw InfeasibleError("serving: requests remain but no pool can run any (K/V cache too small?)");
      out.graph = delay_graph(idle_until - now_, resident());
      out.info.phase = "idle";
    } else {
      pending_key_ = cache_key();
      auto hit = cache_.enabled && !swaps ? cache_times_.find(pending_key_) : cache_times_.end();
      if (hit != cache_times_.end()) {
        out.graph = delay_graph(hit->second.seconds, resident());
        out.info = hit->second.info;
        ++cache_hits_;
      } else {
        out = full_step(step);
        pending_info_ = out.info;
        pending_full_ = !swaps;
      }
    }
    out.graph.step = step;
    out.info.step = step;
    pending_ = true;
    ++built_;
    return out;
  }

  std::map<std::string, double> run_metrics(const std::vector<workload::StepInfo>&, const std::vector<graph::StepGraph>&,
                                            const graph::Timeline&) const override {
    auto m = serving_metrics(requests(), slo_);
    double sum = 0, peak = 0;
    for (const auto& r : kv_rows_) sum += r.utilization, peak = std::max(peak, r.utilization);
    m["kv_utilization_mean"] = kv_rows_.empty() ? 0 : sum / static_cast<double>(kv_rows_.size());
    m["kv_utilization_peak"] = peak;
    m["kv_blocks_per_device"] = static_cast<double>(pools_.back().server->state().kv().capacity(0));
    m["iterations"] = static_cast<double>(built_);
    if (cache_.enabled) m["step_cache_hits"] = static_cast<double>(cache_hits_);
    return m;
  }

  std::map<std::string, std::string> extra_outputs() const override {
    std::string kv = "step,time_s,device,used_blocks,capacity_blocks,utilization\n";
    for (const auto& r : kv_rows_)
      kv += fmt::format("{},{:.9g},{},{},{},{:.6g}\n", r.step, r.time, r.device, r.used, r.capacity, r.utilization);
    return {{"requests.csv", requests_csv(requests())}, {"kv.csv", kv}};
  }

 private:
  struct CachedStep {
    double seconds = 0;
    workload::StepInfo info;
  };
  struct KvRow {
    int64_t step;
    double time;
    int32_t device;
    int64_t used, capacity;
    double utilization;
  };

  void make_pools(ServingParams p) {
    const int32_t P = ctx_.cluster.devices, prefill = p.disaggregation.prefill_devices;
    if (prefill >= P) throw InfeasibleError(fmt::format("serving: prefill_devices = {} leaves no decode devices of {}", prefill, P));
    const int64_t max_tokens = p.scheduler->limits().max_tokens;
    if (prefill == 0) {
      add_pool(0, P, std::move(p.requests), std::move(p.scheduler), p.kv, max_tokens, p.capacity_factor);
      return;
    }
    // The prefill pool produces each request's first token; the rest is the decode pool's.
    outputs_.clear();
    std::vector<RequestSpec> prompts = p.requests;
    for (auto& r : prompts) outputs_.push_back(r.output), r.output = 1;
    add_pool(0, prefill, std::move(prompts), std::move(p.scheduler), p.kv, max_tokens, p.capacity_factor);
    auto& decode = *p.disaggregation.decode_scheduler;
    add_pool(prefill, P - prefill, {}, std::move(p.disaggregation.decode_scheduler), p.kv, decode.limits().max_tokens, p.capacity_factor);
    pools_[1].server->scheduler().check(p.requests, pools_[1].server->state().kv());
  }

  void add_pool(int32_t offset, int32_t devices, std::vector<RequestSpec> requests, std::unique_ptr<IScheduler> scheduler,
                const KvParams& kv, int64_t max_tokens, double capacity_factor) {
    Pool pool;
    pool.offset = offset;
    pool.ctx = pool_context(ctx_, offset, devices);
    auto blocks = kv_capacity_blocks(pool.ctx, kv, max_tokens, capacity_factor);
    int64_t least = blocks.front();
    for (auto b : blocks) least = std::min(least, b);
    const auto watermark = static_cast<int64_t>(std::floor(kv.watermark * static_cast<double>(least)));
    pool.server = std::make_unique<Server>(std::move(requests), KvCache(kv.block_tokens, blocks, watermark), kv.preemption, std::move(scheduler));
    pools_.push_back(std::move(pool));
  }

  bool done() const {
    for (const auto& p : pools_)
      if (!p.server->done()) return false;
    return true;
  }

  // Requests whose prefill ended at `end` move to the decode pool (those with more to generate).
  void hand_off(double end) {
    const auto& prefill = pools_[0].server->state();
    for (const auto& c : pools_[0].it.chunks) {
      const Sequence& s = prefill.sequences()[static_cast<size_t>(c.seq)];
      if (!c.last || s.finish != end || outputs_[static_cast<size_t>(s.id)] <= 1) continue;
      Sequence moved = s;
      moved.spec.output = outputs_[static_cast<size_t>(s.id)];
      pools_[1].server->state().inject(moved, s.device + pools_[0].offset);
    }
  }

  workload::BuiltStep full_step(int64_t step) {
    workload::BuiltStep out;
    for (auto& p : pools_) {
      if (!p.runs) continue;
      const BatchShape shape = batch_shape(p.it, p.server->state(), p.ctx.cluster.devices);
      auto part = iteration_graph(IterationGraphInput{&p.ctx, capacity_factor_, kv_bytes_per_token_, step, p.offset}, p.it,
                                  p.server->state(), shape);
      merge_graph(out.graph, std::move(part.graph), p.offset);
      out.info.tokens += part.info.tokens;
      out.info.output_tokens += part.info.output_tokens;
      out.info.routed_slots += part.info.routed_slots;
      out.info.dropped_slots += part.info.dropped_slots;
      out.info.a2a_bytes += part.info.a2a_bytes;
      out.info.inter_node_bytes += part.info.inter_node_bytes;
      out.info.phase = out.info.phase.empty() ? part.info.phase : out.info.phase + "+" + part.info.phase;
    }
    for (auto& p : pools_) {
      if (p.runs) continue;
      merge_graph(out.graph, graph::StepGraph{0, {}, pool_resident(p)}, p.offset);
      for (const auto& w : weights_)
        if (w.device >= p.offset && w.device < p.offset + p.ctx.cluster.devices) out.graph.resident.push_back(w);
    }
    return out;
  }

  // Requests with every time of theirs: the pool's own, or prefill and decode sides joined.
  std::vector<Sequence> requests() const {
    if (pools_.size() == 1) return pools_[0].server->state().sequences();
    std::vector<Sequence> out = pools_[0].server->state().sequences();
    for (auto& s : out) s.spec.output = outputs_[static_cast<size_t>(s.id)];
    for (const auto& d : pools_[1].server->state().sequences()) {
      Sequence& s = out[static_cast<size_t>(d.origin)];
      s.finish = d.finish;
      s.preemptions += d.preemptions, s.recomputes += d.recomputes, s.swaps += d.swaps;
    }
    for (auto& s : out)
      if (s.spec.output > 1 && s.finish == s.first_token) s.finish = -1;  // still decoding (run cut short)
    return out;
  }

  std::vector<graph::MemDelta> pool_resident(const Pool& p) const { return kv_resident(p.server->state(), kv_bytes_per_token_); }

  std::vector<graph::MemDelta> resident() const {
    auto r = weights_;
    for (const auto& p : pools_)
      for (auto m : pool_resident(p)) {
        m.device += p.offset;
        r.push_back(m);
      }
    return r;
  }

  std::vector<graph::MemDelta> weights_resident() const {
    graph::StepGraph g;
    workload::StepInfo info;
    workload::StepAssembler a(ctx_, g, info, capacity_factor_);
    a.add_resident(a.params_per_device(0), graph::MemCategory::weights, hw::dtype_bytes(ctx_.model->weight_dtype));
    return g.resident;
  }

  // Shapes of the pools' batches (docs/serving.md, "Step cache"): per-device (tokens, outputs),
  // token counts at `token_resolution`, sorted when devices are interchangeable; the attention
  // span rounded to `context_tokens`.
  std::vector<int64_t> cache_key() const {
    std::vector<int64_t> k;
    const double unit = cache_.context_tokens > 0 ? static_cast<double>(cache_.context_tokens) : 1e-6;
    for (const auto& p : pools_) {
      k.push_back(p.runs ? 1 : 0);
      if (!p.runs) continue;
      const BatchShape s = batch_shape(p.it, p.server->state(), p.ctx.cluster.devices);
      std::vector<std::pair<int64_t, int64_t>> devices;
      for (size_t d = 0; d < s.tokens.size(); ++d) devices.emplace_back(rounded_tokens(s.tokens[d]), s.outputs[d]);
      if (cache_.sort_devices) std::sort(devices.begin(), devices.end());
      for (auto [t, o] : devices) k.push_back(t), k.push_back(o);
      k.push_back(std::llround(s.span_queries / (s.span_queries > 1 ? unit : 1e-6)));
      k.push_back(std::llround(s.span_cached / unit));
    }
    return k;
  }

  int64_t rounded_tokens(int64_t n) const {
    if (cache_.token_resolution <= 0 || n <= 16) return n;
    const double step = std::exp2(std::floor(std::log2(static_cast<double>(n) * cache_.token_resolution)));
    return static_cast<int64_t>(std::llround(std::round(static_cast<double>(n) / step) * step));
  }

  void record_kv(int64_t step) {
    for (const auto& p : pools_) {
      const auto& kv = p.server->state().kv();
      for (int32_t d = 0; d < kv.devices(); ++d)
        kv_rows_.push_back(KvRow{step, now_, d + p.offset, kv.used(d), kv.capacity(d),
                                 kv.capacity(d) > 0 ? static_cast<double>(kv.used(d)) / static_cast<double>(kv.capacity(d)) : 0.0});
    }
  }

  workload::WorkloadContext ctx_;
  Slo slo_;
  StepCacheParams cache_;
  double capacity_factor_;
  double kv_bytes_per_token_;
  std::vector<Pool> pools_;
  std::vector<int64_t> outputs_;              // disaggregated: each request's output tokens
  std::vector<graph::MemDelta> weights_;
  double now_ = 0;
  int64_t built_ = 0;
  bool pending_ = false, pending_full_ = false;
  std::vector<int64_t> pending_key_;
  workload::StepInfo pending_info_;
  std::map<std::vector<int64_t>, CachedStep> cache_times_;
  int64_t cache_hits_ = 0;
  std::vector<KvRow> kv_rows_;
};

}  // namespace

std::unique_ptr<workload::IWorkload> make_serving(ServingParams p, const workload::WorkloadContext& ctx) {
  return std::make_unique<ServingWorkload>(std::move(p), ctx);
}

MOESIM_REGISTER(workload::WorkloadRegistry, "serving",
                "request-level serving: arrivals, continuous batching (vllm | sarathi | orca), paged K/V, TTFT/TPOT percentiles",
                [](const config::Table& t, const workload::WorkloadContext& ctx) {
                  return make_serving(read_serving_params(t, ctx.seed), ctx);
                });

}  // namespace moesim::serving
