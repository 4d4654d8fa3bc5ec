// kinds "none", "readme_lookahead", "next_layer_frequent".
//  none               : no preloading (load on activation: EdgeMoE's IO-EXP baseline).
//  readme_lookahead   : exact: the pre-gating router (Read-ME, Cai et al. NeurIPS 2024, §lookahead
//                       scheduling) decides every layer's experts before the backbone runs, so the
//                       next layer's experts are known: prefetch them all, most loaded first.
//  next_layer_frequent: the next layer's `max_experts` most frequent experts (calibration counts +
//                       counts observed so far): a history-free predictor, the baseline EdgeMoE's
//                       path table is compared against.
#include <algorithm>

#include "models/offload/prefetcher.hpp"

namespace moesim::offload {

std::vector<int32_t> experts_by_load(const routing::LayerRouting& r, int32_t num_experts) {
  auto load = r.expert_load(num_experts);
  std::vector<int32_t> out;
  for (int32_t e = 0; e < num_experts; ++e)
    if (load[e] > 0) out.push_back(e);
  std::stable_sort(out.begin(), out.end(), [&](int32_t a, int32_t b) { return load[a] > load[b]; });
  return out;
}

namespace {

class NoPrefetch final : public IPrefetcher {
 public:
  std::vector<int32_t> predict(const PrefetchQuery&) override { return {}; }
};

class Lookahead final : public IPrefetcher {
 public:
  Lookahead(LookaheadParams p, int32_t experts) : p_(p), experts_(experts) {}
  std::vector<int32_t> predict(const PrefetchQuery& q) override {
    if (!q.upcoming) return {};
    auto out = experts_by_load(*q.upcoming, experts_);
    if (p_.max_experts > 0 && static_cast<int32_t>(out.size()) > p_.max_experts) out.resize(static_cast<size_t>(p_.max_experts));
    return out;
  }

 private:
  LookaheadParams p_;
  int32_t experts_;
};

class Frequent final : public IPrefetcher {
 public:
  Frequent(FrequentPrefetchParams p, const OffloadContext& ctx)
      : p_(p), counts_(static_cast<size_t>(ctx.moe_layers), std::vector<double>(static_cast<size_t>(ctx.experts), 0.0)) {}
  void calibrate(const CalibrationTrace& trace) override {
    auto c = trace.counts();
    for (size_t l = 0; l < c.size() && l < counts_.size(); ++l)
      for (size_t e = 0; e < c[l].size() && e < counts_[l].size(); ++e) counts_[l][e] += c[l][e];
  }
  void observe(int32_t layer, const routing::LayerRouting& r) override {
    auto& c = counts_.at(static_cast<size_t>(layer));
    auto load = r.expert_load(static_cast<int32_t>(c.size()));
    for (size_t e = 0; e < c.size(); ++e) c[e] += static_cast<double>(load[e]);
  }
  std::vector<int32_t> predict(const PrefetchQuery& q) override {
    const auto& c = counts_.at(static_cast<size_t>(q.layer));
    std::vector<int32_t> order(c.size());
    for (size_t e = 0; e < c.size(); ++e) order[e] = static_cast<int32_t>(e);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return c[a] > c[b]; });
    std::vector<int32_t> out;
    for (int32_t e : order)
      if (static_cast<int32_t>(out.size()) < p_.max_experts && c[e] > 0) out.push_back(e);
    return out;
  }

 private:
  FrequentPrefetchParams p_;
  std::vector<std::vector<double>> counts_;
};

}  // namespace

std::unique_ptr<IPrefetcher> make_no_prefetch() { return std::make_unique<NoPrefetch>(); }
std::unique_ptr<IPrefetcher> make_readme_lookahead(const LookaheadParams& p, const OffloadContext& ctx) {
  return std::make_unique<Lookahead>(p, ctx.experts);
}
std::unique_ptr<IPrefetcher> make_next_layer_frequent(const FrequentPrefetchParams& p, const OffloadContext& ctx) {
  return std::make_unique<Frequent>(p, ctx);
}

MOESIM_REGISTER(PrefetcherRegistry, "none", "no preloading: every miss loads on activation",
                ([](const config::Table& t, const OffloadContext&) { t.finish(); return make_no_prefetch(); }));
MOESIM_REGISTER(PrefetcherRegistry, "readme_lookahead", "exact next-layer experts from Read-ME's pre-gating router",
                ([](const config::Table& t, const OffloadContext& ctx) -> std::unique_ptr<IPrefetcher> {
                  LookaheadParams p;
                  p.max_experts = static_cast<int32_t>(t.integer_in_or("max_experts", 0, 1 << 20, 0));
                  t.finish();
                  return make_readme_lookahead(p, ctx);
                }));
MOESIM_REGISTER(PrefetcherRegistry, "next_layer_frequent", "the next layer's most frequent experts (calibration + online counts)",
                ([](const config::Table& t, const OffloadContext& ctx) {
                  FrequentPrefetchParams p;
                  p.max_experts = static_cast<int32_t>(t.integer_in_or("max_experts", 1, 1 << 20, p.max_experts));
                  t.finish();
                  return make_next_layer_frequent(p, ctx);
                }));

}  // namespace moesim::offload
