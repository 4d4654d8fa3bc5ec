// Prompt / output length distributions (registry "length"): "fixed" (`tokens`), "uniform"
// (integers in [min, max]) and "lognormal" (`mean` tokens, `sigma` of log length, clamped to
// [min, max]; mu = ln(mean) - sigma^2 / 2 so the unclamped mean is `mean`). Log-normal prompt and
// output lengths fit production LLM traces (Patel et al., ISCA'24 "Splitwise", Fig. 3).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "models/serving/arrivals.hpp"

namespace moesim::serving {
namespace {

constexpr int64_t kMaxTokens = int64_t{1} << 24;

class Fixed final : public ILengthDistribution {
 public:
  explicit Fixed(int64_t n) : n_(n) {}
  int64_t sample(Rng&) const override { return n_; }

 private:
  int64_t n_;
};

class Uniform final : public ILengthDistribution {
 public:
  Uniform(int64_t lo, int64_t hi) : lo_(lo), hi_(hi) {}
  int64_t sample(Rng& rng) const override { return lo_ + static_cast<int64_t>(rng.below(static_cast<uint64_t>(hi_ - lo_ + 1))); }

 private:
  int64_t lo_, hi_;
};

class LogNormal final : public ILengthDistribution {
 public:
  LogNormal(double mean, double sigma, int64_t lo, int64_t hi) : mu_(std::log(mean) - sigma * sigma / 2), sigma_(sigma), lo_(lo), hi_(hi) {}
  int64_t sample(Rng& rng) const override {
    const double x = std::exp(mu_ + sigma_ * rng.normal());
    return std::clamp(static_cast<int64_t>(std::llround(std::min(x, 1e15))), lo_, hi_);
  }

 private:
  double mu_, sigma_;
  int64_t lo_, hi_;
};

}  // namespace

MOESIM_REGISTER(LengthRegistry, "fixed", "every request the same length (`tokens`)", [](const config::Table& t) -> std::unique_ptr<ILengthDistribution> {
  auto n = t.integer_in("tokens", 1, kMaxTokens);
  t.finish();
  return std::make_unique<Fixed>(n);
});

MOESIM_REGISTER(LengthRegistry, "uniform", "lengths uniform in [min, max] tokens", [](const config::Table& t) -> std::unique_ptr<ILengthDistribution> {
  auto lo = t.integer_in("min", 1, kMaxTokens);
  auto hi = t.integer_in("max", lo, kMaxTokens);
  t.finish();
  return std::make_unique<Uniform>(lo, hi);
});

MOESIM_REGISTER(LengthRegistry, "lognormal", "log-normal lengths of mean `mean` tokens and log-sd `sigma`, clamped to [min, max]",
                [](const config::Table& t) -> std::unique_ptr<ILengthDistribution> {
                  auto mean = t.number_in("mean", 1.0, static_cast<double>(kMaxTokens));
                  auto sigma = t.number_in("sigma", 0.0, 5.0);
                  auto lo = t.integer_in_or("min", 1, kMaxTokens, 1);
                  auto hi = t.integer_in_or("max", lo, kMaxTokens, kMaxTokens);
                  if (mean < static_cast<double>(lo) || mean > static_cast<double>(hi))
                    t.fail("mean", fmt::format("{} lies outside [min, max] = [{}, {}]: most lengths would be clamped to a bound", mean, lo, hi));
                  t.finish();
                  return std::make_unique<LogNormal>(mean, sigma, lo, hi);
                });

}  // namespace moesim::serving
