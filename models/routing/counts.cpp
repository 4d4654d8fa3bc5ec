#include "models/routing/counts.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace moesim::routing {
namespace {

// log(k!) - [(k + 1/2) log(k + 1) - (k + 1) + log(2 pi)/2]: the Stirling series' tail (BTRS).
double stirling_tail(double k) {
  static constexpr double kTail[] = {0.0810614667953272,  0.0413406959554092,  0.0276779256849983, 0.02079067210376509,
                                     0.0166446911898211,  0.0138761288230707,  0.0118967099458917, 0.0104112652619720,
                                     0.00925546218271273, 0.00833056343336287};
  if (k <= 9) return kTail[static_cast<int>(k)];
  const double kp1sq = (k + 1) * (k + 1);
  return (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1);
}

// Inversion by sequential search over the pmf recursion f(j+1) = f(j) (n-j)/(j+1) p/(1-p);
// log_1mp = log(1 - p).
int64_t binomial_inversion(int64_t n, double p, double log_1mp, Rng& rng) {
  const double s = p / (1.0 - p);
  double f = std::exp(static_cast<double>(n) * log_1mp);
  double u = rng.uniform();
  int64_t j = 0;
  while (u > f && j < n) {
    u -= f;
    f *= s * static_cast<double>(n - j) / static_cast<double>(j + 1);
    ++j;
  }
  return j;
}

// BTRS (Hormann 1993), for p <= 1/2 and n p >= 10.
int64_t binomial_btrs(int64_t n, double p, Rng& rng) {
  const double nd = static_cast<double>(n);
  const double spq = std::sqrt(nd * p * (1 - p));
  const double b = 1.15 + 2.53 * spq;
  const double a = -0.0873 + 0.0248 * b + 0.01 * p;
  const double c = nd * p + 0.5;
  const double v_r = 0.92 - 4.2 / b;
  const double r = p / (1 - p);
  const double alpha = (2.83 + 5.1 / b) * spq;
  const double m = std::floor((nd + 1) * p);
  while (true) {
    const double u = rng.uniform() - 0.5;
    double v = rng.uniform();
    const double us = 0.5 - std::abs(u);
    const double k = std::floor((2 * a / us + b) * u + c);
    if (k < 0 || k > nd) continue;
    if (us >= 0.07 && v <= v_r) return static_cast<int64_t>(k);
    v = std::log(v * alpha / (a / (us * us) + b));
    const double bound = (m + 0.5) * std::log((m + 1) / (r * (nd - m + 1))) + (nd + 1) * std::log((nd - m + 1) / (nd - k + 1)) +
                         (k + 0.5) * std::log(r * (nd - k + 1) / (k + 1)) + stirling_tail(m) + stirling_tail(nd - m) -
                         stirling_tail(k) - stirling_tail(nd - k);
    if (v <= bound) return static_cast<int64_t>(k);
  }
}

double logit(double x) {
  x = std::clamp(x, 1e-300, 1.0 - 1e-16);
  return std::log(x) - std::log1p(-x);
}

// q_i(r) of the CPS design with working probabilities p (see counts.hpp).
std::vector<double> sequential_probabilities(const std::vector<double>& p, int32_t k) {
  const size_t E = p.size(), K = static_cast<size_t>(k) + 1;
  std::vector<double> tail((E + 1) * K, 0.0), q(E * K, 0.0);
  tail[E * K + 0] = 1.0;
  for (size_t i = E; i-- > 0;)
    for (size_t r = 0; r < K; ++r)
      tail[i * K + r] = (1 - p[i]) * tail[(i + 1) * K + r] + (r > 0 ? p[i] * tail[(i + 1) * K + r - 1] : 0.0);
  for (size_t i = 0; i < E; ++i)
    for (size_t r = 1; r < K; ++r)
      q[i * K + r] = tail[i * K + r] > 0 ? std::min(1.0, p[i] * tail[(i + 1) * K + r - 1] / tail[i * K + r]) : 0.0;
  return q;
}

std::vector<double> inclusion_of(const std::vector<double>& q, size_t E, int32_t k) {
  const size_t K = static_cast<size_t>(k) + 1;
  std::vector<double> state(K, 0.0), next(K), pi(E, 0.0);
  state[K - 1] = 1.0;
  for (size_t i = 0; i < E; ++i) {
    std::fill(next.begin(), next.end(), 0.0);
    for (size_t r = 0; r < K; ++r) {
      const double take = state[r] * q[i * K + r];
      pi[i] += take;
      next[r] += state[r] - take;
      if (r > 0) next[r - 1] += take;
    }
    state.swap(next);
  }
  return pi;
}

// p <= 1/2 here. Inversion costs one exp and ~n p steps; BTRS a constant but often a few logs
// at small n p (its squeeze accepts ~half the draws there): inversion below n p = 20.
int64_t binomial_half(int64_t n, double p, double log_1mp, Rng& rng) {
  return static_cast<double>(n) * p < 20 ? binomial_inversion(n, p, log_1mp, rng) : binomial_btrs(n, p, rng);
}

}  // namespace

