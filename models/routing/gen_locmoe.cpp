// kind "locmoe": LocMoE locality bias (Li et al. 2024, PanGu-Σ on Ascend; seed-systems.md §5):
// routing favours experts on the token's own node. logit'_{t,i} = logit_{t,i} + local_bias when
// node(i) == node(token t); p = softmax(logit'); top_k by p; gates renormalised over the selected.
// The token's node is request.token_device / devices_per_node; without token devices, tokens are
// spread over devices in contiguous blocks (device = t * devices / T).
#include <algorithm>

#include "models/routing/generators.hpp"

namespace moesim::routing {
namespace {

class LocMoe final : public IRoutingSource {
 public:
  LocMoe(LocMoeParams p, const RoutingContext& ctx) : p_(std::move(p)), ctx_(ctx), node_(gen::expert_nodes(ctx)) {}
  LayerRouting route(const RouteRequest& q) override {
    const int32_t E = ctx_.num_experts, k = p_.top_k;
    auto rng = gen::stream(ctx_.seed, "locmoe", q.step, q.layer);
    auto logits = gen::score_logits(gen::layer_popularity(p_.scores.popularity, E, k, q.layer, ctx_.seed), q.tokens, p_.scores.noise, rng);
    LayerRouting r = gen::empty_layer(q.tokens, k, true, false);
    const int32_t per = std::max(1, ctx_.devices_per_node), devices = std::max(1, ctx_.devices);
    for (int64_t t = 0; t < q.tokens; ++t) {
      const int32_t device = q.token_device.size() == static_cast<size_t>(q.tokens)
                                 ? q.token_device[t]
                                 : static_cast<int32_t>(t * devices / std::max<int64_t>(1, q.tokens));
      const int32_t home = device / per;
      double* s = logits.data() + t * E;
      for (int32_t i = 0; i < E; ++i)
        if (node_[i] == home) s[i] += p_.local_bias;
      gen::softmax_row(s, E);
      int32_t* out = r.experts.data() + t * k;
      gen::top_k_indices(s, E, k, out);
      double sum = 0;
      for (int32_t j = 0; j < k; ++j) sum += s[out[j]];
      for (int32_t j = 0; j < k; ++j) r.weights[t * k + j] = static_cast<float>(s[out[j]] / sum);
    }
    return r;
  }

 private:
  LocMoeParams p_;
  RoutingContext ctx_;
  std::vector<int32_t> node_;
};

}  // namespace

std::unique_ptr<IRoutingSource> make_locmoe(const LocMoeParams& p, const RoutingContext& ctx) { return std::make_unique<LocMoe>(p, ctx); }

MOESIM_REGISTER(RoutingRegistry, "locmoe", "LocMoE: routing biased toward experts on the token's own node",
                ([](const config::Table& t, const RoutingContext& ctx) -> std::unique_ptr<IRoutingSource> {
                  LocMoeParams p{gen::read_scores(t), gen::read_top_k(t, ctx), t.number_in_or("local_bias", -100.0, 100.0, 1.0)};
                  t.finish();
                  return make_locmoe(p, ctx);
                }));

}  // namespace moesim::routing
