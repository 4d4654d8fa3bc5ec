// kind "deepseek": DeepSeekMoE fine-grained routed experts + shared experts with node-limited
// routing (DeepSeek-V3 technical report, arXiv 2412.19437 §2.1.2; DeepSeek-V2 device-limited).
// Affinity s_{t,i} = sigmoid(logit) (Gaussian score model); node score = sum of the node's top
// `group_top` affinities; keep the top `max_nodes` nodes; select the top_k experts among those
// nodes' experts; gate = s over the selected, normalised. Every token also visits
// `shared_experts` always-on experts (LayerRouting::shared_experts, not listed in `experts`).
// Nodes: RoutingContext placement (gen::expert_nodes).
#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include <map>

#include "models/routing/generators.hpp"

namespace moesim::routing {
namespace {

class DeepSeek final : public IRoutingSource {
 public:
  DeepSeek(DeepSeekParams p, const RoutingContext& ctx) : p_(std::move(p)), ctx_(ctx), node_(gen::expert_nodes(ctx)) {
    nodes_ = *std::max_element(node_.begin(), node_.end()) + 1;
    std::vector<int32_t> per(static_cast<size_t>(nodes_), 0);
    for (auto n : node_) ++per[n];
    std::sort(per.begin(), per.end(), std::greater<>());
    int32_t reach = 0;
    for (int32_t i = 0; i < std::min(p_.max_nodes, nodes_); ++i) reach += per[i];
    if (reach < p_.top_k)
      throw InfeasibleError(fmt::format("routing deepseek: top_k = {} experts cannot fit on max_nodes = {} nodes ({} experts there)",
                                        p_.top_k, p_.max_nodes, reach));
  }
  // Count level (docs/routing.md): the node-limited top-k has no closed-form inclusion
  // probabilities, so they are estimated once per layer from `estimate_tokens` routed tokens (a
  // fixed stream), and counts are drawn from the CPS design with those probabilities. Exact in the
  // per-expert marginals given the estimate; the estimate's error is sqrt(pi (1 - pi) / M) per
  // expert, and which experts a token combines (its node set) is not kept.
  bool samples_counts(const CountRequest& q) const override {
    if (p_.counts == gen::CountSampling::automatic) return q.total_tokens() >= p_.estimate_tokens;
    return p_.counts == gen::CountSampling::on;
  }
  LayerCounts route_counts(const CountRequest& q) override {
    if (!samples_counts(q)) return IRoutingSource::route_counts(q);
    auto it = design_.find(q.layer);
    if (it == design_.end()) it = design_.emplace(q.layer, FixedSizeDesign(estimate(q.layer), p_.top_k)).first;
    auto rng = gen::stream(ctx_.seed, "deepseek.counts", q.step, q.layer);
    LayerCounts c = gen::design_counts(it->second, q, rng, p_.shared_experts);
    c.max_nodes = p_.max_nodes;
    c.nodes_per_token = nodes_per_token(q.layer);
    return c;
  }

  // Mean distinct nodes per token, from `estimate_tokens` routed tokens (a fixed stream; one sample
  // for every layer under uniform popularity, whose layers are alike). The node choice by each
  // node's top-`group_top` scores spreads a token's top-k over its chosen nodes more than k
  // alike among their experts would (docs/workloads.md "Dispatch plan"); counts carry the mean so
  // the expected node-deduplicated bytes follow the generator, not only the closed form.
  double nodes_per_token(int32_t layer) {
    const int32_t key = p_.scores.popularity.law == "uniform" ? -1 : layer;
    auto it = nodes_per_token_.find(key);
    if (it != nodes_per_token_.end()) return it->second;
    const int64_t M = std::max<int64_t>(1, p_.estimate_tokens);
    LayerRouting r = route_tokens(M, gen::stream(ctx_.seed, "deepseek.nodes", 0, std::max(key, 0)), std::max(key, 0));
    std::vector<int32_t> seen;
    double sum = 0;
    for (int64_t t = 0; t < r.tokens; ++t) {
      seen.clear();
      for (int32_t j = 0; j < r.k; ++j) {
        const int32_t e = r.experts[static_cast<size_t>(t * r.k + j)];
        if (e >= 0) seen.push_back(node_[static_cast<size_t>(e)]);
      }
      std::sort(seen.begin(), seen.end());
      sum += static_cast<double>(std::unique(seen.begin(), seen.end()) - seen.begin());
    }
    return nodes_per_token_[key] = sum / static_cast<double>(r.tokens);
  }

  LayerRouting route(const RouteRequest& q) override { return route_tokens(q.tokens, gen::stream(ctx_.seed, "deepseek", q.step, q.layer), q.layer); }

