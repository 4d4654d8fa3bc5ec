// Reading [workload] kind = "serving" (docs/serving.md) and sizing the paged K/V cache.
#include <fmt/format.h>

#include <cmath>

#include "models/model_math.hpp"
#include "models/serving/arrivals.hpp"
#include "models/serving/serving_workload.hpp"
#include "models/workload/step_assembler.hpp"
#include "sim/core/errors.hpp"

namespace moesim::serving {
namespace {

// Lengths the arrival process left open come from [workload.prompt] / [workload.output]; a table
// given there replaces the trace's lengths too.
void fill_lengths(const config::Table& t, std::vector<RequestSpec>& r, uint64_t seed) {
  for (const char* key : {"prompt", "output"}) {
    auto table = t.table_opt(key);
    std::unique_ptr<ILengthDistribution> dist;
    if (table) dist = LengthRegistry::instance().create(*table);
    Rng rng(seed, fmt::format("serving.{}", key));
    for (auto& q : r) {
      int64_t& n = std::string(key) == "prompt" ? q.prompt : q.output;
      if (dist) n = dist->sample(rng);
      if (n == kLengthUnset) t.fail(key, fmt::format("the arrival process gives no {} lengths: add [workload.{}] (kind = \"fixed\" | \"uniform\" | \"lognormal\")", key, key));
    }
  }
}

KvParams read_kv(const config::Table& t) {
  KvParams kv;
  kv.block_tokens = t.integer_in_or("block_tokens", 1, 1 << 20, kv.block_tokens);
  if (t.string_or("capacity", "auto") != "auto") kv.capacity_bytes = t.bytes("capacity").value;
  kv.watermark = t.number_in_or("watermark", 0.0, 0.5, kv.watermark);
  kv.preemption = t.choice_or("preemption", {"recompute", "swap"}, "recompute") == "swap" ? Preemption::swap : Preemption::recompute;
  t.finish();
  return kv;
}

// Routes token i to experts i*k .. i*k+k-1 (mod E): an even load for the memory probe, without
// touching the scenario's routing source (some keep state between calls).
class ProbeRouting final : public routing::IRoutingSource {
 public:
  ProbeRouting(int32_t experts, int32_t k) : e_(experts), k_(k) {}
  routing::LayerRouting route(const routing::RouteRequest& q) override {
    routing::LayerRouting r;
    r.tokens = q.tokens;
    r.k = k_;
    r.experts.resize(static_cast<size_t>(q.tokens * k_));
    for (int64_t i = 0; i < q.tokens * k_; ++i) r.experts[static_cast<size_t>(i)] = static_cast<int32_t>(i % e_);
    return r;
  }

 private:
  int32_t e_, k_;
};

}  // namespace

ServingParams read_serving_params(const config::Table& t, uint64_t seed) {
  ServingParams p;
  p.requests = ArrivalRegistry::instance().create(t.table("arrival"))->requests(seed);
  fill_lengths(t, p.requests, seed);
  p.scheduler = SchedulerRegistry::instance().create_or(t.table_or_empty("scheduler"), "vllm");
  p.kv = read_kv(t.table_or_empty("kv"));
  auto slo = t.table_or_empty("slo");
  p.slo.ttft = slo.seconds_or("ttft", Seconds(p.slo.ttft)).value;
  p.slo.tpot = slo.seconds_or("tpot", Seconds(p.slo.tpot)).value;
  slo.finish();
  auto cache = t.table_or_empty("step_cache");
  p.cache.enabled = cache.boolean_or("enabled", false);
  p.cache.context_tokens = cache.integer_in_or("context_tokens", 0, 1 << 20, 0);
  p.cache.token_resolution = cache.number_in_or("token_resolution", 0.0, 0.5, 0.0);
  p.cache.sort_devices = cache.boolean_or("sort_devices", false);
  cache.finish();
  p.capacity_factor = t.number_in_or("capacity_factor", -1.0, 1e6, -1.0);
  if (auto d = t.table_opt("disaggregated")) {
    p.disaggregation.prefill_devices = static_cast<int32_t>(d->integer_in("prefill_devices", 1, 1 << 20));
    p.disaggregation.decode_scheduler = SchedulerRegistry::instance().create_or(d->table_or_empty("decode_scheduler"), "vllm");
    d->finish();
  }
  t.finish();
  return p;
}

std::vector<int64_t> kv_capacity_blocks(const workload::WorkloadContext& ctx, const KvParams& kv, int64_t max_tokens,
                                        double capacity_factor) {
  const int32_t P = ctx.cluster.devices;
  const double block_bytes = static_cast<double>(kv.block_tokens) * model::kv_cache_bytes_per_token(*ctx.model).value;
  std::vector<double> room(static_cast<size_t>(P), kv.capacity_bytes.value_or(0));
  std::vector<double> peak(static_cast<size_t>(P), 0);
  if (!kv.capacity_bytes) {
    if (static_cast<int32_t>(ctx.cluster.memory_bytes.size()) != P)
      throw InfeasibleError("serving: device memory unknown; give [workload.kv] capacity");
    // Probe: a prefill of min(max_tokens, 16384) tokens on every device; its sequential memory peak
    // is the weights plus the largest activations an iteration may hold (vLLM's profile run).
    workload::WorkloadContext probe = ctx;
    ProbeRouting routing(static_cast<int32_t>(std::max<int64_t>(ctx.model->experts, 1)), static_cast<int32_t>(std::max<int64_t>(ctx.model->top_k, 1)));
    probe.routing = &routing;
    graph::StepGraph g;
    workload::StepInfo info;
    workload::StepAssembler a(probe, g, info, capacity_factor >= 0 ? capacity_factor : ctx.model->capacity_factor);
    a.add_resident(a.params_per_device(0), graph::MemCategory::weights, hw::dtype_bytes(ctx.model->weight_dtype));
    const int64_t tokens = std::min<int64_t>(max_tokens, 16384);
    workload::MicroBatch mb = a.start(0, 0, std::vector<int64_t>(static_cast<size_t>(P), tokens), 0, false);
    mb.attention = model::sequence_span(static_cast<double>(tokens), true);
    for (int32_t l = 0; l < ctx.model->layers; ++l) a.forward_layer(mb, l);
    a.lm_head(mb, std::vector<int64_t>(static_cast<size_t>(P), 1), false);
    auto peaks = workload::sequential_memory_peaks(g, P);
    for (int32_t d = 0; d < P; ++d) {
      peak[static_cast<size_t>(d)] = peaks[static_cast<size_t>(d)].total;
      room[static_cast<size_t>(d)] = ctx.cluster.memory_bytes[static_cast<size_t>(d)] - peak[static_cast<size_t>(d)];
    }
  }
  std::vector<int64_t> blocks;
  for (int32_t d = 0; d < P; ++d) {
    const double r = room[static_cast<size_t>(d)];
    const auto b = r > 0 ? static_cast<int64_t>(std::floor(r / block_bytes)) : 0;
    if (b < 1)
      throw InfeasibleError(fmt::format("serving: device {} has no room for K/V: {} usable, {} taken by weights and activations, "
                                        "one block of {} tokens needs {}",
                                        d, format_bytes(Bytes(ctx.cluster.memory_bytes.empty() ? 0 : ctx.cluster.memory_bytes[static_cast<size_t>(d)])),
                                        format_bytes(Bytes(peak[static_cast<size_t>(d)])), kv.block_tokens, format_bytes(Bytes(block_bytes))));
    blocks.push_back(b);
  }
  return blocks;
}

}  // namespace moesim::serving
