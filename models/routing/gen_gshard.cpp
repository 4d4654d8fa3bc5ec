// kind "gshard": GShard top-2 gating (Lepikhin et al., ICLR 2021). g1, g2 = the two largest softmax
// probabilities renormalised to sum 1; the second expert is dispatched only when 2*g2 > U(0,1)
// ("random routing"); capacity C = ceil(2T / E * capacity_factor) per expert; first-choice slots are
// filled (in token order) before second-choice slots; overflow is dropped (marked).
#include "models/routing/generators.hpp"

namespace moesim::routing {
namespace {

class GShard final : public IRoutingSource {
 public:
  GShard(GShardParams p, const RoutingContext& ctx) : p_(std::move(p)), ctx_(ctx) {}
  LayerRouting route(const RouteRequest& q) override {
    const int32_t E = ctx_.num_experts;
    auto rng = gen::stream(ctx_.seed, "gshard", q.step, q.layer);
    auto logits = gen::score_logits(gen::layer_popularity(p_.scores.popularity, E, 2, q.layer, ctx_.seed), q.tokens, p_.scores.noise, rng);
    LayerRouting r = gen::empty_layer(q.tokens, 2, true, true);
    for (int64_t t = 0; t < q.tokens; ++t) {
      double* row = logits.data() + t * E;
      gen::softmax_row(row, E);
      int32_t top[2];
      gen::top_k_indices(row, E, 2, top);
      double g1 = row[top[0]], g2 = row[top[1]], s = g1 + g2;
      r.experts[2 * t] = top[0];
      r.weights[2 * t] = static_cast<float>(g1 / s);
      const double u = rng.uniform();
      if (!p_.random_routing || 2.0 * g2 / s > u) {
        r.experts[2 * t + 1] = top[1];
        r.weights[2 * t + 1] = static_cast<float>(g2 / s);
      }
    }
    const int64_t cap = gen::expert_capacity(q.tokens, 2, E, p_.capacity_factor);
    std::vector<int64_t> used(static_cast<size_t>(E), 0);
    for (int32_t slot = 0; slot < 2; ++slot)  // first choices claim capacity before second choices
      for (int64_t t = 0; t < q.tokens; ++t) {
        int32_t e = r.experts[2 * t + slot];
        if (e == kNoExpert) continue;
        r.dropped[2 * t + slot] = used[e] >= cap;
        if (!r.dropped[2 * t + slot]) ++used[e];
      }
    return r;
  }

 private:
  GShardParams p_;
  RoutingContext ctx_;
};

}  // namespace

std::unique_ptr<IRoutingSource> make_gshard(const GShardParams& p, const RoutingContext& ctx) {
  return std::make_unique<GShard>(p, ctx);
}

MOESIM_REGISTER(RoutingRegistry, "gshard", "GShard top-2 with random routing, capacity factor and token dropping",
                ([](const config::Table& t, const RoutingContext& ctx) -> std::unique_ptr<IRoutingSource> {
                  GShardParams p{gen::read_scores(t), t.number_in_or("capacity_factor", 0.01, 1e3, 1.0), t.boolean_or("random_routing", true)};
                  if (ctx.num_experts < 2) t.fail("kind", "gshard needs at least 2 experts");
                  t.finish();
                  return make_gshard(p, ctx);
                }));

}  // namespace moesim::routing
