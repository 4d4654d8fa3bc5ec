// Count-level routing (models/routing/counts.hpp): the binomial sampler, the fixed-size (CPS)
// design, and agreement between the count-level and per-token paths of the generators.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "models/routing/counts.hpp"
#include "models/routing/generators.hpp"
#include "models/workload/dispatch.hpp"

using namespace moesim;
using namespace moesim::routing;

namespace {

double log_pmf(int64_t n, double p, int64_t k) {
  return std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0) + k * std::log(p) + (n - k) * std::log1p(-p);
}

// Pearson chi-square of `draws` Binomial(n, p) samples against the pmf (cells with expectation >= 5,
// the rest pooled), in standard deviations above its degrees of freedom: (chi2 - dof) / sqrt(2 dof).
double chi_square_excess(int64_t n, double p, int draws, uint64_t seed) {
  Rng rng(seed, "test.binomial");
  std::vector<int64_t> seen(static_cast<size_t>(n) + 1, 0);
  for (int i = 0; i < draws; ++i) ++seen[static_cast<size_t>(binomial(n, p, rng))];
  double chi = 0, pooled_exp = 0, pooled_obs = 0;
  int dof = -1;
  for (int64_t k = 0; k <= n; ++k) {
    const double e = draws * std::exp(log_pmf(n, p, k));
    if (e >= 5) {
      chi += (seen[k] - e) * (seen[k] - e) / e;
      ++dof;
    } else {
      pooled_exp += e, pooled_obs += static_cast<double>(seen[k]);
    }
  }
  if (pooled_exp > 0) chi += (pooled_obs - pooled_exp) * (pooled_obs - pooled_exp) / pooled_exp, ++dof;
  return (chi - dof) / std::sqrt(2.0 * dof);
}

struct Moments {
  std::vector<double> mean, var;
  double max_over_mean = 0;  // mean over draws of max(load) / mean(load)
};

// Per-expert moments over `steps` of the group loads a source gives for `tokens` per source.
Moments moments(IRoutingSource& src, int32_t experts, const std::vector<int64_t>& tokens, int steps) {
  Moments m;
  m.mean.assign(static_cast<size_t>(experts), 0.0);
  m.var.assign(static_cast<size_t>(experts), 0.0);
  std::vector<std::vector<double>> loads;
  for (int s = 0; s < steps; ++s) {
    CountRequest q;
    q.step = s;
    q.experts = experts;
    q.tokens = tokens;
    for (size_t d = 0; d < tokens.size(); ++d) q.devices.push_back(static_cast<int32_t>(d));
    const auto c = src.route_counts(q);
    for (int32_t d = 0; d < c.sources; ++d) {  // every token takes exactly k experts on both paths
      int64_t sum = 0;
      for (int32_t e = 0; e < experts; ++e) sum += c.counts[static_cast<size_t>(d) * experts + e];
      EXPECT_EQ(sum % tokens[static_cast<size_t>(d)], 0);
    }
    const auto load = c.expert_load();
    loads.emplace_back(load.begin(), load.end());
    const double mean = std::accumulate(load.begin(), load.end(), 0.0) / experts;
    m.max_over_mean += static_cast<double>(*std::max_element(load.begin(), load.end())) / mean / steps;
  }
  for (const auto& l : loads)
    for (int32_t e = 0; e < experts; ++e) m.mean[e] += l[e] / steps;
  for (const auto& l : loads)
    for (int32_t e = 0; e < experts; ++e) m.var[e] += (l[e] - m.mean[e]) * (l[e] - m.mean[e]) / (steps - 1);
  return m;
}

RoutingContext context(int32_t experts, int32_t k, uint64_t seed = 5) {
  RoutingContext c;
  c.num_experts = experts, c.top_k = k, c.num_moe_layers = 1, c.seed = seed;
  return c;
}

// Both paths' moments agree: per-expert means within 5 standard errors of their difference, the
// per-expert variances on average within 4 standard errors of the variance ratio, max/mean within 2%.
void expect_agree(const Moments& a, const Moments& b, int steps, double extra_mean_var = 0.0) {
  double ratio = 0;
  for (size_t e = 0; e < a.mean.size(); ++e) {
    const double se = std::sqrt((a.var[e] + b.var[e]) / steps + extra_mean_var * a.mean[e]);
    EXPECT_NEAR(a.mean[e], b.mean[e], 5 * se) << "expert " << e;
    ratio += a.var[e] / b.var[e] / static_cast<double>(a.mean.size());
  }
  const double se_ratio = std::sqrt(4.0 / (steps - 1) / static_cast<double>(a.mean.size()));
  EXPECT_NEAR(ratio, 1.0, 4 * se_ratio + 0.02);
  EXPECT_NEAR(a.max_over_mean / b.max_over_mean, 1.0, 0.02);
}

}  // namespace

