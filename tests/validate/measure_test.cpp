#include "validate/common/measure.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace mb = moesim::bench;

namespace {
// A fake clock that advances only when the operation runs: each call costs `cost` seconds.
struct FakeClock {
  double t = 0;
  double cost;
  int calls = 0;
  std::function<double()> now() { return [this] { return t; }; }
  std::function<void()> op() { return [this] { t += cost; ++calls; }; }
};
}  // namespace

TEST(BenchMeasure, BatchesFastCallsAndReportsPerCallTime) {
  FakeClock c{.cost = 1e-5};
  mb::MeasureOptions o{.warmup = 2, .min_reps = 5, .max_reps = 5, .min_sample_s = 1e-3, .budget_s = 10};
  const auto m = mb::measure(c.op(), o, c.now());
  EXPECT_EQ(m.warmup, 2);
  EXPECT_EQ(m.inner, 100);
  ASSERT_EQ(m.per_call_s.size(), 5u);
  for (double x : m.per_call_s) EXPECT_NEAR(x, 1e-5, 1e-12);
  EXPECT_EQ(c.calls, 2 + 5 * 100);
}

TEST(BenchMeasure, StopsAtBudgetButNeverBelowMinReps) {
  FakeClock c{.cost = 0.1};
  mb::MeasureOptions o{.warmup = 1, .min_reps = 3, .max_reps = 100, .min_sample_s = 1e-3, .budget_s = 0.5};
  const auto m = mb::measure(c.op(), o, c.now());
  EXPECT_EQ(m.inner, 1);
  EXPECT_EQ(m.per_call_s.size(), 5u);  // 0.5 s budget / 0.1 s per sample
  o.budget_s = 0;
  EXPECT_EQ(mb::measure(c.op(), o, c.now()).per_call_s.size(), 3u);
}

TEST(BenchMeasure, ProcessCpuTimeAdvances) {
  const double t0 = mb::process_cpu_s();
  volatile double x = 0;
  for (int i = 0; i < 20000000; ++i) x = x + 1e-9 * i;
  EXPECT_GT(mb::process_cpu_s(), t0);
}

TEST(BenchMeasure, ReadBuffersAreWholeHugePages) {
  // O_DIRECT destinations: 2 MiB-aligned, usable over the asked size whatever it is, and the
  // policy the provenance records names the page size and the THP mode.
  for (size_t bytes : {size_t{4096}, size_t{3} << 20, size_t{24} << 20}) {
    void* p = mb::alloc_read_buffer(bytes);
    ASSERT_NE(p, nullptr) << bytes;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % (size_t{2} << 20), 0u) << bytes;
    static_cast<volatile char*>(p)[bytes - 1] = 1;  // the last asked byte is writable
    std::free(p);
  }
  const std::string policy = mb::read_buffer_policy();
  EXPECT_NE(policy.find("2 MiB"), std::string::npos) << policy;
  EXPECT_NE(policy.find("THP mode"), std::string::npos) << policy;
}

TEST(BenchMeasure, PassesSplitTheBudgetAndShuffleReproducibly) {
  const mb::MeasureOptions o{.warmup = 1, .min_reps = 5, .max_reps = 30, .min_sample_s = 1e-3, .budget_s = 0.9};
  const auto p = mb::per_pass(o, 3);
  EXPECT_DOUBLE_EQ(p.budget_s, 0.3);
  EXPECT_EQ(p.min_reps, 2);  // ceil(5 / 3)
  EXPECT_EQ(p.max_reps, 10);
  EXPECT_EQ(mb::per_pass(mb::MeasureOptions{.min_reps = 1, .max_reps = 1}, 3).min_reps, 1);  // never below one sample
  // Unshuffled: as listed. Shuffled: a permutation, the same for the same seed and pass, another for the next pass.
  EXPECT_EQ(mb::pass_order(4, 0, 2), (std::vector<size_t>{0, 1, 2, 3}));
  auto a = mb::pass_order(50, 1, 0), b = mb::pass_order(50, 1, 0), c = mb::pass_order(50, 1, 1);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  std::sort(a.begin(), a.end());
  EXPECT_EQ(a, mb::pass_order(50, 0, 0));
  // Samples of the sweeps are appended; inner and warmup are the latest sweep's, seconds summed.
  mb::Measurement acc;
  mb::append_samples(acc, mb::Measurement{{1.0, 2.0}, 4, 1, 0.5, 0.25});
  mb::append_samples(acc, mb::Measurement{{3.0}, 8, 2, 0.5, 0.5});
  EXPECT_EQ(acc.per_call_s, (std::vector<double>{1.0, 2.0, 3.0}));
  EXPECT_EQ(acc.inner, 8);
  EXPECT_EQ(acc.warmup, 2);
  EXPECT_DOUBLE_EQ(acc.wall_s, 1.0);
  EXPECT_DOUBLE_EQ(acc.cpu_s, 0.75);
}
