// The replay of a whole offloaded run (see offload_plan.hpp). Order of cache operations per MoE
// layer m of a step, which is also the order of the I/O stream:
//   prefetch for m (issued after the gate of the previous MoE block, or at step start)
//   -> demand accesses of m (after m's gate; misses load) -> next layer ...
// Experts of the layer being executed are protected from eviction. A load that evicts an expert
// waits for the compute tasks of this step that read it.
#include <algorithm>
#include <fmt/format.h>

#include "models/offload/offload_plan.hpp"
#include "models/workload/token_costs.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/rng.hpp"

namespace moesim::offload {
namespace {

Bits model_bits(const model::ModelSpec& m) { return static_cast<Bits>(hw::dtype_bytes(m.weight_dtype) * 8.0 + 0.5); }

struct Replay {
  const OffloadParams& p;
  const workload::WorkloadContext& ctx;
  ICachePolicy& policy;
  IPrefetcher& prefetch;
  const model::ModelSpec& m;
  int32_t moe_layers = 0;
  int32_t experts = 0;
  std::vector<int32_t> moe_of_block;  // -1 for dense blocks
  double params = 0;
  PrecisionMap precision;
  RunPlan out;

  Replay(const OffloadParams& p_, const workload::WorkloadContext& c, ICachePolicy& pol, IPrefetcher& pre)
      : p(p_), ctx(c), policy(pol), prefetch(pre), m(*c.model) {
    experts = static_cast<int32_t>(m.experts);
    for (int64_t l = 0; l < m.layers; ++l) moe_of_block.push_back(m.is_moe_layer(l) ? moe_layers++ : -1);
    params = workload::expert_params(m);
    out.expert_params = params;
  }

  int64_t steps() const { return p.phases == "prefill" ? 1 : p.generate_tokens; }
  bool is_prefill(int64_t s) const { return p.phases != "decode" && s == 0; }

  StepPlan shape(int64_t s) const {
    StepPlan sp;
    sp.prefill = is_prefill(s);
    sp.kv_before = p.phases == "decode" ? p.prompt_tokens + s : (sp.prefill ? 0 : p.prompt_tokens + s - 1);
    sp.context = sp.prefill ? (static_cast<double>(p.prompt_tokens) + 1.0) / 2.0 : static_cast<double>(sp.kv_before + 1);
    const bool encdec = m.family == "encoder_decoder" && m.decoder_layers > 0;
    for (int64_t l = 0; l < m.layers; ++l) {
      bool decoder = !encdec || l >= m.layers - m.decoder_layers;
      int64_t t = sp.prefill ? (decoder && encdec ? p.batch : p.batch * p.prompt_tokens) : (decoder ? p.batch : 0);
      sp.block_tokens.push_back(t);
    }
    return sp;
  }

  // Routing of every step and MoE layer (empty when the block does not run).
  std::vector<std::vector<routing::LayerRouting>> route_all(const std::vector<StepPlan>& shapes) {
    std::vector<std::vector<routing::LayerRouting>> r(shapes.size(), std::vector<routing::LayerRouting>(moe_layers));
    for (size_t s = 0; s < shapes.size(); ++s)
      for (int64_t l = 0; l < m.layers; ++l) {
        int32_t mi = moe_of_block[l];
        int64_t t = shapes[s].block_tokens[l];
        if (mi < 0 || t == 0) continue;
        r[s][mi] = ctx.routing->route(routing::RouteRequest{static_cast<int64_t>(s), mi, t, std::vector<int32_t>(t, 0)});
        if (r[s][mi].tokens != t) throw InfeasibleError(fmt::format("routing returned {} tokens for {}", r[s][mi].tokens, t));
      }
    return r;
  }

  CalibrationTrace calibration() {
    CalibrationTrace c{moe_layers, experts, {}};
    if (p.calibration_tokens <= 0 || moe_layers == 0) return c;
    const int64_t step = int64_t{1} << 30;  // a step number the run never uses
    c.tokens.assign(static_cast<size_t>(p.calibration_tokens), TokenPath{});
    for (int32_t mi = 0; mi < moe_layers; ++mi) {
      auto r = ctx.routing->route(routing::RouteRequest{step, mi, p.calibration_tokens,
                                                        std::vector<int32_t>(p.calibration_tokens, 0)});
      for (int64_t t = 0; t < r.tokens && t < p.calibration_tokens; ++t) {
        std::vector<int32_t> e;
        for (int32_t k = 0; k < r.k; ++k)
          if (r.expert(t, k) != routing::kNoExpert) e.push_back(r.expert(t, k));
        c.tokens[t].experts.push_back(std::move(e));
      }
    }
    return c;
  }

