// kind "trace": replays a recorded routing trace (any format of trace.hpp) under the rules stated
// in trace.hpp (layer reuse, token cycling, load-only expansion), each reported through notes().
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "models/routing/gen_common.hpp"
#include "models/routing/trace.hpp"

namespace moesim::routing {
namespace {

class TraceReplay final : public IRoutingSource {
 public:
  TraceReplay(Trace t, const RoutingContext& ctx) : trace_(std::move(t)), ctx_(ctx), logged_(trace_.layer_ids()) {
    if (trace_.meta.num_experts > ctx.num_experts)
      throw InfeasibleError(fmt::format("routing trace '{}' has {} experts but the model has {}", trace_.meta.source,
                                        trace_.meta.num_experts, ctx.num_experts));
    if (trace_.meta.num_experts < ctx.num_experts)
      note(fmt::format("trace has {} experts, the model {}: experts {}..{} get no tokens", trace_.meta.num_experts,
                       ctx.num_experts, trace_.meta.num_experts, ctx.num_experts - 1));
    if (logged_.empty()) throw InfeasibleError("routing trace holds no layers");
    if (static_cast<int32_t>(logged_.size()) < ctx.num_moe_layers)
      note(fmt::format("trace logs {} of the model's {} MoE layers; layer l replays logged layer ids[l mod {}]",
                       logged_.size(), ctx.num_moe_layers, logged_.size()));
    for (size_t i = 0; i < trace_.steps.size(); ++i) step_index_[trace_.steps[i].step] = i;
  }

  LayerRouting route(const RouteRequest& q) override {
    const int32_t layer = map_layer(q.layer);
    if (auto it = step_index_.find(q.step); it != step_index_.end()) {
      for (const auto& l : trace_.steps[it->second].layers)
        if (l.layer == layer) {
          if (trace_.meta.load_only) return expand_load(l.load, q.tokens);
          if (l.routing.tokens == q.tokens) return l.routing;
        }
    }
    if (trace_.meta.load_only) return expand_load(total_load(layer), q.tokens);
    const LayerRouting& all = flattened(layer);
    if (all.tokens == 0) throw InfeasibleError(fmt::format("routing trace: layer {} has no tokens", layer));
    note(fmt::format("trace steps do not match the requested {} tokens per step: tokens are read cyclically "
                     "from the layer's {} logged tokens", q.tokens, all.tokens));
    LayerRouting r = gen::empty_layer(q.tokens, all.k, !all.weights.empty(), !all.dropped.empty());
    if (!all.bits.empty()) r.bits.assign(static_cast<size_t>(q.tokens * all.k), 0);
    r.shared_experts = all.shared_experts;
    int64_t src = (q.step * q.tokens) % all.tokens;
    if (src < 0) src += all.tokens;
    for (int64_t t = 0; t < q.tokens; ++t, src = (src + 1) % all.tokens) {
      std::copy_n(all.experts.begin() + src * all.k, all.k, r.experts.begin() + t * all.k);
      if (!all.weights.empty()) std::copy_n(all.weights.begin() + src * all.k, all.k, r.weights.begin() + t * all.k);
      if (!all.dropped.empty()) std::copy_n(all.dropped.begin() + src * all.k, all.k, r.dropped.begin() + t * all.k);
      if (!all.bits.empty()) std::copy_n(all.bits.begin() + src * all.k, all.k, r.bits.begin() + t * all.k);
    }
    return r;
  }

  std::vector<std::string> notes() const override { return notes_; }

