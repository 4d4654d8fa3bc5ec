#include "models/routing/gen_common.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace moesim::routing::gen {

PopularityParams read_popularity(const config::Table& t) {
  PopularityParams p;
  p.law = t.choice_or("law", {"uniform", "zipf", "dirichlet"}, "uniform");
  p.exponent = t.number_in_or("exponent", 0.0, 50.0, 1.0);
  p.alpha = t.number_in_or("alpha", 1e-4, 1e6, 1.0);
  if (auto v = t.number_opt("max_mean")) {
    if (*v < 1.0) t.fail("max_mean", fmt::format("{} is below 1 (max/mean of a load is at least 1)", *v));
    p.target_max_mean = *v;
  }
  if (auto v = t.number_opt("cv")) {
    if (*v < 0.0) t.fail("cv", "must be >= 0");
    p.target_cv = *v;
  }
  if (p.target_max_mean && p.target_cv) t.fail("cv", "give max_mean or cv, not both");
  if (p.law == "uniform" && (p.target_max_mean || p.target_cv)) t.fail("law", "a skew target needs law = \"zipf\" or \"dirichlet\"");
  p.shuffle_per_layer = t.boolean_or("shuffle_per_layer", true);
  return p;
}

std::vector<double> inclusion_probabilities(const std::vector<double>& p, int32_t k) {
  const size_t n = p.size();
  std::vector<double> pi(n, 0.0);
  if (static_cast<size_t>(k) >= n) return std::vector<double>(n, 1.0);
  std::vector<bool> capped(n, false);
  for (int iter = 0; iter <= static_cast<int>(n); ++iter) {  // water-filling: cap at 1, rescale the rest
    double free_mass = 0, remaining = k;
    for (size_t i = 0; i < n; ++i) capped[i] ? remaining -= 1.0 : free_mass += p[i];
    double c = free_mass > 0 ? remaining / free_mass : 0.0;
    bool changed = false;
    for (size_t i = 0; i < n; ++i) {
      if (capped[i]) continue;
      pi[i] = c * p[i];
      if (pi[i] > 1.0) capped[i] = true, changed = true;
    }
    for (size_t i = 0; i < n; ++i)
      if (capped[i]) pi[i] = 1.0;
    if (!changed) break;
  }
  return pi;
}

double max_over_mean(const std::vector<double>& pi) {
  double mean = std::accumulate(pi.begin(), pi.end(), 0.0) / static_cast<double>(pi.size());
  return mean > 0 ? *std::max_element(pi.begin(), pi.end()) / mean : 0.0;
}

double coefficient_of_variation(const std::vector<double>& pi) {
  double mean = std::accumulate(pi.begin(), pi.end(), 0.0) / static_cast<double>(pi.size());
  double var = 0;
  for (double v : pi) var += (v - mean) * (v - mean);
  var /= static_cast<double>(pi.size());
  return mean > 0 ? std::sqrt(var) / mean : 0.0;
}

namespace {

std::vector<double> normalised(std::vector<double> v) {
  double s = std::accumulate(v.begin(), v.end(), 0.0);
  for (auto& x : v) x /= s;
  return v;
}

// p_i ∝ base_i^x for the x in [0, hi] whose inclusion probabilities hit the target skew (bisection;
// the skew grows with x). base sorted decreasing, > 0.
std::vector<double> tune_power(const std::vector<double>& base, int32_t k, const PopularityParams& p, double fixed) {
  auto at = [&](double x) {
    std::vector<double> v(base.size());
    for (size_t i = 0; i < base.size(); ++i) v[i] = std::pow(base[i], x);
    return normalised(v);
  };
  if (!p.target_max_mean && !p.target_cv) return at(fixed);
  auto skew = [&](double x) {
    auto pi = inclusion_probabilities(at(x), k);
    return p.target_max_mean ? max_over_mean(pi) : coefficient_of_variation(pi);
  };
  const double target = p.target_max_mean ? *p.target_max_mean : *p.target_cv;
  double lo = 0.0, hi = 60.0;
  if (skew(hi) < target * (1 - 1e-9)) {
    double ceiling = skew(hi);
    throw InfeasibleError(fmt::format("routing popularity: target {} = {} is out of reach with {} experts and top-{} "
                                      "(at most {:.4g}: an expert cannot be chosen by more than every token)",
                                      p.target_max_mean ? "max_mean" : "cv", target, base.size(), k, ceiling));
  }
  for (int i = 0; i < 100; ++i) {
    double mid = 0.5 * (lo + hi);
    (skew(mid) < target ? lo : hi) = mid;
  }
  return at(0.5 * (lo + hi));
}

}  // namespace