  void choose_precision(const CalibrationTrace& calib) {
    Bits b = p.bits > 0 ? p.bits : model_bits(m);
    if (p.precision != "importance") {
      precision = uniform_precision(moe_layers, experts, b);
      return;
    }
    std::vector<std::vector<double>> imp = calib.counts();  // proxy: frequency (docs/offload.md)
    if (!p.importance.empty()) {
      if (static_cast<int64_t>(p.importance.size()) != int64_t{moe_layers} * experts)
        throw InfeasibleError(fmt::format("importance has {} values; the model has {} MoE layers x {} experts = {}",
                                          p.importance.size(), moe_layers, experts, moe_layers * experts));
      for (int32_t l = 0; l < moe_layers; ++l)
        for (int32_t e = 0; e < experts; ++e) imp[l][e] = p.importance[static_cast<size_t>(l * experts + e)];
    }
    precision = precision_by_importance(imp, p.low, p.high, p.low_fraction);
  }

  double bytes_of(ExpertKey k) const { return stored_expert_bytes(p, params, precision[k.layer][k.expert]); }

  double capacity() const {
    if (p.cache_experts < 0) return p.cache_bytes;
    double largest = 0;
    for (const auto& row : precision)
      for (Bits b : row) largest = std::max(largest, stored_expert_bytes(p, params, b));
    if (p.precision == "nested") {
      largest = 0;
      for (int32_t pl = 0; pl < p.nested.planes(); ++pl) largest += plane_bytes(params, pl, p.nested);
    }
    return largest * p.cache_experts;
  }

