// kind "drift": expert popularity drifting across training iterations (Hecate: loads drift smoothly,
// a 5-iteration window predicts the next). log p_i(s+1) = log p_i(s) + sigma * N(0,1), renormalised;
// p(0) from the popularity law. Tokens of step s draw from p(s) as in "popularity".
#include <cmath>
#include <fmt/format.h>

#include <map>

#include "models/routing/generators.hpp"

namespace moesim::routing {
namespace {

class Drift final : public IRoutingSource {
 public:
  Drift(DriftParams p, const RoutingContext& ctx) : p_(std::move(p)), ctx_(ctx) {}
  LayerRouting route(const RouteRequest& q) override {
    if (q.step < 0) throw InfeasibleError("routing drift: steps must be >= 0");
    auto rng = gen::stream(ctx_.seed, "drift", q.step, q.layer);
    return gen::sample_layer(gen::inclusion_probabilities(popularity(q.layer, q.step), p_.top_k), p_.top_k, q.tokens, rng);
  }

 private:
  std::vector<double> popularity(int32_t layer, int64_t step) {
    auto& walk = walks_[layer];
    if (walk.empty()) {
      auto p0 = gen::layer_popularity(p_.popularity, ctx_.num_experts, p_.top_k, layer, ctx_.seed);
      for (auto& v : p0) v = std::log(std::max(v, 1e-300));
      walk.push_back(std::move(p0));
    }
    while (static_cast<int64_t>(walk.size()) <= step) {
      Rng rng(ctx_.seed, fmt::format("routing.drift.walk.s{}.l{}", walk.size(), layer));
      auto next = walk.back();
      for (auto& v : next) v += p_.sigma * rng.normal();
      walk.push_back(std::move(next));
    }
    std::vector<double> p(walk[static_cast<size_t>(step)]);
    double m = *std::max_element(p.begin(), p.end()), s = 0;
    for (auto& v : p) s += (v = std::exp(v - m));
    for (auto& v : p) v /= s;
    return p;
  }
  DriftParams p_;
  RoutingContext ctx_;
  std::map<int32_t, std::vector<std::vector<double>>> walks_;
};

}  // namespace

std::unique_ptr<IRoutingSource> make_drift(const DriftParams& p, const RoutingContext& ctx) {
  return std::make_unique<Drift>(p, ctx);
}

MOESIM_REGISTER(RoutingRegistry, "drift", "expert popularity drifting across steps (random walk of log-popularity; Hecate)",
                ([](const config::Table& t, const RoutingContext& ctx) -> std::unique_ptr<IRoutingSource> {
                  DriftParams p{gen::read_popularity(t), gen::read_top_k(t, ctx), t.number_in_or("sigma", 0.0, 10.0, 0.05)};
                  t.finish();
                  return make_drift(p, ctx);
                }));

}  // namespace moesim::routing