std::vector<double> layer_popularity(const PopularityParams& p, int32_t experts, int32_t k, int32_t layer, uint64_t seed) {
  const size_t n = static_cast<size_t>(experts);
  std::vector<double> sorted;
  if (p.law == "uniform") return std::vector<double>(n, 1.0 / static_cast<double>(n));
  Rng rng(seed, fmt::format("routing.popularity.l{}", p.shuffle_per_layer ? layer : 0));
  if (p.law == "zipf") {
    std::vector<double> base(n);
    for (size_t i = 0; i < n; ++i) base[i] = 1.0 / static_cast<double>(i + 1);  // 1/rank, raised to s
    sorted = tune_power(base, k, p, p.exponent);
  } else {  // dirichlet
    std::vector<double> g(n);
    for (auto& x : g) x = std::max(rng.gamma(p.alpha), 1e-300);
    std::sort(g.begin(), g.end(), std::greater<>());
    sorted = tune_power(normalised(g), k, p, 1.0);
  }
  std::vector<int32_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  for (size_t i = n; i > 1; --i) std::swap(perm[i - 1], perm[rng.below(i)]);
  std::vector<double> out(n);
  for (size_t r = 0; r < n; ++r) out[static_cast<size_t>(perm[r])] = sorted[r];
  return out;
}

void sample_k_distinct(const std::vector<double>& pi, int32_t k, Rng& rng, std::vector<int32_t>& order, int32_t* out) {
  const size_t n = pi.size();
  if (order.size() != n) {
    order.resize(n);
    std::iota(order.begin(), order.end(), 0);
  }
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  double next = rng.uniform(), cum = 0.0;
  int32_t got = 0;
  for (size_t j = 0; j < n && got < k; ++j) {
    cum += pi[static_cast<size_t>(order[j])];
    if (cum > next) {
      out[got++] = order[j];
      next += 1.0;
    }
  }
  for (size_t j = 0; j < n && got < k; ++j) {  // rounding left a slot: take the most likely unchosen
    int32_t e = order[j];
    if (std::find(out, out + got, e) == out + got) out[got++] = e;
  }
}

void sample_token(const std::vector<double>& pi, Rng& rng, std::vector<int32_t>& order, LayerRouting& r, int64_t t) {
  const size_t o = static_cast<size_t>(t * r.k);
  int32_t* out = r.experts.data() + o;
  sample_k_distinct(pi, r.k, rng, order, out);
  std::stable_sort(out, out + r.k, [&](int32_t a, int32_t b) { return pi[a] > pi[b]; });  // ties keep the random draw order
  if (r.weights.empty()) return;
  double s = 0;
  for (int32_t j = 0; j < r.k; ++j) s += pi[static_cast<size_t>(out[j])];
  for (int32_t j = 0; j < r.k; ++j) r.weights[o + j] = static_cast<float>(pi[static_cast<size_t>(out[j])] / s);
}

LayerRouting sample_layer(const std::vector<double>& pi, int32_t k, int64_t tokens, Rng& rng) {
  LayerRouting r = empty_layer(tokens, k, true, false);
  std::vector<int32_t> order;
  for (int64_t t = 0; t < tokens; ++t) sample_token(pi, rng, order, r, t);
  return r;
}

