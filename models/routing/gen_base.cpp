// kind "base": BASE layers balanced assignment (Lewis et al., ICML 2021): maximise sum_t s_{t,a_t}
// subject to every expert receiving exactly T/E tokens (the first T mod E experts one more).
// BASE solves it exactly with an auction algorithm; here a greedy pass over (token, expert) pairs in
// decreasing score fills capacities (balance exact, affinity within 1/2 of optimal). Top-1, gate =
// softmax score. Scores from the Gaussian score model (gen_common.hpp).
#include <algorithm>
#include <numeric>

#include "models/routing/generators.hpp"

namespace moesim::routing {
namespace {

class Base final : public IRoutingSource {
 public:
  Base(BaseParams p, const RoutingContext& ctx) : p_(std::move(p)), ctx_(ctx) {}
  LayerRouting route(const RouteRequest& q) override {
    const int32_t E = ctx_.num_experts;
    const int64_t T = q.tokens;
    auto rng = gen::stream(ctx_.seed, "base", q.step, q.layer);
    auto s = gen::score_logits(gen::layer_popularity(p_.scores.popularity, E, 1, q.layer, ctx_.seed), T, p_.scores.noise, rng);
    for (int64_t t = 0; t < T; ++t) gen::softmax_row(s.data() + t * E, E);
    std::vector<int64_t> cap(static_cast<size_t>(E), T / E);
    for (int64_t e = 0; e < T % E; ++e) ++cap[e];
    std::vector<int64_t> pairs(static_cast<size_t>(T * E));
    std::iota(pairs.begin(), pairs.end(), 0);
    std::sort(pairs.begin(), pairs.end(), [&](int64_t a, int64_t b) { return s[a] > s[b] || (s[a] == s[b] && a < b); });
    LayerRouting r = gen::empty_layer(T, 1, true, false);
    for (int64_t pr : pairs) {
      int64_t t = pr / E, e = pr % E;
      if (r.experts[t] != kNoExpert || cap[e] == 0) continue;
      r.experts[t] = static_cast<int32_t>(e);
      r.weights[t] = static_cast<float>(s[pr]);
      --cap[e];
    }
    return r;
  }

 private:
  BaseParams p_;
  RoutingContext ctx_;
};

}  // namespace

std::unique_ptr<IRoutingSource> make_base(const BaseParams& p, const RoutingContext& ctx) { return std::make_unique<Base>(p, ctx); }

MOESIM_REGISTER(RoutingRegistry, "base", "BASE layers: balanced top-1 assignment, every expert exactly T/E tokens",
                ([](const config::Table& t, const RoutingContext& ctx) -> std::unique_ptr<IRoutingSource> {
                  BaseParams p{gen::read_scores(t)};
                  t.finish();
                  return make_base(p, ctx);
                }));

}  // namespace moesim::routing