 private:
  void note(const std::string& s) {
    if (std::find(notes_.begin(), notes_.end(), s) == notes_.end()) notes_.push_back(s);
  }
  int32_t map_layer(int32_t layer) const {
    if (std::binary_search(logged_.begin(), logged_.end(), layer)) return layer;
    return logged_[static_cast<size_t>(layer) % logged_.size()];
  }
  const LayerRouting& flattened(int32_t layer) {
    auto [it, fresh] = flat_.try_emplace(layer);
    if (!fresh) return it->second;
    int32_t k = 0;
    bool w = false, d = false, b = false;
    int64_t n = 0;
    for (const auto& s : trace_.steps)
      for (const auto& l : s.layers)
        if (l.layer == layer) k = std::max(k, l.routing.k), n += l.routing.tokens, w |= !l.routing.weights.empty(), d |= !l.routing.dropped.empty(), b |= !l.routing.bits.empty();
    LayerRouting out = gen::empty_layer(n, k, w, d);
    if (b) out.bits.assign(static_cast<size_t>(n * k), 0);
    int64_t pos = 0;
    for (const auto& s : trace_.steps)
      for (const auto& l : s.layers) {
        if (l.layer != layer) continue;
        const auto& r = l.routing;
        out.shared_experts = r.shared_experts;
        for (int64_t t = 0; t < r.tokens; ++t, ++pos)
          for (int32_t j = 0; j < r.k; ++j) {
            out.experts[pos * k + j] = r.experts[t * r.k + j];
            if (!r.weights.empty()) out.weights[pos * k + j] = r.weights[t * r.k + j];
            if (!r.dropped.empty()) out.dropped[pos * k + j] = r.dropped[t * r.k + j];
            if (!r.bits.empty()) out.bits[pos * k + j] = r.bits[t * r.k + j];
          }
      }
    return it->second = std::move(out);
  }
  std::vector<int64_t> total_load(int32_t layer) {
    note("load-only trace: a step not in the trace replays the layer's load summed over all steps");
    std::vector<int64_t> sum(static_cast<size_t>(trace_.meta.num_experts), 0);
    for (const auto& s : trace_.steps)
      for (const auto& l : s.layers)
        if (l.layer == layer)
          for (size_t i = 0; i < sum.size(); ++i) sum[i] += l.load[i];
    return sum;
  }
  LayerRouting expand_load(const std::vector<int64_t>& load, int64_t tokens) {
    note("load-only trace: per-token routing is synthesised from expert loads (column-major fill, gates 1/k)");
    const int32_t k = std::max(1, trace_.meta.top_k > 0 ? trace_.meta.top_k : ctx_.top_k);
    const int64_t total = tokens * k;
    double sum = 0;
    for (auto v : load) sum += static_cast<double>(v);
    std::vector<int64_t> share(load.size(), 0);
    std::vector<std::pair<double, size_t>> rem;
    int64_t given = 0;
    for (size_t i = 0; i < load.size(); ++i) {
      double exact = sum > 0 ? static_cast<double>(load[i]) * static_cast<double>(total) / sum : static_cast<double>(total) / load.size();
      share[i] = std::min<int64_t>(tokens, static_cast<int64_t>(std::floor(exact)));
      given += share[i];
      rem.push_back({exact - std::floor(exact), i});
    }
    std::stable_sort(rem.begin(), rem.end(), [](auto& a, auto& b) { return a.first > b.first; });
    for (size_t pass = 0; given < total && pass < 2 * load.size() + 2; ++pass)  // largest remainder, then any room
      for (auto& [frac, i] : rem)
        if (given < total && share[i] < tokens && (pass > 0 || frac > 0)) ++share[i], ++given;
    LayerRouting r = gen::empty_layer(tokens, k, true, false);
    int64_t pos = 0;
    for (size_t e = 0; e < share.size(); ++e)
      for (int64_t c = 0; c < share[e]; ++c, ++pos) {
        const int64_t t = pos % tokens, slot = pos / tokens;
        r.experts[t * k + slot] = static_cast<int32_t>(e);
        r.weights[t * k + slot] = 1.0f / static_cast<float>(k);
      }
    return r;
  }

  Trace trace_;
  RoutingContext ctx_;
  std::vector<int32_t> logged_;
  std::map<int64_t, size_t> step_index_;
  std::map<int32_t, LayerRouting> flat_;
  std::vector<std::string> notes_;
};

}  // namespace

std::unique_ptr<IRoutingSource> make_trace_replay(Trace trace, const RoutingContext& ctx) {
  return std::make_unique<TraceReplay>(std::move(trace), ctx);
}

Trace record_trace(IRoutingSource& source, const RoutingContext& ctx, int64_t steps, int64_t tokens, std::string source_name) {
  Trace t;
  t.meta.num_experts = ctx.num_experts;
  t.meta.top_k = ctx.top_k;
  t.meta.source = std::move(source_name);
  for (int64_t s = 0; s < steps; ++s) {
    TraceStep st{s, {}};
    for (int32_t l = 0; l < std::max(1, ctx.num_moe_layers); ++l)
      st.layers.push_back({l, source.route(RouteRequest{s, l, tokens, {}}), {}});
    t.steps.push_back(std::move(st));
  }
  return t;
}

MOESIM_REGISTER(RoutingRegistry, "trace", "replay a recorded trace (jsonl, binary, vllm_jsonl, csv, npy, load_matrix)",
                ([](const config::Table& t, const RoutingContext& ctx) -> std::unique_ptr<IRoutingSource> {
                  std::filesystem::path path = t.string("path");
                  if (path.is_relative()) {
                    std::filesystem::path from = t.where("path").file;
                    path = (from.empty() ? std::filesystem::path{} : from.parent_path()) / path;
                  }
                  std::optional<TraceFormat> format;
                  if (auto f = t.string_opt("format")) {
                    try {
                      format = parse_trace_format(*f);
                    } catch (const ConfigError& e) {
                      t.fail("format", e.detail());
                    }
                  }
                  t.finish();
                  if (!std::filesystem::exists(path)) t.fail("path", fmt::format("no such trace file: {}", path.string()));
                  return make_trace_replay(format ? read_trace(path, *format) : read_trace(path), ctx);
                }));

}  // namespace moesim::routing