void top_k_indices(const double* v, int32_t n, int32_t k, int32_t* out) {
  // (value desc, index asc) is a total order, so select-then-sort gives partial_sort's result.
  thread_local std::vector<int32_t> idx;
  idx.resize(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  auto before = [&](int32_t a, int32_t b) { return v[a] > v[b] || (v[a] == v[b] && a < b); };
  if (k < n) std::nth_element(idx.begin(), idx.begin() + k, idx.end(), before);
  std::sort(idx.begin(), idx.begin() + k, before);
  std::copy(idx.begin(), idx.begin() + k, out);
}

ScoreParams read_scores(const config::Table& t) {
  ScoreParams s;
  s.popularity = read_popularity(t);
  s.noise = t.number_in_or("score_noise", 0.0, 1e3, 1.0);
  return s;
}

std::vector<double> score_logits(const std::vector<double>& popularity, int64_t tokens, double noise, Rng& rng) {
  const size_t n = popularity.size();
  std::vector<double> base(n);
  for (size_t i = 0; i < n; ++i) base[i] = std::log(std::max(popularity[i], 1e-300));
  std::vector<double> out(static_cast<size_t>(tokens) * n);
  for (size_t t = 0; t < static_cast<size_t>(tokens); ++t)
    for (size_t i = 0; i < n; ++i) out[t * n + i] = base[i] + noise * rng.normal();
  return out;
}

void softmax_row(double* row, int32_t n) {
  double m = *std::max_element(row, row + n), s = 0;
  for (int32_t i = 0; i < n; ++i) s += (row[i] = std::exp(row[i] - m));
  for (int32_t i = 0; i < n; ++i) row[i] /= s;
}

LayerRouting empty_layer(int64_t tokens, int32_t k, bool weights, bool dropped) {
  LayerRouting r;
  r.tokens = tokens;
  r.k = k;
  const size_t n = static_cast<size_t>(tokens) * static_cast<size_t>(k);
  r.experts.assign(n, kNoExpert);
  if (weights) r.weights.assign(n, 0.0f);
  if (dropped) r.dropped.assign(n, 0);
  return r;
}

int64_t expert_capacity(int64_t tokens, int32_t k, int32_t experts, double capacity_factor) {
  return static_cast<int64_t>(std::ceil(static_cast<double>(tokens) * k / experts * capacity_factor - 1e-9));
}

void sort_slots_by_weight(LayerRouting& r) {
  if (r.weights.empty()) return;
  std::vector<int32_t> idx(static_cast<size_t>(r.k));
  std::vector<int32_t> e(idx.size());
  std::vector<float> w(idx.size());
  std::vector<uint8_t> d(idx.size());
  for (int64_t t = 0; t < r.tokens; ++t) {
    const size_t o = static_cast<size_t>(t * r.k);
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](int32_t a, int32_t b) {
      bool na = r.experts[o + a] == kNoExpert, nb = r.experts[o + b] == kNoExpert;
      if (na != nb) return nb;
      return r.weights[o + a] > r.weights[o + b];
    });
    for (size_t s = 0; s < idx.size(); ++s) {
      e[s] = r.experts[o + idx[s]], w[s] = r.weights[o + idx[s]];
      if (!r.dropped.empty()) d[s] = r.dropped[o + idx[s]];
    }
    for (size_t s = 0; s < idx.size(); ++s) {
      r.experts[o + s] = e[s], r.weights[o + s] = w[s];
      if (!r.dropped.empty()) r.dropped[o + s] = d[s];
    }
  }
}

Rng stream(uint64_t seed, const std::string& kind, int64_t step, int32_t layer) {
  return Rng(seed, fmt::format("routing.{}.s{}.l{}", kind, step, layer));
}

int32_t read_top_k(const config::Table& t, const RoutingContext& ctx) {
  return static_cast<int32_t>(t.integer_in_or("top_k", 1, std::max(1, ctx.num_experts), std::max(1, ctx.top_k)));
}

int32_t node_count(const RoutingContext& ctx) {
  int32_t per = std::max(1, ctx.devices_per_node);
  return std::max(1, (std::max(1, ctx.devices) + per - 1) / per);
}

std::vector<int32_t> expert_nodes(const RoutingContext& ctx) {
  std::vector<int32_t> node(static_cast<size_t>(ctx.num_experts));
  const int32_t per = std::max(1, ctx.devices_per_node), nodes = node_count(ctx);
  for (int32_t e = 0; e < ctx.num_experts; ++e)
    node[static_cast<size_t>(e)] = ctx.expert_device.size() == node.size()
                                       ? ctx.expert_device[static_cast<size_t>(e)] / per
                                       : static_cast<int32_t>(static_cast<int64_t>(e) * nodes / ctx.num_experts);
  return node;
}

CountSampling read_count_sampling(const config::Table& t) {
  const std::string m = t.choice_or("count_sampling", {"auto", "on", "off"}, "auto");
  return m == "on" ? CountSampling::on : m == "off" ? CountSampling::off : CountSampling::automatic;
}

bool samples_counts(CountSampling mode, const CountRequest& q) {
  if (mode == CountSampling::automatic) return q.total_tokens() >= kCountSamplingMinTokens;
  return mode == CountSampling::on;
}

LayerCounts design_counts(const FixedSizeDesign& design, const CountRequest& q, Rng& rng, int32_t shared_experts) {
  LayerCounts c;
  c.sources = static_cast<int32_t>(q.devices.size());
  c.experts = design.experts();
  c.shared_experts = shared_experts;
  c.top_k = design.k();
  c.counts.assign(static_cast<size_t>(c.sources) * c.experts, 0);
  for (int32_t s = 0; s < c.sources; ++s)
    design.sample_counts(q.tokens[static_cast<size_t>(s)], rng, c.counts.data() + static_cast<size_t>(s) * c.experts);
  return c;
}

}  // namespace moesim::routing::gen
