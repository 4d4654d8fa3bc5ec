// kind "readme_pregate": Read-ME pre-gating (Cai et al., NeurIPS 2024, arXiv 2410.19123): one
// decoupled router picks each token's experts once, before the backbone runs, and every layer uses
// the same choice; plus `permanent_experts` always-on experts (LayerRouting::shared_experts).
// Choices: top_k distinct experts from the popularity law (layer 0's), drawn per step, identical for
// all layers — so the routing of any layer is known ahead of time (route(step, 0) predicts all).
#include "models/routing/generators.hpp"

namespace moesim::routing {
namespace {

class ReadMe final : public IRoutingSource {
 public:
  ReadMe(ReadMeParams p, const RoutingContext& ctx)
      : p_(std::move(p)), ctx_(ctx),
        pi_(gen::inclusion_probabilities(gen::layer_popularity(p_.popularity, ctx.num_experts, p_.top_k, 0, ctx.seed), p_.top_k)) {}
  LayerRouting route(const RouteRequest& q) override {
    auto rng = gen::stream(ctx_.seed, "readme_pregate", q.step, 0);  // no layer: the same for every layer
    LayerRouting r = gen::sample_layer(pi_, p_.top_k, q.tokens, rng);
    r.shared_experts = p_.permanent_experts;
    return r;
  }
  std::vector<std::string> notes() const override {
    return {"readme_pregate: every layer of a step has the same routing (known before layer 0 runs)"};
  }

 private:
  ReadMeParams p_;
  RoutingContext ctx_;
  std::vector<double> pi_;
};

}  // namespace

std::unique_ptr<IRoutingSource> make_readme(const ReadMeParams& p, const RoutingContext& ctx) { return std::make_unique<ReadMe>(p, ctx); }

MOESIM_REGISTER(RoutingRegistry, "readme_pregate", "Read-ME pre-gating: one choice per token reused by all layers, known ahead",
                ([](const config::Table& t, const RoutingContext& ctx) -> std::unique_ptr<IRoutingSource> {
                  ReadMeParams p{gen::read_popularity(t), gen::read_top_k(t, ctx),
                                 static_cast<int32_t>(t.integer_in_or("permanent_experts", 0, 64, 1))};
                  t.finish();
                  return make_readme(p, ctx);
                }));

}  // namespace moesim::routing
