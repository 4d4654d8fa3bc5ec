// kind "switch": Switch Transformer top-1 routing with capacity (Fedus et al., JMLR 2022).
// p = softmax(logits) (Gaussian score model, gen_common.hpp); expert = argmax p; gate = p_expert.
// Capacity C = ceil(T / E * capacity_factor); tokens claim slots in batch order (DeepSpeed's cumsum
// gating, seed-systems.md §6.4) and tokens beyond C are dropped (marked, expert id kept).
#include <map>

#include "models/routing/generators.hpp"

namespace moesim::routing {
namespace {

class Switch final : public IRoutingSource {
 public:
  Switch(SwitchParams p, const RoutingContext& ctx) : p_(std::move(p)), ctx_(ctx) {}
  LayerRouting route(const RouteRequest& q) override {
    const int32_t E = ctx_.num_experts;
    auto rng = gen::stream(ctx_.seed, "switch", q.step, q.layer);
    auto logits = gen::score_logits(gen::layer_popularity(p_.scores.popularity, E, 1, q.layer, ctx_.seed), q.tokens, p_.scores.noise, rng);
    LayerRouting r = gen::empty_layer(q.tokens, 1, true, true);
    const int64_t cap = gen::expert_capacity(q.tokens, 1, E, p_.capacity_factor);
    std::vector<int64_t> used(static_cast<size_t>(E), 0);
    for (int64_t t = 0; t < q.tokens; ++t) {
      double* row = logits.data() + t * E;
      gen::softmax_row(row, E);
      int32_t e = 0;
      gen::top_k_indices(row, E, 1, &e);
      r.experts[t] = e;
      r.weights[t] = static_cast<float>(row[e]);
      r.dropped[t] = used[e] >= cap;
      if (!r.dropped[t]) ++used[e];
    }
    return r;
  }

 private:
  SwitchParams p_;
  RoutingContext ctx_;
};

}  // namespace

std::unique_ptr<IRoutingSource> make_switch(const SwitchParams& p, const RoutingContext& ctx) {
  return std::make_unique<Switch>(p, ctx);
}

MOESIM_REGISTER(RoutingRegistry, "switch", "Switch Transformer top-1 with capacity factor and token dropping",
                ([](const config::Table& t, const RoutingContext& ctx) -> std::unique_ptr<IRoutingSource> {
                  SwitchParams p{gen::read_scores(t), t.number_in_or("capacity_factor", 0.01, 1e3, 1.0)};
                  t.finish();
                  return make_switch(p, ctx);
                }));

}  // namespace moesim::routing
