// kind "temporal_reuse": token-to-token correlation (Mixtral paper, Jiang et al. 2024: consecutive
// tokens reuse experts more often than chance). Token t repeats token t-1's experts in the same
// layer with probability `reuse`, else draws fresh from the layer's popularity. Expected
// first-choice repeat rate = reuse + (1 - reuse) * sum_i pi_i^2 / k (chance part approximate).
#include <map>

#include "models/routing/generators.hpp"

namespace moesim::routing {
namespace {

class TemporalReuse final : public IRoutingSource {
 public:
  TemporalReuse(TemporalReuseParams p, const RoutingContext& ctx) : p_(std::move(p)), ctx_(ctx) {}
  LayerRouting route(const RouteRequest& q) override {
    auto rng = gen::stream(ctx_.seed, "temporal_reuse", q.step, q.layer);
    const auto& pi = layer_pi(q.layer);
    LayerRouting r = gen::empty_layer(q.tokens, p_.top_k, true, false);
    std::vector<int32_t> order;
    for (int64_t t = 0; t < q.tokens; ++t) {
      if (t > 0 && rng.uniform() < p_.reuse) {
        std::copy_n(r.experts.begin() + (t - 1) * r.k, r.k, r.experts.begin() + t * r.k);
        std::copy_n(r.weights.begin() + (t - 1) * r.k, r.k, r.weights.begin() + t * r.k);
      } else {
        gen::sample_token(pi, rng, order, r, t);
      }
    }
    return r;
  }

 private:
  const std::vector<double>& layer_pi(int32_t layer) {
    auto it = pi_.find(layer);
    if (it == pi_.end())
      it = pi_.emplace(layer, gen::inclusion_probabilities(
                                  gen::layer_popularity(p_.popularity, ctx_.num_experts, p_.top_k, layer, ctx_.seed), p_.top_k)).first;
    return it->second;
  }
  TemporalReuseParams p_;
  RoutingContext ctx_;
  std::map<int32_t, std::vector<double>> pi_;
};

}  // namespace

std::unique_ptr<IRoutingSource> make_temporal_reuse(const TemporalReuseParams& p, const RoutingContext& ctx) {
  return std::make_unique<TemporalReuse>(p, ctx);
}

MOESIM_REGISTER(RoutingRegistry, "temporal_reuse", "consecutive tokens repeat experts with probability `reuse` (Mixtral)",
                ([](const config::Table& t, const RoutingContext& ctx) -> std::unique_ptr<IRoutingSource> {
                  TemporalReuseParams p{gen::read_popularity(t), gen::read_top_k(t, ctx), t.number_in_or("reuse", 0.0, 1.0, 0.3)};
                  t.finish();
                  return make_temporal_reuse(p, ctx);
                }));

}  // namespace moesim::routing
