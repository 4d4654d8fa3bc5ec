#include "validate/common/measure.hpp"

#include <gtest/gtest.h>

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
