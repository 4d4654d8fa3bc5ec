// kind "uniform": every token picks top_k distinct experts, each with probability top_k / E;
// equal gate weights. The null model every skew statistic is compared against.
#include <optional>

#include "models/routing/generators.hpp"

namespace moesim::routing {
namespace {

class Uniform final : public IRoutingSource {
 public:
  Uniform(UniformParams p, const RoutingContext& ctx) : p_(p), ctx_(ctx) {}
  LayerRouting route(const RouteRequest& q) override {
    auto rng = gen::stream(ctx_.seed, "uniform", q.step, q.layer);
    std::vector<double> pi(static_cast<size_t>(ctx_.num_experts), static_cast<double>(p_.top_k) / ctx_.num_experts);
    return gen::sample_layer(pi, p_.top_k, q.tokens, rng);
  }
  // A uniform random k-subset per token is the CPS design with equal probabilities: exact.
  bool samples_counts(const CountRequest& q) const override { return gen::samples_counts(p_.counts, q); }
  LayerCounts route_counts(const CountRequest& q) override {
    if (!samples_counts(q)) return IRoutingSource::route_counts(q);
    if (!design_)
      design_.emplace(std::vector<double>(static_cast<size_t>(ctx_.num_experts), static_cast<double>(p_.top_k) / ctx_.num_experts), p_.top_k);
    auto rng = gen::stream(ctx_.seed, "uniform.counts", q.step, q.layer);
    return gen::design_counts(*design_, q, rng);
  }

 private:
  UniformParams p_;
  RoutingContext ctx_;
  std::optional<FixedSizeDesign> design_;
};

}  // namespace

std::unique_ptr<IRoutingSource> make_uniform(const UniformParams& p, const RoutingContext& ctx) {
  return std::make_unique<Uniform>(p, ctx);
}

MOESIM_REGISTER(RoutingRegistry, "uniform", "every expert equally likely (top_k distinct per token)",
                ([](const config::Table& t, const RoutingContext& ctx) -> std::unique_ptr<IRoutingSource> {
                  UniformParams p{gen::read_top_k(t, ctx), gen::read_count_sampling(t)};
                  t.finish();
                  return make_uniform(p, ctx);
                }));

}  // namespace moesim::routing
