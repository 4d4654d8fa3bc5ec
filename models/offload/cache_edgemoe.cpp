// kind "edgemoe": EdgeMoE's expert-buffer eviction (Yi et al., arXiv 2308.14352, §"cache
// eviction"; seed-systems.md §2.4). Evict the expert with the highest score
//   L_{i,j} = - f_{i,j} / ((S - i + I) mod S)
// f_{i,j}: activation frequency of expert j of MoE layer i (calibration counts + demand accesses
// seen so far), I: the MoE layer being executed, S: the number of MoE layers. d = (S - i + I) mod S
// is how many layers ago layer i ran in the cyclic layer order: rarely used experts of layers with a
// large d are evicted first, as the formula states (implemented verbatim). d = 0 (the current
// layer) scores -infinity: never chosen while another candidate exists. Ties: lower key.
#include <limits>
#include <map>

#include "models/offload/cache_policy.hpp"

namespace moesim::offload {
namespace {

class EdgeMoeCache final : public ICachePolicy {
 public:
  EdgeMoeCache(EdgeMoeCacheParams p, const OffloadContext& ctx) : p_(p), ctx_(ctx) {}

  void calibrate(const CalibrationTrace& trace) override {
    if (!p_.use_calibration) return;
    auto c = trace.counts();
    for (int32_t l = 0; l < static_cast<int32_t>(c.size()); ++l)
      for (int32_t e = 0; e < static_cast<int32_t>(c[l].size()); ++e)
        if (c[l][e] > 0) freq_[ExpertKey{l, e}] += c[l][e];
  }
  void on_access(ExpertKey k, const CacheClock&, bool) override { freq_[k] += 1.0; }

  double score(ExpertKey k, int32_t current) const {
    const int32_t S = std::max(ctx_.moe_layers, 1);
    const int32_t d = ((S - k.layer + current) % S + S) % S;
    auto it = freq_.find(k);
    const double f = it == freq_.end() ? 0.0 : it->second;
    if (d == 0) return -std::numeric_limits<double>::infinity();
    return -f / static_cast<double>(d);
  }

  ExpertKey choose_victim(const std::vector<ExpertKey>& c, const CacheClock& now) override {
    ExpertKey best = c.front();
    double best_s = score(best, now.layer);
    for (const auto& k : c) {
      double s = score(k, now.layer);
      if (s > best_s) best = k, best_s = s;
    }
    return best;
  }

 private:
  EdgeMoeCacheParams p_;
  OffloadContext ctx_;
  std::map<ExpertKey, double> freq_;
};

}  // namespace

std::unique_ptr<ICachePolicy> make_edgemoe_cache(const EdgeMoeCacheParams& p, const OffloadContext& ctx) {
  return std::make_unique<EdgeMoeCache>(p, ctx);
}

MOESIM_REGISTER(CachePolicyRegistry, "edgemoe", "EdgeMoE: evict the highest -f/((S-i+I) mod S) (rare experts of layers that ran long ago)",
                ([](const config::Table& t, const OffloadContext& ctx) {
                  EdgeMoeCacheParams p;
                  p.use_calibration = t.boolean_or("use_calibration", p.use_calibration);
                  t.finish();
                  return make_edgemoe_cache(p, ctx);
                }));

}  // namespace moesim::offload
