// kind "popularity": per-layer expert popularity from a Zipf or Dirichlet law, tuned to a target
// max/mean or CV of the selection load (gen_common.hpp); each token draws top_k distinct experts
// with inclusion probabilities pi_i = min(1, c p_i) exactly (Madow systematic sampling).
// Targets: seed-systems.md §7.2 (Mixtral max/min 1.4-1.6; Qwen3 128 experts max/mean 2.92, CV 0.55).
#include <map>

#include "models/routing/generators.hpp"

namespace moesim::routing {
namespace {

class Popularity final : public IRoutingSource {
 public:
  Popularity(PopularityGenParams p, const RoutingContext& ctx) : p_(std::move(p)), ctx_(ctx) {
    for (int32_t l = 0; l < std::max(1, ctx.num_moe_layers); ++l) pi(l);  // infeasible targets fail here
  }
  LayerRouting route(const RouteRequest& q) override {
    auto rng = gen::stream(ctx_.seed, "popularity", q.step, q.layer);
    return gen::sample_layer(pi(q.layer), p_.top_k, q.tokens, rng);
  }
  // Count level: the CPS design with the same inclusion probabilities (docs/routing.md): each
  // (source, expert) count is Binomial(tokens, pi_i) and each source's counts sum to tokens * k,
  // as on the per-token path; only the joint inclusion of expert pairs differs.
  bool samples_counts(const CountRequest& q) const override { return gen::samples_counts(p_.counts, q); }
  LayerCounts route_counts(const CountRequest& q) override {
    if (!samples_counts(q)) return IRoutingSource::route_counts(q);
    auto it = design_.find(q.layer);
    if (it == design_.end()) it = design_.emplace(q.layer, FixedSizeDesign(pi(q.layer), p_.top_k)).first;
    auto rng = gen::stream(ctx_.seed, "popularity.counts", q.step, q.layer);
    return gen::design_counts(it->second, q, rng);
  }

 private:
  const std::vector<double>& pi(int32_t layer) {
    auto it = pi_.find(layer);
    if (it == pi_.end())
      it = pi_.emplace(layer, gen::inclusion_probabilities(
                                  gen::layer_popularity(p_.popularity, ctx_.num_experts, p_.top_k, layer, ctx_.seed), p_.top_k)).first;
    return it->second;
  }
  PopularityGenParams p_;
  RoutingContext ctx_;
  std::map<int32_t, std::vector<double>> pi_;
  std::map<int32_t, FixedSizeDesign> design_;
};

}  // namespace

std::unique_ptr<IRoutingSource> make_popularity(const PopularityGenParams& p, const RoutingContext& ctx) {
  return std::make_unique<Popularity>(p, ctx);
}

MOESIM_REGISTER(RoutingRegistry, "popularity", "per-layer Zipf/Dirichlet expert popularity tuned to a max/mean or CV",
                ([](const config::Table& t, const RoutingContext& ctx) -> std::unique_ptr<IRoutingSource> {
                  PopularityGenParams p{gen::read_popularity(t), gen::read_top_k(t, ctx), gen::read_count_sampling(t)};
                  t.finish();
                  return make_popularity(p, ctx);
                }));

}  // namespace moesim::routing
