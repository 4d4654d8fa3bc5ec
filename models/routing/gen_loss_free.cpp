// kind "loss_free_bias": auxiliary-loss-free load balancing (Wang et al. 2024, arXiv 2408.15664;
// DeepSeek-V3) on a drifting score model. Affinity s_{t,i} = sigmoid(scale * (mu_i(step) + noise*N));
// selection TopK_i(s_{t,i} + b_i), gate g = s over the selected experts, normalised. After each step:
// b_i <- b_i + u * sign(mean load - load_i). mu_i(0) = log p_i of the popularity law;
// mu_i(s+1) = mu_i(s) + drift * N(0,1). State advances step by step per layer: steps are routed in
// order (a request for an earlier step replays from step 0 with the same token count).
#include <cmath>
#include <fmt/format.h>

#include <map>

#include "models/routing/generators.hpp"

namespace moesim::routing {
namespace {

class LossFree final : public IRoutingSource {
 public:
  LossFree(LossFreeParams p, const RoutingContext& ctx) : p_(std::move(p)), ctx_(ctx) {}
  LayerRouting route(const RouteRequest& q) override {
    auto& st = state(q.layer);
    if (q.step < st.next_step) reset(q.layer, st);
    while (st.next_step < q.step) step_once(q.layer, st, q.tokens);
    return step_once(q.layer, st, q.tokens);
  }

 private:
  struct State {
    int64_t next_step = 0;
    std::vector<double> mu, bias;
  };
  State& state(int32_t layer) {
    auto& st = states_[layer];
    if (st.mu.empty()) reset(layer, st);
    return st;
  }
  void reset(int32_t layer, State& st) {
    st.next_step = 0;
    st.mu = gen::layer_popularity(p_.scores.popularity, ctx_.num_experts, p_.top_k, layer, ctx_.seed);
    for (auto& v : st.mu) v = std::log(std::max(v, 1e-300));
    st.bias.assign(st.mu.size(), 0.0);
  }
  LayerRouting step_once(int32_t layer, State& st, int64_t tokens) {
    const int32_t E = ctx_.num_experts, k = p_.top_k;
    auto rng = gen::stream(ctx_.seed, "loss_free_bias", st.next_step, layer);
    LayerRouting r = gen::empty_layer(tokens, k, true, false);
    std::vector<double> s(static_cast<size_t>(E)), biased(static_cast<size_t>(E));
    std::vector<int64_t> load(static_cast<size_t>(E), 0);
    for (int64_t t = 0; t < tokens; ++t) {
      for (int32_t i = 0; i < E; ++i) {
        s[i] = 1.0 / (1.0 + std::exp(-p_.affinity_scale * (st.mu[i] + p_.scores.noise * rng.normal())));
        biased[i] = s[i] + st.bias[i];
      }
      int32_t* out = r.experts.data() + t * k;
      gen::top_k_indices(biased.data(), E, k, out);
      double sum = 0;
      for (int32_t j = 0; j < k; ++j) sum += s[out[j]], ++load[out[j]];
      for (int32_t j = 0; j < k; ++j) r.weights[t * k + j] = static_cast<float>(s[out[j]] / sum);
    }
    const double mean = static_cast<double>(tokens) * k / E;
    for (int32_t i = 0; i < E; ++i) {
      const double err = mean - static_cast<double>(load[i]);
      st.bias[i] += p_.update_rate * static_cast<double>((err > 0) - (err < 0));
    }
    Rng walk(ctx_.seed, fmt::format("routing.loss_free_bias.drift.s{}.l{}", st.next_step, layer));
    for (auto& v : st.mu) v += p_.drift * walk.normal();
    ++st.next_step;
    gen::sort_slots_by_weight(r);
    return r;
  }
  LossFreeParams p_;
  RoutingContext ctx_;
  std::map<int32_t, State> states_;
};

}  // namespace

std::unique_ptr<IRoutingSource> make_loss_free(const LossFreeParams& p, const RoutingContext& ctx) {
  return std::make_unique<LossFree>(p, ctx);
}

MOESIM_REGISTER(RoutingRegistry, "loss_free_bias", "DeepSeek-V3 auxiliary-loss-free bias controller on drifting scores",
                ([](const config::Table& t, const RoutingContext& ctx) -> std::unique_ptr<IRoutingSource> {
                  LossFreeParams p{gen::read_scores(t), gen::read_top_k(t, ctx), t.number_in_or("update_rate", 0.0, 10.0, 0.001),
                                   t.number_in_or("drift", 0.0, 10.0, 0.02), t.number_in_or("affinity_scale", 1e-6, 1e6, 1.0)};
                  t.finish();
                  return make_loss_free(p, ctx);
                }));

}  // namespace moesim::routing
