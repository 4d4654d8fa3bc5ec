// The serving state machine and schedulers without the engine: iteration times from a step-time
// function (simulate()), so queueing results can be checked against closed forms over many seeds.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>

#include "models/serving/arrivals.hpp"
#include "models/serving/server.hpp"
#include "sim/core/errors.hpp"

namespace moesim::serving {
namespace {

std::unique_ptr<IScheduler> scheduler(const std::string& kind, int64_t max_tokens, int64_t max_running) {
  auto doc = config::Document::parse(fmt::format("kind = \"{}\"\nmax_tokens = {}\nmax_running = {}\n", kind, max_tokens, max_running), "t.toml");
  return SchedulerRegistry::instance().create(config::Table::root(doc));
}

std::vector<RequestSpec> poisson(int64_t n, double rate, int64_t prompt, int64_t output, uint64_t seed) {
  auto r = renewal_arrivals(n, rate, 1.0, seed);
  for (auto& q : r) q.prompt = prompt, q.output = output;
  return r;
}

// Prefill a, decode b per iteration, plus c per token: a simple affine GPU.
double affine(const Iteration& it, double a, double b, double c) {
  return (it.prefill_tokens() > 0 ? a : b) + c * static_cast<double>(it.tokens());
}

TEST(Server, OneRequestRunsPrefillThenDecodes) {
  Server s({RequestSpec{0.5, 100, 4}}, KvCache(16, {64}), Preemption::recompute, scheduler("vllm", 4096, 8));
  std::vector<int64_t> tokens;
  double end = simulate(s, [&](const Iteration& it, const ServingState&) {
    tokens.push_back(it.tokens());
    return it.prefill_tokens() > 0 ? 1.0 : 0.25;
  });
  EXPECT_EQ(tokens, (std::vector<int64_t>{100, 1, 1, 1}));
  const auto& q = s.state().sequences()[0];
  EXPECT_DOUBLE_EQ(q.first_token, 1.5);
  EXPECT_DOUBLE_EQ(q.finish, 2.25);
  EXPECT_DOUBLE_EQ(end, 2.25);
  EXPECT_EQ(s.state().kv().used(0), 0);
  auto m = serving_metrics(s.state().sequences(), Slo{});
  EXPECT_DOUBLE_EQ(m["ttft_p50_s"], 1.0);
  EXPECT_DOUBLE_EQ(m["tpot_p99_s"], 0.25);
}

// M/D/1 (Poisson arrivals, one server, deterministic service D = prefill + (n - 1) decodes):
// Pollaczek-Khinchine mean wait W = lambda D^2 / (2 (1 - rho)), rho = lambda D (Kleinrock,
// Queueing Systems Vol. 1, eq. 5.72 with zero service variance).
TEST(Server, BatchOneMatchesPollaczekKhinchineMeanWait) {
  const double a = 0.010, b = 0.002, D = a + 7 * b;  // 8 output tokens
  const double rho = 0.6, lambda = rho / D;
  const double W = lambda * D * D / (2 * (1 - rho));
  std::vector<double> means;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    Server s(poisson(1500, lambda, 64, 8, seed), KvCache(16, {1000}), Preemption::recompute, scheduler("vllm", 4096, 1));
    simulate(s, [&](const Iteration& it, const ServingState&) { return affine(it, a, b, 0); });
    double sum = 0;
    for (const auto& q : s.state().sequences()) sum += q.first_scheduled - q.spec.arrival;
    means.push_back(sum / 1500.0);
  }
  double mean = 0, var = 0;
  for (double m : means) mean += m / static_cast<double>(means.size());
  for (double m : means) var += (m - mean) * (m - mean) / static_cast<double>(means.size() - 1);
  const double se = std::sqrt(var / static_cast<double>(means.size()));
  EXPECT_NEAR(mean, W, 4 * se) << "simulated " << mean << " closed form " << W << " se " << se;
  EXPECT_LT(se, 0.05 * W);  // the test has the power to see a 20% error
}

// p99 TTFT over arrival rates as fractions of the measured capacity (all requests at t = 0).
std::vector<double> p99_ttft_curve(const std::string& kind, const std::vector<double>& loads) {
  auto step = [](const Iteration& it, const ServingState&) { return affine(it, 0.004, 0.004, 2e-5); };
  Server closed(poisson(400, 1e9, 256, 32, 3), KvCache(16, {4000}), Preemption::recompute, scheduler(kind, 2048, 64));
  const double capacity = 400.0 / simulate(closed, step);
  std::vector<double> out;
  for (double load : loads) {
    Server s(poisson(400, load * capacity, 256, 32, 3), KvCache(16, {4000}), Preemption::recompute, scheduler(kind, 2048, 64));
    simulate(s, step);
    out.push_back(serving_metrics(s.state().sequences(), Slo{})["ttft_p99_s"]);
  }
  return out;
}

TEST(Server, P99TtftGrowsWithRateAndExplodesPastCapacity) {
  const std::vector<double> loads = {0.2, 0.4, 0.6, 0.8, 0.95, 1.5, 3.0};
  for (const std::string kind : {"vllm", "sarathi", "orca"}) {
    auto p99 = p99_ttft_curve(kind, loads);
    for (size_t i = 1; i < p99.size(); ++i) EXPECT_GE(p99[i], p99[i - 1]) << kind << " load " << loads[i];
    EXPECT_GT(p99.back(), 10 * p99.front()) << kind;
  }
}

// A K/V cache too small for every running request: vllm preempts, never exceeds its token budget
// or the blocks of a device, and every request still finishes.
void budget_and_capacity_hold(Preemption mode) {
  const int64_t budget = 1024;
  Server s(poisson(300, 200.0, 200, 120, 9), KvCache(16, {40, 40}), mode, scheduler("vllm", budget, 32));
  int64_t over_budget = 0, over_capacity = 0;
  simulate(s, [&](const Iteration& it, const ServingState& st) {
    over_budget += it.tokens() > budget;
    for (int32_t d = 0; d < st.kv().devices(); ++d) over_capacity += st.kv().used(d) > st.kv().capacity(d);
    return affine(it, 0.01, 0.005, 1e-5);
  });
  EXPECT_EQ(over_budget, 0);
  EXPECT_EQ(over_capacity, 0);
  for (int32_t d = 0; d < 2; ++d) EXPECT_LE(s.state().kv().peak_used(d), 40);
  auto m = serving_metrics(s.state().sequences(), Slo{});
  EXPECT_GT(m["preemptions"], 0);
  EXPECT_EQ(m["requests_in"], 300);
  EXPECT_EQ(m["requests_out"], 300);
  for (const auto& q : s.state().sequences()) {
    EXPECT_GT(q.finish, 0);
    EXPECT_EQ(q.generated, q.spec.output);
  }
  EXPECT_EQ(s.state().kv().used(0) + s.state().kv().used(1), 0);
  if (mode == Preemption::swap) {
    EXPECT_GT(m["swaps"], 0);
  }
}

TEST(Server, VllmNeverExceedsBudgetOrKvAndPreemptedRequestsFinishRecompute) { budget_and_capacity_hold(Preemption::recompute); }
TEST(Server, VllmNeverExceedsBudgetOrKvAndPreemptedRequestsFinishSwap) { budget_and_capacity_hold(Preemption::swap); }

TEST(Server, SarathiChunksPromptsUnderTheBudgetAndMixesDecodes) {
  Server s(poisson(50, 100.0, 1000, 16, 4), KvCache(16, {4000}), Preemption::recompute, scheduler("sarathi", 256, 64));
  int64_t mixed = 0;
  simulate(s, [&](const Iteration& it, const ServingState&) {
    EXPECT_LE(it.tokens(), 256);
    mixed += it.prefill_tokens() > 0 && it.decode_tokens() > 0;
    return affine(it, 0.01, 0.01, 1e-5);
  });
  EXPECT_GT(mixed, 10);
  EXPECT_TRUE(s.done());
}

TEST(Server, OrcaReservesMaximumLengthAndNeverPreempts) {
  // Each request needs ceil(300 / 16) = 19 blocks reserved up front: 5 fit in 100 blocks at once.
  Server s(poisson(40, 1e9, 200, 100, 5), KvCache(16, {100}), Preemption::recompute, scheduler("orca", 1 << 20, 64));
  size_t most = 0;
  simulate(s, [&](const Iteration& it, const ServingState&) {
    most = std::max(most, it.chunks.size());
    return affine(it, 0.01, 0.01, 0);
  });
  EXPECT_EQ(most, 5u);
  EXPECT_EQ(s.state().preemptions(), 0);
}

TEST(Server, RequestTooLargeForTheCacheIsInfeasible) {
  EXPECT_THROW(Server({RequestSpec{0, 1000, 100}}, KvCache(16, {10}), Preemption::recompute, scheduler("vllm", 4096, 8)), InfeasibleError);
  EXPECT_THROW(Server({RequestSpec{0, 5000, 100}}, KvCache(16, {1000}), Preemption::recompute, scheduler("vllm", 4096, 8)), InfeasibleError);
}

}  // namespace
}  // namespace moesim::serving