  void run();
  void run_experts(std::vector<StepPlan>& shapes, const std::vector<std::vector<routing::LayerRouting>>& routes,
                   const CalibrationTrace& calib);
  void run_nested(std::vector<StepPlan>& shapes, const std::vector<std::vector<routing::LayerRouting>>& routes);
  int32_t slot_level(const routing::LayerRouting& r, int64_t t, int32_t k, Rng& rng, const std::vector<double>& mix) const;
};

// Per-step bookkeeping of which use last read an expert (eviction dependencies).
struct StepUsers {
  std::map<ExpertKey, int32_t> last_use;
  std::vector<int32_t> users_of(const std::vector<ExpertKey>& evicted) const {
    std::vector<int32_t> u;
    for (const auto& k : evicted)
      if (auto it = last_use.find(k); it != last_use.end()) u.push_back(it->second);
    return u;
  }
};

void Replay::run_experts(std::vector<StepPlan>& shapes, const std::vector<std::vector<routing::LayerRouting>>& routes,
                         const CalibrationTrace& calib) {
  ExpertCache cache(capacity(), policy);
  if (p.preload_frequent)
    for (const auto& k : hottest_experts(calib, moe_layers * experts)) cache.preload(k, bytes_of(k));
  if (policy.needs_future()) {
    std::vector<ExpertKey> future;
    for (size_t s = 0; s < shapes.size(); ++s)
      for (int32_t mi = 0; mi < moe_layers; ++mi)
        for (int32_t e : experts_by_load(routes[s][mi], experts)) future.push_back(ExpertKey{mi, e});
    policy.set_future(future);
  }
  int64_t tick = 0;
  for (size_t s = 0; s < shapes.size(); ++s) {
    StepPlan& sp = shapes[s];
    sp.cache_bytes_at_start = cache.used_bytes();
    CacheStats before = cache.stats();
    StepUsers users;
    std::map<ExpertKey, int32_t> load_of;  // this step's load of each expert
    int32_t prev_gate = -1;
    // Indexed by MoE layer (PrefetchQuery's contract); nullptr for layers this step does not run
    // (an encoder-decoder's encoder in decode). Pushing only the layers run misaligned the keys.
    std::vector<const routing::LayerRouting*> history;
    for (int64_t l = 0; l < m.layers; ++l) {
      int32_t mi = moe_of_block[l];
      if (mi < 0 || sp.block_tokens[l] == 0) continue;
      const auto& r = routes[s][mi];
      auto needed = experts_by_load(r, experts);
      cache.clear_protection();
      // Prefetch for this layer, issued after the previous MoE block's gate (or at step start).
      if (p.source != ExpertSource::memory) {
        PrefetchQuery q{mi, sp.block_tokens[l], history, &r};
        for (int32_t e : prefetch.predict(q)) {
          ExpertKey k{mi, e};
          auto ev = cache.prefetch(k, bytes_of(k), CacheClock{tick, mi});
          if (!ev) continue;
          PlannedLoad ld{fmt::format("L{}.E{}", l, e), prev_gate, true, bytes_of(k), bytes_of(k), 0, users.users_of(*ev)};
          for (const auto& v : *ev) ld.freed_bytes += bytes_of(v);
          load_of[k] = static_cast<int32_t>(sp.loads.size());
          sp.loads.push_back(std::move(ld));
        }
      }
      for (int32_t e : needed)
        if (cache.contains(ExpertKey{mi, e})) cache.protect(ExpertKey{mi, e});
      auto load = r.expert_load(experts);
      for (int32_t e : needed) {
        ExpertKey k{mi, e};
        PlannedUse u{static_cast<int32_t>(l), e, load[e], precision[mi][e], bytes_of(k), 0, {}};
        if (p.source != ExpertSource::memory) {
          auto o = cache.access(k, bytes_of(k), CacheClock{tick, mi});
          if (!o.hit) {
            PlannedLoad ld{fmt::format("L{}.E{}", l, e), static_cast<int32_t>(l), false, bytes_of(k),
                           o.bypass ? 0.0 : bytes_of(k), 0, users.users_of(o.evicted)};
            for (const auto& v : o.evicted) ld.freed_bytes += bytes_of(v);
            if (o.bypass) u.streamed_bytes = bytes_of(k);
            load_of[k] = static_cast<int32_t>(sp.loads.size());
            sp.loads.push_back(std::move(ld));
          }
          if (auto it = load_of.find(k); it != load_of.end()) u.loads.push_back(it->second);
        }
        ++tick;
        users.last_use[k] = static_cast<int32_t>(sp.uses.size());
        sp.uses.push_back(std::move(u));
      }
      prefetch.observe(mi, r);
      history.resize(static_cast<size_t>(mi), nullptr);
      history.push_back(&r);
      prev_gate = static_cast<int32_t>(l);
    }
    const CacheStats& after = cache.stats();
    sp.counters = {{"cache_hits", double(after.hits - before.hits)},
                   {"cache_misses", double(after.misses - before.misses)},
                   {"prefetches", double(after.prefetches - before.prefetches)},
                   {"prefetch_used", double(after.prefetch_used - before.prefetch_used)},
                   {"bytes_read", after.bytes_loaded - before.bytes_loaded}};
  }
  out.cache = cache.stats();
}

// Plane level (planes - 1) of slot (t, k): the routing's bit-width when it carries one (a trace's
// bits column) and bit_source allows, else a draw from bit_mix.
int32_t Replay::slot_level(const routing::LayerRouting& r, int64_t t, int32_t k, Rng& rng, const std::vector<double>& mix) const {
  const size_t i = static_cast<size_t>(t * r.k + k);
  if (p.bit_source != "mix" && !r.bits.empty() && r.bits[i] > 0) return p.nested.planes_for(r.bits[i]) - 1;
  if (p.bit_source == "trace")
    throw InfeasibleError(fmt::format("precision.bit_source = \"trace\" but the routing carries no bit-width for token {} slot {} "
                                      "(a CSV trace needs a bits column)", t, k));
  double u = rng.uniform(), acc = 0;
  for (int32_t level = 0; level < static_cast<int32_t>(mix.size()); ++level)
    if ((acc += mix[static_cast<size_t>(level)]) > u) return level;
  return static_cast<int32_t>(mix.size()) - 1;
}

// D²MoE: per token-slot bit-width from the trace or bit_mix, planes loaded in HEBF order within the budget.
void Replay::run_nested(std::vector<StepPlan>& shapes, const std::vector<std::vector<routing::LayerRouting>>& routes) {
  PlaneCache cache(capacity(), moe_layers);
  const int32_t planes = p.nested.planes();
  std::vector<double> mix = p.bit_mix;
  if (mix.empty()) mix.assign(static_cast<size_t>(planes), 1.0 / planes);
  if (static_cast<int32_t>(mix.size()) != planes)
    throw InfeasibleError(fmt::format("bit_mix has {} entries; nested planes give {} bit-widths ({}..{})", mix.size(), planes,
                                      bits_name(p.nested.base_bits), bits_name(p.nested.max_bits)));
  for (size_t s = 0; s < shapes.size(); ++s) {
    StepPlan& sp = shapes[s];
    sp.cache_bytes_at_start = cache.used_bytes();
    PlaneStats before = cache.stats();
    std::map<std::pair<int32_t, int32_t>, int32_t> last_use;  // (moe layer, expert) -> use index
    for (int64_t l = 0; l < m.layers; ++l) {
      int32_t mi = moe_of_block[l];
      if (mi < 0 || sp.block_tokens[l] == 0) continue;
      const auto& r = routes[s][mi];
      Rng rng(p.bit_seed, fmt::format("offload.bit_mix.{}.{}", s, mi));
      std::vector<std::vector<int64_t>> B(static_cast<size_t>(experts), std::vector<int64_t>(static_cast<size_t>(planes), 0));
      for (int64_t t = 0; t < r.tokens; ++t)
        for (int32_t k = 0; k < r.k; ++k) {
          int32_t e = r.expert(t, k);
          if (e == routing::kNoExpert || (!r.dropped.empty() && r.dropped[t * r.k + k])) continue;
          ++B[e][slot_level(r, t, k, rng, mix)];
        }
      cache.begin_layer(mi);
      std::vector<int32_t> resident(static_cast<size_t>(experts));
      for (int32_t e = 0; e < experts; ++e) {
        resident[e] = cache.resident_planes(mi, e);
        int32_t need = 0;
        for (int32_t n = 0; n < planes; ++n) if (B[e][n] > 0) need = n + 1;
        for (int32_t pl = 0; pl < std::min(need, resident[e]); ++pl) cache.touch(PlaneKey{mi, e, pl});
      }
      std::map<std::pair<int32_t, int32_t>, int32_t> load_of;
      for (const auto& slice : hebf_order(B, resident)) {
        double bytes = plane_bytes(params, slice.plane, p.nested);
        bool cached = false;
        auto evicted = cache.load(PlaneKey{mi, slice.expert, slice.plane}, bytes, cached);
        PlannedLoad ld{fmt::format("L{}.E{}.p{}", l, slice.expert, slice.plane), static_cast<int32_t>(l), false, bytes,
                       cached ? bytes : 0.0, 0, {}};
        for (const auto& v : evicted) {
          ld.freed_bytes += plane_bytes(params, v.plane, p.nested);
          if (auto it = last_use.find({v.layer, v.expert}); it != last_use.end()) ld.after_uses.push_back(it->second);
        }
        load_of[{slice.expert, slice.plane}] = static_cast<int32_t>(sp.loads.size());
        sp.loads.push_back(std::move(ld));
      }
      for (int32_t e = 0; e < experts; ++e)
        for (int32_t n = 0; n < planes; ++n) {
          if (B[e][n] == 0) continue;
          PlannedUse u{static_cast<int32_t>(l), e, B[e][n], p.nested.base_bits + n, 0, 0, {}};
          for (int32_t pl = 0; pl <= n; ++pl) {
            u.weight_bytes += plane_bytes(params, pl, p.nested);
            if (auto it = load_of.find({e, pl}); it != load_of.end()) {
              u.loads.push_back(it->second);
              if (sp.loads[it->second].cached_bytes == 0) u.streamed_bytes += sp.loads[it->second].bytes;
            }
          }
          last_use[{mi, e}] = static_cast<int32_t>(sp.uses.size());
          sp.uses.push_back(std::move(u));
        }
    }
    const PlaneStats& after = cache.stats();
    sp.counters = {{"cache_hits", double(after.plane_hits - before.plane_hits)},
                   {"cache_misses", double(after.plane_loads - before.plane_loads)},
                   {"prefetches", 0.0}, {"prefetch_used", 0.0},
                   {"bytes_read", after.bytes_loaded - before.bytes_loaded}};
  }
  out.planes = cache.stats();
}

void Replay::run() {
  std::vector<StepPlan> shapes;
  for (int64_t s = 0; s < steps(); ++s) shapes.push_back(shape(s));
  auto routes = route_all(shapes);
  if (p.precision == "nested" && p.source != ExpertSource::memory) {
    run_nested(shapes, routes);
  } else {
    CalibrationTrace calib = calibration();
    choose_precision(calib);
    policy.calibrate(calib);
    prefetch.calibrate(calib);
    run_experts(shapes, routes, calib);
  }
  out.steps = std::move(shapes);
}

}  // namespace

double stored_expert_bytes(const OffloadParams& p, double params, Bits bits) { return quantized_bytes(params, bits, p.format); }

RunPlan plan_run(const OffloadParams& p, const workload::WorkloadContext& ctx, ICachePolicy& cache, IPrefetcher& prefetch) {
  Replay r(p, ctx, cache, prefetch);
  r.run();
  return std::move(r.out);
}

}  // namespace moesim::offload
