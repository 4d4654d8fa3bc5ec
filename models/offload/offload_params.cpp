// Reads [workload] kind = "offload_inference" (schema in docs/offload.md) and registers the kind.
#include <fmt/format.h>

#include <cmath>

#include "models/offload/offload_workload.hpp"

namespace moesim::offload {
namespace {

Bits read_bits(const config::Table& t, std::string_view key, Bits def) {
  if (!t.has(key)) return def;
  return *bits_from_name(t.choice(key, bit_width_names()));
}

void read_precision(const config::Table& w, OffloadParams& p) {
  auto t = w.table_or_empty("precision");
  p.precision = t.choice_or("mode", {"uniform", "importance", "nested"}, p.precision);
  p.bits = read_bits(t, "bits", p.bits);
  p.low = read_bits(t, "low", p.low);
  p.high = read_bits(t, "high", p.high);
  p.low_fraction = t.number_in_or("low_fraction", 0.0, 1.0, p.low_fraction);
  p.importance = t.numbers_or("importance", {});
  p.format.group_size = t.integer_in_or("group_size", 1, int64_t{1} << 40, p.format.group_size);
  p.nested.base_bits = read_bits(t, "base_bits", p.nested.base_bits);
  p.nested.max_bits = read_bits(t, "max_bits", p.nested.max_bits);
  if (p.nested.max_bits < p.nested.base_bits || p.nested.max_bits > 8)
    t.fail("max_bits", fmt::format("must lie between base_bits ({}) and int8", bits_name(p.nested.base_bits)));
  p.bit_mix = t.numbers_or("bit_mix", {});
  double sum = 0;
  for (double x : p.bit_mix) {
    if (x < 0 || x > 1) t.fail("bit_mix", fmt::format("every share must lie in [0, 1] (got {})", x));
    sum += x;
  }
  if (!p.bit_mix.empty() && static_cast<int32_t>(p.bit_mix.size()) != p.nested.planes())
    t.fail("bit_mix", fmt::format("has {} entries; nested planes {}..{} give {} bit-widths", p.bit_mix.size(),
                                  bits_name(p.nested.base_bits), bits_name(p.nested.max_bits), p.nested.planes()));
  if (!p.bit_mix.empty() && std::abs(sum - 1.0) > 1e-6) t.fail("bit_mix", fmt::format("must sum to 1 (sums to {})", sum));
  p.bit_seed = static_cast<uint64_t>(t.integer_in_or("seed", 0, INT64_MAX, 0));
  p.bit_source = t.choice_or("bit_source", {"auto", "trace", "mix"}, p.bit_source);
  p.dequant = dequant_mode_from_name(t.choice_or("dequant", dequant_mode_names(), "separate"));
  p.non_expert_bits = read_bits(t, "non_expert", p.non_expert_bits);
  t.finish();
}

}  // namespace

OffloadParams read_offload_params(const config::Table& t) {
  OffloadParams p;
  p.batch = t.integer_in_or("batch", 1, 1 << 20, p.batch);
  p.prompt_tokens = t.integer_in_or("prompt_tokens", 1, 1 << 24, p.prompt_tokens);
  p.generate_tokens = t.integer_in_or("generate_tokens", 1, 1 << 24, p.generate_tokens);
  p.phases = t.choice_or("phases", {"both", "prefill", "decode"}, p.phases);
  std::string src = t.choice_or("experts_on", {"storage", "host", "memory"}, "storage");
  p.source = src == "memory" ? ExpertSource::memory : src == "host" ? ExpertSource::host : ExpertSource::storage;
  if (t.has("cache_experts") && t.has("cache_size"))
    t.fail("cache_experts", "give the expert buffer either as cache_size = \"<bytes>\" or as cache_experts = <n>, not both");
  p.cache_experts = static_cast<int32_t>(t.integer_in_or("cache_experts", 0, 1 << 24, -1));
  p.cache_bytes = t.bytes_or("cache_size", Bytes(0)).value;
  p.preload_frequent = t.choice_or("preload", {"none", "frequent"}, "none") == "frequent";
  p.calibration_tokens = t.integer_in_or("calibration_tokens", 0, 1 << 24, p.calibration_tokens);
  p.requests_per_expert = static_cast<int32_t>(t.integer_in_or("requests_per_expert", 1, 1 << 20, p.requests_per_expert));
  p.read_request = t.bytes_or("read_request", Bytes(0)).value;
  if (t.has("read_request") && t.has("requests_per_expert"))
    t.fail("read_request", "give either read_request = \"<bytes>\" or requests_per_expert = <n>, not both");
  if (t.has("read_request") && p.read_request <= 0) t.fail("read_request", "must be > 0");
  p.gemv_rows = t.integer_in_or("gemv_rows", 0, 1 << 20, p.gemv_rows);
  read_precision(t, p);
  return p;
}

namespace {

std::unique_ptr<workload::IWorkload> from_config(const config::Table& t, const workload::WorkloadContext& ctx) {
  OffloadParams p = read_offload_params(t);
  const auto& m = *ctx.model;
  if (m.experts <= 0) t.fail("kind", fmt::format("offload_inference needs an MoE model ('{}' has no experts)", m.name));
  if (ctx.cluster.devices != 1)
    t.fail("kind", fmt::format("offload_inference runs on one device; the cluster has {}", ctx.cluster.devices));
  OffloadContext oc{static_cast<int32_t>(m.moe_layer_count()), static_cast<int32_t>(m.experts), static_cast<int32_t>(m.top_k)};
  auto cache = CachePolicyRegistry::instance().create_or(t.table_or_empty("cache"), "lru", oc);
  auto prefetch = PrefetcherRegistry::instance().create_or(t.table_or_empty("prefetch"), "none", oc);
  t.finish();
  return make_offload_inference(p, std::move(cache), std::move(prefetch), ctx);
}

}  // namespace

MOESIM_REGISTER(workload::WorkloadRegistry, "offload_inference",
                "one device, experts on storage or host DRAM: expert cache, prefetch, bit-widths (EdgeMoE, D²MoE)",
                from_config);

}  // namespace moesim::offload