int64_t binomial(int64_t n, double p, Rng& rng) {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  if (p > 0.5) return n - binomial_half(n, 1.0 - p, std::log(p), rng);
  return binomial_half(n, p, std::log1p(-p), rng);
}

namespace {

// One precomputed split probability: q, and log(1 - min(q, 1 - q)) for the inversion.
int64_t binomial_split(int64_t n, double q, double log_1m_low, Rng& rng) {
  if (n <= 0 || q <= 0) return 0;
  if (q >= 1) return n;
  if (q > 0.5) return n - binomial_half(n, 1.0 - q, log_1m_low, rng);
  return binomial_half(n, q, log_1m_low, rng);
}

}  // namespace

FixedSizeDesign::FixedSizeDesign(const std::vector<double>& pi, int32_t k)
    : experts_(static_cast<int32_t>(pi.size())), k_(k) {
  double sum = 0;
  for (double x : pi) {
    if (!(x >= 0 && x <= 1 + 1e-9)) throw std::invalid_argument(fmt::format("inclusion probability {} outside [0, 1]", x));
    sum += x;
  }
  if (k < 0 || k > experts_ || std::abs(sum - k) > 1e-6 * std::max(1, k))
    throw std::invalid_argument(fmt::format("inclusion probabilities sum to {}, not k = {}", sum, k));
  std::vector<double> p(pi.size()), target(pi.size());
  for (size_t i = 0; i < pi.size(); ++i) {
    target[i] = pi[i] >= 1 - 1e-12 ? 1.0 : pi[i] <= 1e-15 ? 0.0 : pi[i];
    p[i] = target[i];
  }
  for (int iter = 0; iter < 1000; ++iter) {  // logit-scale fixed point: logit p += logit pi - logit pi(p)
    q_ = sequential_probabilities(p, k_);
    const auto got = inclusion_of(q_, pi.size(), k_);
    double worst = 0;
    for (size_t i = 0; i < pi.size(); ++i) worst = std::max(worst, std::abs(got[i] - target[i]));
    if (worst < 1e-12) break;
    for (size_t i = 0; i < pi.size(); ++i) {
      if (target[i] == 0.0 || target[i] == 1.0) continue;
      const double x = logit(p[i]) + logit(target[i]) - logit(got[i]);
      p[i] = 1.0 / (1.0 + std::exp(-x));
    }
  }
  cache_logs();
}

void FixedSizeDesign::cache_logs() {
  log_1m_low_.resize(q_.size());
  for (size_t j = 0; j < q_.size(); ++j) log_1m_low_[j] = std::log1p(-std::min(q_[j], 1.0 - q_[j]));
}

void FixedSizeDesign::sample_counts(int64_t tokens, Rng& rng, int64_t* counts) const {
  if (tokens <= 0 || k_ == 0) return;
  std::vector<int64_t> free(static_cast<size_t>(k_) + 1, 0);  // tokens with r slots still free
  free[static_cast<size_t>(k_)] = tokens;
  int32_t lowest = k_;  // smallest r > 0 with tokens (states below are empty or done)
  for (int32_t i = 0; i < experts_; ++i) {
    int64_t taken = 0;
    for (int32_t r = std::max(1, lowest); r <= k_; ++r) {  // ascending: tokens moved to r-1 are not drawn again
      const int64_t n = free[static_cast<size_t>(r)];
      if (n == 0) continue;
      const size_t at = static_cast<size_t>(i) * (k_ + 1) + r;
      const int64_t x = binomial_split(n, q_[at], log_1m_low_[at], rng);
      free[static_cast<size_t>(r)] -= x;
      free[static_cast<size_t>(r) - 1] += x;
      taken += x;
    }
    counts[i] += taken;
    while (lowest > 1 && free[static_cast<size_t>(lowest) - 1] > 0) --lowest;
  }
}

void FixedSizeDesign::sample_token(Rng& rng, int32_t* out) const {
  int32_t r = k_, got = 0;
  for (int32_t i = 0; i < experts_ && r > 0; ++i)
    if (rng.uniform() < q(i, r)) out[got++] = i, --r;
}

std::vector<double> FixedSizeDesign::inclusion() const { return inclusion_of(q_, static_cast<size_t>(experts_), k_); }

}  // namespace moesim::routing
