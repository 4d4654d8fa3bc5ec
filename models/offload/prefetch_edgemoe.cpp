// kind "edgemoe": EdgeMoE's expert predictor (Yi et al., arXiv 2308.14352, "in-advance expert
// prediction"; seed-systems.md §2.3). Offline, a calibration trace fills a table keyed by the
// experts a token activated at the previous `history` (= 2) MoE layers; the value is the
// distribution of its expert at the next layer: P(e | E_{l-2}, E_{l-1}) = count(path, e) / count(path).
// Online, before layer l routes, each token looks up its own key; for a batch the chance that
// expert e is needed by at least one token is 1 - prod_t (1 - P_t(e)). Experts are preloaded in
// decreasing probability while it is >= min_probability, at most max_experts per layer. A key the
// calibration never saw falls back to the layer's marginal frequencies. Layers with fewer than
// `history` predecessors use the ones they have.
#include <algorithm>
#include <map>

#include "models/offload/prefetcher.hpp"

namespace moesim::offload {
namespace {

using PathKey = std::vector<int32_t>;

class EdgeMoePrefetch final : public IPrefetcher {
 public:
  EdgeMoePrefetch(EdgeMoePrefetchParams p, const OffloadContext& ctx) : p_(p), ctx_(ctx) {
    marginal_.assign(static_cast<size_t>(ctx.moe_layers), std::vector<double>(static_cast<size_t>(ctx.experts), 0.0));
  }

  void calibrate(const CalibrationTrace& trace) override {
    for (const auto& tok : trace.tokens)
      for (int32_t l = 0; l < static_cast<int32_t>(tok.experts.size()) && l < ctx_.moe_layers; ++l) {
        PathKey key = key_of(l, [&](int32_t prev) { return tok.experts[static_cast<size_t>(prev)]; });
        auto& row = table_[key];
        row.resize(static_cast<size_t>(ctx_.experts), 0.0);
        for (int32_t e : tok.experts[static_cast<size_t>(l)])
          if (e >= 0 && e < ctx_.experts) row[static_cast<size_t>(e)] += 1.0, marginal_[l][static_cast<size_t>(e)] += 1.0;
      }
  }

  std::vector<int32_t> predict(const PrefetchQuery& q) override {
    const int64_t tokens = q.history.empty() ? 1 : q.tokens;  // without history every token looks alike
    std::vector<double> miss(static_cast<size_t>(ctx_.experts), 1.0);  // prod_t (1 - P_t(e))
    for (int64_t t = 0; t < tokens; ++t) {
      PathKey key = key_of(q.layer, [&](int32_t prev) {
        // Layers without history (the first layers of a step, or a caller that gives none) key as
        // "unknown" rather than reading past the history.
        const auto i = static_cast<size_t>(prev);
        if (i >= q.history.size() || q.history[i] == nullptr) return std::vector<int32_t>{};
        return token_experts(*q.history[i], t);
      });
      auto p = distribution(q.layer, key);
      for (size_t e = 0; e < p.size(); ++e) miss[e] *= 1.0 - p[e];
    }
    std::vector<int32_t> order(static_cast<size_t>(ctx_.experts));
    for (int32_t e = 0; e < ctx_.experts; ++e) order[e] = e;
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return miss[a] < miss[b]; });
    std::vector<int32_t> out;
    for (int32_t e : order)
      if (static_cast<int32_t>(out.size()) < p_.max_experts && 1.0 - miss[e] >= p_.min_probability && miss[e] < 1.0)
        out.push_back(e);
    return out;
  }

 private:
  template <class ExpertsAt>
  PathKey key_of(int32_t layer, ExpertsAt experts_at) const {
    PathKey key{layer};
    for (int32_t prev = std::max(0, layer - p_.history); prev < layer; ++prev) {
      std::vector<int32_t> e = experts_at(prev);
      std::sort(e.begin(), e.end());
      key.push_back(-1);  // separator
      key.insert(key.end(), e.begin(), e.end());
    }
    return key;
  }
  static std::vector<int32_t> token_experts(const routing::LayerRouting& r, int64_t t) {
    std::vector<int32_t> e;
    if (t >= r.tokens) return e;
    for (int32_t s = 0; s < r.k; ++s)
      if (r.expert(t, s) != routing::kNoExpert) e.push_back(r.expert(t, s));
    return e;
  }
  std::vector<double> distribution(int32_t layer, const PathKey& key) const {
    auto it = table_.find(key);
    const std::vector<double>& row = it != table_.end() ? it->second : marginal_.at(static_cast<size_t>(layer));
    std::vector<double> p(static_cast<size_t>(ctx_.experts), 0.0);
    double paths = 0;  // tokens that took this path: each contributes top_k expert counts
    for (double c : row) paths += c;
    paths /= std::max(1, ctx_.top_k);
    if (paths <= 0) return p;
    for (size_t e = 0; e < row.size(); ++e) p[e] = std::min(1.0, row[e] / paths);
    return p;
  }

  EdgeMoePrefetchParams p_;
  OffloadContext ctx_;
  std::map<PathKey, std::vector<double>> table_;
  std::vector<std::vector<double>> marginal_;
};

}  // namespace

std::unique_ptr<IPrefetcher> make_edgemoe_prefetch(const EdgeMoePrefetchParams& p, const OffloadContext& ctx) {
  return std::make_unique<EdgeMoePrefetch>(p, ctx);
}

MOESIM_REGISTER(PrefetcherRegistry, "edgemoe", "EdgeMoE: table of next-layer experts keyed by the previous two layers' experts (calibrated)",
                ([](const config::Table& t, const OffloadContext& ctx) {
                  EdgeMoePrefetchParams p;
                  p.max_experts = static_cast<int32_t>(t.integer_in_or("max_experts", 1, 1 << 20, p.max_experts));
                  p.min_probability = t.number_in_or("min_probability", 0.0, 1.0, p.min_probability);
                  p.history = static_cast<int32_t>(t.integer_in_or("history", 1, 8, p.history));
                  t.finish();
                  return make_edgemoe_prefetch(p, ctx);
                }));

}  // namespace moesim::offload
