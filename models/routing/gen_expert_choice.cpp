// kind "expert_choice": Expert Choice routing (Zhou et al., NeurIPS 2022). S = softmax(logits) over
// experts (tokens x E); each expert takes its top-C tokens by S, C = floor(T * c / E) (at least 1),
// so every expert gets exactly C tokens; a token gets 0..E experts (slots per token = the most any
// token got; the rest are kNoExpert). Gate = S_{t,e}.
#include <algorithm>
#include <numeric>

#include "models/routing/generators.hpp"

namespace moesim::routing {
namespace {

class ExpertChoice final : public IRoutingSource {
 public:
  ExpertChoice(ExpertChoiceParams p, const RoutingContext& ctx) : p_(std::move(p)), ctx_(ctx) {}
  LayerRouting route(const RouteRequest& q) override {
    const int32_t E = ctx_.num_experts;
    const int64_t T = q.tokens;
    auto rng = gen::stream(ctx_.seed, "expert_choice", q.step, q.layer);
    auto s = gen::score_logits(gen::layer_popularity(p_.scores.popularity, E, 1, q.layer, ctx_.seed), T, p_.scores.noise, rng);
    for (int64_t t = 0; t < T; ++t) gen::softmax_row(s.data() + t * E, E);
    const int64_t cap = std::min<int64_t>(T, std::max<int64_t>(1, static_cast<int64_t>(T * p_.capacity_factor / E)));
    std::vector<std::vector<int32_t>> chosen(static_cast<size_t>(T));
    std::vector<int64_t> idx(static_cast<size_t>(T));
    for (int32_t e = 0; e < E; ++e) {
      std::iota(idx.begin(), idx.end(), 0);
      std::partial_sort(idx.begin(), idx.begin() + cap, idx.end(), [&](int64_t a, int64_t b) {
        double va = s[a * E + e], vb = s[b * E + e];
        return va > vb || (va == vb && a < b);
      });
      for (int64_t i = 0; i < cap; ++i) chosen[idx[i]].push_back(e);
    }
    size_t k = 1;
    for (const auto& c : chosen) k = std::max(k, c.size());
    LayerRouting r = gen::empty_layer(T, static_cast<int32_t>(k), true, false);
    for (int64_t t = 0; t < T; ++t)
      for (size_t j = 0; j < chosen[t].size(); ++j) {
        r.experts[t * k + j] = chosen[t][j];
        r.weights[t * k + j] = static_cast<float>(s[t * E + chosen[t][j]]);
      }
    gen::sort_slots_by_weight(r);
    return r;
  }

 private:
  ExpertChoiceParams p_;
  RoutingContext ctx_;
};

}  // namespace

std::unique_ptr<IRoutingSource> make_expert_choice(const ExpertChoiceParams& p, const RoutingContext& ctx) {
  return std::make_unique<ExpertChoice>(p, ctx);
}

MOESIM_REGISTER(RoutingRegistry, "expert_choice", "Expert Choice: each expert takes its top T*c/E tokens (perfect balance)",
                ([](const config::Table& t, const RoutingContext& ctx) -> std::unique_ptr<IRoutingSource> {
                  ExpertChoiceParams p{gen::read_scores(t), t.number_in_or("capacity_factor", 0.01, 1e3, 2.0)};
                  t.finish();
                  return make_expert_choice(p, ctx);
                }));

}  // namespace moesim::routing