TEST(Binomial, MatchesThePmfOnBothSamplers) {
  // inversion (n p < 10), BTRS (n p >= 10), and p > 1/2 through the complement
  for (auto [n, p] : std::vector<std::pair<int64_t, double>>{{30, 0.2}, {12, 0.5}, {100, 0.15}, {80, 0.8}, {1000, 0.3}, {40000, 0.002}, {500, 0.9}, {7, 0.97}})
    EXPECT_LT(chi_square_excess(n, p, 200000, 11), 4.0) << "n " << n << " p " << p;
}

TEST(Binomial, EdgesAreExact) {
  Rng rng(1, "t");
  EXPECT_EQ(binomial(0, 0.3, rng), 0);
  EXPECT_EQ(binomial(50, 0.0, rng), 0);
  EXPECT_EQ(binomial(50, 1.0, rng), 50);
}

TEST(FixedSizeDesign, HitsItsInclusionProbabilitiesIncludingCertainAndImpossibleExperts) {
  std::vector<double> pi = {1.0, 0.0, 0.9, 0.6, 0.3, 0.1, 0.05, 0.05};  // sums to 3
  FixedSizeDesign d(pi, 3);
  const auto got = d.inclusion();
  for (size_t i = 0; i < pi.size(); ++i) EXPECT_NEAR(got[i], pi[i], 1e-9) << i;
  Rng rng(3, "t");
  std::vector<double> freq(pi.size(), 0.0);
  const int n = 200000;
  for (int t = 0; t < n; ++t) {
    int32_t out[3] = {-1, -1, -1};
    d.sample_token(rng, out);
    std::set<int32_t> distinct(out, out + 3);
    ASSERT_EQ(distinct.size(), 3u);
    for (int32_t e : out) freq[static_cast<size_t>(e)] += 1.0 / n;
  }
  for (size_t i = 0; i < pi.size(); ++i) EXPECT_NEAR(freq[i], pi[i], 5 * std::sqrt(pi[i] * (1 - pi[i]) / n) + 1e-9) << i;
}

TEST(FixedSizeDesign, CountsAreBinomialPerExpertAndSumToTokensTimesK) {
  std::vector<double> pi(32);
  for (size_t i = 0; i < pi.size(); ++i) pi[i] = 1.0 / (i + 1.0);
  const double s = std::accumulate(pi.begin(), pi.end(), 0.0);
  for (auto& x : pi) x *= 4.0 / s;  // k = 4, max pi ~ 0.98
  FixedSizeDesign d(pi, 4);
  Rng rng(9, "t");
  const int64_t n = 3000;
  const int reps = 2000;
  std::vector<double> mean(pi.size(), 0.0), sq(pi.size(), 0.0);
  for (int r = 0; r < reps; ++r) {
    std::vector<int64_t> c(pi.size(), 0);
    d.sample_counts(n, rng, c.data());
    ASSERT_EQ(std::accumulate(c.begin(), c.end(), int64_t{0}), n * 4);
    for (size_t i = 0; i < pi.size(); ++i) mean[i] += c[i] / double(reps), sq[i] += double(c[i]) * c[i] / reps;
  }
  double ratio = 0;
  for (size_t i = 0; i < pi.size(); ++i) {
    const double var = n * pi[i] * (1 - pi[i]);
    EXPECT_NEAR(mean[i], n * pi[i], 5 * std::sqrt(var / reps)) << i;
    ratio += (sq[i] - mean[i] * mean[i]) / var / pi.size();
  }
  EXPECT_NEAR(ratio, 1.0, 4 * std::sqrt(2.0 / reps / pi.size()));  // Binomial(n, pi_i) variance
}

TEST(CountLevel, PopularityPathsAgreeStatistically) {
  gen::PopularityParams zipf;
  zipf.law = "zipf";
  zipf.target_max_mean = 2.0;
  const int steps = 300;
  const std::vector<int64_t> tokens = {1500, 1000, 500, 1000};
  auto per_token = make_popularity({zipf, 2, gen::CountSampling::off}, context(16, 2));
  auto counted = make_popularity({zipf, 2, gen::CountSampling::on}, context(16, 2));
  ASSERT_FALSE(per_token->samples_counts({0, 0, 16, {0}, {100000}}));
  ASSERT_TRUE(counted->samples_counts({0, 0, 16, {0}, {1}}));
  expect_agree(moments(*counted, 16, tokens, steps), moments(*per_token, 16, tokens, steps), steps);
}

