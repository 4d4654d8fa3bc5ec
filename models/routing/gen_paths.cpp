// kind "cross_layer_paths": the previous layers' choices predict the next (EdgeMoE, Yi et al. 2023:
// P(E3 = 5 | E1 = 3, E2 = 1) = 87.1%; the top 20% of activation paths cover > 99% of tokens).
// At layer l >= 1, with probability `follow` a token takes the experts that a fixed map assigns to
// its path (its first-choice experts at layers l-history..l-1); the map is a deterministic draw from
// layer l's popularity keyed by (l, path). Otherwise (and at layer 0) it draws fresh. Layers of one
// step are generated together and cached, so any call order gives the same routing.
#include <fmt/format.h>

#include <map>

#include "models/routing/generators.hpp"

namespace moesim::routing {
namespace {

class CrossLayer final : public IRoutingSource {
 public:
  CrossLayer(CrossLayerParams p, const RoutingContext& ctx) : p_(std::move(p)), ctx_(ctx) {}
  LayerRouting route(const RouteRequest& q) override {
    if (q.step != step_ || q.tokens != tokens_) layers_.clear(), step_ = q.step, tokens_ = q.tokens;
    while (static_cast<int32_t>(layers_.size()) <= q.layer) layers_.push_back(generate(static_cast<int32_t>(layers_.size())));
    return layers_[static_cast<size_t>(q.layer)];
  }

 private:
  LayerRouting generate(int32_t layer) {
    auto rng = gen::stream(ctx_.seed, "cross_layer_paths", step_, layer);
    const auto& pi = layer_pi(layer);
    LayerRouting r = gen::empty_layer(tokens_, p_.top_k, true, false);
    std::vector<int32_t> order;
    for (int64_t t = 0; t < tokens_; ++t) {
      if (layer == 0 || rng.uniform() >= p_.follow) {
        gen::sample_token(pi, rng, order, r, t);
        continue;
      }
      uint64_t key = hash_name(fmt::format("l{}", layer));
      for (int32_t h = 1; h <= p_.history && layer - h >= 0; ++h)
        key = key * 1000003ULL + static_cast<uint64_t>(layers_[static_cast<size_t>(layer - h)].experts[t * p_.top_k] + 2);
      Rng path_rng(ctx_.seed ^ key, "routing.cross_layer_paths.map");
      std::vector<int32_t> path_order;
      gen::sample_token(pi, path_rng, path_order, r, t);
    }
    return r;
  }
  const std::vector<double>& layer_pi(int32_t layer) {
    auto it = pi_.find(layer);
    if (it == pi_.end())
      it = pi_.emplace(layer, gen::inclusion_probabilities(
                                  gen::layer_popularity(p_.popularity, ctx_.num_experts, p_.top_k, layer, ctx_.seed), p_.top_k)).first;
    return it->second;
  }
  CrossLayerParams p_;
  RoutingContext ctx_;
  std::map<int32_t, std::vector<double>> pi_;
  int64_t step_ = -1, tokens_ = -1;
  std::vector<LayerRouting> layers_;
};

}  // namespace

std::unique_ptr<IRoutingSource> make_cross_layer(const CrossLayerParams& p, const RoutingContext& ctx) {
  return std::make_unique<CrossLayer>(p, ctx);
}

MOESIM_REGISTER(RoutingRegistry, "cross_layer_paths", "previous layers' experts predict the next layer's (EdgeMoE path skew)",
                ([](const config::Table& t, const RoutingContext& ctx) -> std::unique_ptr<IRoutingSource> {
                  CrossLayerParams p{gen::read_popularity(t), gen::read_top_k(t, ctx), t.number_in_or("follow", 0.0, 1.0, 0.9),
                                     static_cast<int32_t>(t.integer_in_or("history", 1, 8, 2))};
                  t.finish();
                  return make_cross_layer(p, ctx);
                }));

}  // namespace moesim::routing