 private:
  std::vector<double> estimate(int32_t layer) {
    // Uniform popularity and equal experts per node: every expert is alike, pi_i = k / E exactly.
    std::vector<int32_t> per(static_cast<size_t>(nodes_), 0);
    for (auto n : node_) ++per[static_cast<size_t>(n)];
    if (p_.scores.popularity.law == "uniform" && std::all_of(per.begin(), per.end(), [&](int32_t c) { return c == per[0]; }))
      return std::vector<double>(static_cast<size_t>(ctx_.num_experts), static_cast<double>(p_.top_k) / ctx_.num_experts);
    const int64_t M = std::max<int64_t>(1, p_.estimate_tokens);
    LayerRouting r = route_tokens(M, gen::stream(ctx_.seed, "deepseek.estimate", 0, layer), layer);
    std::vector<double> pi(static_cast<size_t>(ctx_.num_experts), 0.0);
    for (int32_t e : r.experts)
      if (e >= 0) pi[static_cast<size_t>(e)] += 1.0 / static_cast<double>(M);
    return pi;
  }

  LayerRouting route_tokens(int64_t tokens, Rng rng, int32_t layer) {
    RouteRequest q;
    q.tokens = tokens;
    q.layer = layer;
    const int32_t E = ctx_.num_experts, k = p_.top_k;
    auto logits = gen::score_logits(gen::layer_popularity(p_.scores.popularity, E, k, q.layer, ctx_.seed), q.tokens, p_.scores.noise, rng);
    LayerRouting r = gen::empty_layer(q.tokens, k, true, false);
    r.shared_experts = p_.shared_experts;
    std::vector<double> node_score(static_cast<size_t>(nodes_)), masked(static_cast<size_t>(E));
    std::vector<std::vector<double>> per_node(static_cast<size_t>(nodes_));
    std::vector<int32_t> keep(static_cast<size_t>(std::min(p_.max_nodes, nodes_)));
    for (int64_t t = 0; t < q.tokens; ++t) {
      double* s = logits.data() + t * E;
      for (int32_t i = 0; i < E; ++i) s[i] = 1.0 / (1.0 + std::exp(-s[i]));
      for (auto& v : per_node) v.clear();
      for (int32_t i = 0; i < E; ++i) per_node[node_[i]].push_back(s[i]);
      for (int32_t n = 0; n < nodes_; ++n) {
        auto& v = per_node[n];
        const auto top = std::min<size_t>(static_cast<size_t>(p_.group_top), v.size());
        std::partial_sort(v.begin(), v.begin() + top, v.end(), std::greater<>());
        node_score[n] = 0;
        for (size_t j = 0; j < top; ++j) node_score[n] += v[j];
      }
      gen::top_k_indices(node_score.data(), nodes_, static_cast<int32_t>(keep.size()), keep.data());
      for (int32_t i = 0; i < E; ++i)
        masked[i] = std::find(keep.begin(), keep.end(), node_[i]) != keep.end() ? s[i] : -1.0;
      int32_t* out = r.experts.data() + t * k;
      gen::top_k_indices(masked.data(), E, k, out);
      double sum = 0;
      for (int32_t j = 0; j < k; ++j) sum += s[out[j]];
      for (int32_t j = 0; j < k; ++j) r.weights[t * k + j] = static_cast<float>(s[out[j]] / sum);
    }
    return r;
  }

  DeepSeekParams p_;
  RoutingContext ctx_;
  std::vector<int32_t> node_;
  int32_t nodes_ = 1;
  std::map<int32_t, FixedSizeDesign> design_;
  std::map<int32_t, double> nodes_per_token_;
};

}  // namespace

std::unique_ptr<IRoutingSource> make_deepseek(const DeepSeekParams& p, const RoutingContext& ctx) {
  return std::make_unique<DeepSeek>(p, ctx);
}

MOESIM_REGISTER(RoutingRegistry, "deepseek", "DeepSeekMoE fine-grained + shared experts, node-limited (each token on <= M nodes)",
                ([](const config::Table& t, const RoutingContext& ctx) -> std::unique_ptr<IRoutingSource> {
                  DeepSeekParams p{gen::read_scores(t), gen::read_top_k(t, ctx), static_cast<int32_t>(t.integer_in_or("max_nodes", 1, 1 << 20, 4)),
                                   static_cast<int32_t>(t.integer_in_or("group_top", 1, 1 << 20, 2)),
                                   static_cast<int32_t>(t.integer_in_or("shared_experts", 0, 1 << 10, 1)),
                                   gen::read_count_sampling(t), t.integer_in_or("estimate_tokens", 1, int64_t{1} << 30, 16384)};
                  t.finish();
                  return make_deepseek(p, ctx);
                }));

}  // namespace moesim::routing