TEST(CountLevel, UniformPathsAgreeStatistically) {
  const int steps = 300;
  auto per_token = make_uniform({3, gen::CountSampling::off}, context(12, 3));
  auto counted = make_uniform({3, gen::CountSampling::on}, context(12, 3));
  expect_agree(moments(*counted, 12, {2000, 2000}, steps), moments(*per_token, 12, {2000, 2000}, steps), steps);
}

TEST(CountLevel, DeepSeekNodeLimitedPathsAgreeWithinTheEstimatesError) {
  DeepSeekParams p;
  p.scores.popularity.law = "zipf";
  p.scores.popularity.target_max_mean = 2.0;
  p.top_k = 4, p.max_nodes = 2, p.group_top = 2, p.shared_experts = 1;
  p.estimate_tokens = 20000;
  auto ctx = context(32, 4);
  ctx.devices = 32, ctx.devices_per_node = 8;  // 4 nodes of 8 experts
  p.counts = gen::CountSampling::off;
  auto per_token = make_deepseek(p, ctx);
  p.counts = gen::CountSampling::on;
  auto counted = make_deepseek(p, ctx);
  const int steps = 60;
  const std::vector<int64_t> tokens = {1000, 1000};
  const auto a = moments(*counted, 32, tokens, steps), b = moments(*per_token, 32, tokens, steps);
  // The estimate's own error: Var(pi_hat) = pi (1 - pi) / M, so Var(n pi_hat) <= n^2 pi / M = n mean / M.
  expect_agree(a, b, steps, 2000.0 / p.estimate_tokens);
}

TEST(CountLevel, DefaultCountsOfAPerTokenSourceCountTheRouting) {
  auto src = make_uniform({2, gen::CountSampling::off}, context(8, 2));
  CountRequest q{3, 0, 8, {5, 9}, {10, 20}};
  const auto c = src->route_counts(q);
  const auto r = src->route({3, 0, 30, {}});
  EXPECT_EQ(c.expert_load(), r.expert_load(8));  // same stream, same tokens
  int64_t first = 0;
  for (int32_t e = 0; e < 8; ++e) first += c.counts[e];
  EXPECT_EQ(first, 20);
}

TEST(CountLevel, DispatchFromCountsEqualsDispatchFromTokensForOneCopyPerExpert) {
  auto src = make_uniform({2, gen::CountSampling::off}, context(8, 2));
  CountRequest q{0, 0, 8, {0, 1, 2, 3}, {50, 60, 70, 80}};
  RouteRequest rq{0, 0, 260, {}};
  std::vector<int32_t> source;
  for (int32_t d = 0; d < 4; ++d)
    for (int64_t i = 0; i < q.tokens[d]; ++i) rq.token_device.push_back(d), source.push_back(d);
  const auto r = src->route(rq);
  const auto counts = count_routing(r, source, 4, 8);
  workload::ExpertPlacement place;
  for (int32_t e = 0; e < 8; ++e) place.holders.push_back({e / 2});
  workload::DispatchInput in{&r, rq.token_device, &place, {0, 1, 2, 3}, {0, 0, 1, 1}, 10.0, 0.0};
  const auto a = workload::plan_dispatch(in);
  const auto b = workload::plan_dispatch_counts({&counts, &place, {0, 1, 2, 3}, {0, 0, 1, 1}, 10.0});
  EXPECT_EQ(a.bytes, b.bytes);
  EXPECT_EQ(a.expert_tokens, b.expert_tokens);
  EXPECT_EQ(a.routed_slots, b.routed_slots);
}

TEST(CountLevel, DispatchFromCountsSplitsReplicasRoundRobin) {
  LayerCounts c;
  c.sources = 4, c.experts = 1, c.counts = {7, 4, 0, 0};
  workload::ExpertPlacement place;
  place.holders = {{2, 3}};  // one expert, copies on devices 2 and 3 (other node than 0 and 1)
  const auto p = workload::plan_dispatch_counts({&c, &place, {0, 1, 2, 3}, {0, 0, 1, 1}, 1.0});
  EXPECT_EQ(p.expert_tokens[2], 6);  // 4 + 2 (7 from rank 0 starts at copy 0; rank 1's 4 continue)
  EXPECT_EQ(p.expert_tokens[3], 5);
  EXPECT_EQ(p.routed_slots, 11);
}
