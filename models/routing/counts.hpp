#pragma once
// Count-level routing (docs/routing.md, "Count-level routing"): where the tokens of a layer are
// independent given the step's expert popularity, the per-(source device, expert) token counts
// are sampled directly, in O(devices x experts x k) draws instead of O(tokens x experts).
#include <cstdint>
#include <vector>

#include "sim/core/rng.hpp"

namespace moesim::routing {

// Binomial(n, p), exact: sequential-search inversion when n * min(p, 1 - p) < 20, else BTRS
// (transformed rejection with squeeze, Hormann 1993, "The generation of binomial random
// variates", J. Statist. Comput. Simul. 46:101-110).
int64_t binomial(int64_t n, double p, Rng& rng);

// A fixed-size design over E experts: each token takes exactly k distinct experts, expert i with
// probability pi_i (sum pi = k, 0 <= pi_i <= 1). The design is conditional Poisson sampling (CPS,
// Hajek 1964; Chen, Dempster & Liu 1994, Biometrika 81:457): independent Bernoulli(p_i)
// conditioned on exactly k successes, the maximum-entropy design with these inclusion
// probabilities; the working probabilities p are fitted so that the inclusion probabilities are pi
// (fixed point on the logit scale, Chen et al. 1994 Sec. 4).
// A token is drawn expert by expert: with r slots still free at expert i it takes i with
//   q_i(r) = p_i R(i+1, r-1) / R(i, r),   R(i, r) = P(sum_{j >= i} B_j = r).
// q depends only on (i, r), so n independent tokens are drawn together by binomial splits of the
// number of tokens in each "r slots free" state (sample_counts): exactly the distribution of the
// sum of n independent tokens of the design.
class FixedSizeDesign {
 public:
  FixedSizeDesign(const std::vector<double>& pi, int32_t k);
  int32_t experts() const { return experts_; }
  int32_t k() const { return k_; }
  // Adds the counts of `tokens` independent tokens to counts[0..E).
  void sample_counts(int64_t tokens, Rng& rng, int64_t* counts) const;
  // One token's k experts (increasing ids).
  void sample_token(Rng& rng, int32_t* out) const;
  // Inclusion probabilities the fitted design achieves (equal to pi within 1e-9).
  std::vector<double> inclusion() const;

 private:
  double q(int32_t i, int32_t r) const { return q_[static_cast<size_t>(i) * (k_ + 1) + r]; }
  void cache_logs();
  std::vector<double> log_1m_low_;  // log(1 - min(q, 1 - q)), per entry of q_
  int32_t experts_ = 0;
  int32_t k_ = 0;
  std::vector<double> q_;  // E x (k + 1)
};

}  // namespace moesim::routing
