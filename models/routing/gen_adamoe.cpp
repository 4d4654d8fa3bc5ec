// kind "adamoe": AdaMoE null experts (Zeng et al., Findings of EMNLP 2024, arXiv 2406.13233): top_k
// slots over real + null experts; a token whose top-k holds r nulls uses k - r real experts. Model:
// each slot is real with probability q = mean_real_k / top_k, so real experts per token ~
// Binomial(top_k, q) with mean mean_real_k; the real ones are distinct draws from the layer's
// popularity; null slots are kNoExpert; gates renormalised over the real experts.
// (AdaMoE on Mixtral-8x7B: mean real experts 2.0 -> ~1.67 with top-k raised, -14.55% FLOPs.)
#include <map>

#include "models/routing/generators.hpp"

namespace moesim::routing {
namespace {

class AdaMoe final : public IRoutingSource {
 public:
  AdaMoe(AdaMoeParams p, const RoutingContext& ctx) : p_(std::move(p)), ctx_(ctx) {}
  LayerRouting route(const RouteRequest& q) override {
    auto rng = gen::stream(ctx_.seed, "adamoe", q.step, q.layer);
    const double real_p = p_.mean_real_k / p_.top_k;
    LayerRouting r = gen::empty_layer(q.tokens, p_.top_k, true, false);
    LayerRouting one = gen::empty_layer(1, 1, true, false);
    std::vector<int32_t> order;
    for (int64_t t = 0; t < q.tokens; ++t) {
      int32_t real = 0;
      for (int32_t j = 0; j < p_.top_k; ++j) real += rng.uniform() < real_p;
      if (real == 0) continue;
      one = gen::empty_layer(1, real, true, false);
      gen::sample_token(pi(q.layer, real), rng, order, one, 0);
      std::copy(one.experts.begin(), one.experts.end(), r.experts.begin() + t * p_.top_k);
      std::copy(one.weights.begin(), one.weights.end(), r.weights.begin() + t * p_.top_k);
    }
    return r;
  }

 private:
  const std::vector<double>& pi(int32_t layer, int32_t k) {
    auto key = std::make_pair(layer, k);
    auto it = pi_.find(key);
    if (it == pi_.end())
      it = pi_.emplace(key, gen::inclusion_probabilities(gen::layer_popularity(p_.popularity, ctx_.num_experts, p_.top_k, layer, ctx_.seed), k)).first;
    return it->second;
  }
  AdaMoeParams p_;
  RoutingContext ctx_;
  std::map<std::pair<int32_t, int32_t>, std::vector<double>> pi_;
};

}  // namespace

std::unique_ptr<IRoutingSource> make_adamoe(const AdaMoeParams& p, const RoutingContext& ctx) { return std::make_unique<AdaMoe>(p, ctx); }

MOESIM_REGISTER(RoutingRegistry, "adamoe", "AdaMoE null experts: variable number of real experts per token",
                ([](const config::Table& t, const RoutingContext& ctx) -> std::unique_ptr<IRoutingSource> {
                  AdaMoeParams p{gen::read_popularity(t), gen::read_top_k(t, ctx), 0.0};
                  p.mean_real_k = t.number_in_or("mean_real_k", 0.0, static_cast<double>(p.top_k), 0.835 * p.top_k);
                  t.finish();
                  return make_adamoe(p, ctx);
                }));

}  // namespace moesim::routing
