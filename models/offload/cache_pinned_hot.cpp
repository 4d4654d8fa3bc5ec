// kind "pinned_hot": a pinned hot set plus LRU for the rest. The `pinned_experts` most frequent
// (layer, expert) pairs of the calibration trace are never evicted once resident; the other
// experts are replaced least-recently-used. The static hot-expert residency used by
// hybrid/offloading servers (e.g. keeping popular experts on the GPU, MoE-Infinity / Fiddler style);
// the number of pinned experts is a scenario choice.
#include <algorithm>
#include <map>
#include <set>

#include "models/offload/cache_policy.hpp"

namespace moesim::offload {

std::vector<ExpertKey> hottest_experts(const CalibrationTrace& trace, int32_t n) {
  auto c = trace.counts();
  std::vector<std::pair<double, ExpertKey>> all;
  for (int32_t l = 0; l < static_cast<int32_t>(c.size()); ++l)
    for (int32_t e = 0; e < static_cast<int32_t>(c[l].size()); ++e) all.push_back({c[l][e], ExpertKey{l, e}});
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<ExpertKey> out;
  for (int32_t i = 0; i < n && i < static_cast<int32_t>(all.size()); ++i) out.push_back(all[i].second);
  return out;
}

namespace {

class PinnedHot final : public ICachePolicy {
 public:
  explicit PinnedHot(PinnedHotParams p) : p_(p) {}
  void calibrate(const CalibrationTrace& trace) override {
    auto hot = hottest_experts(trace, p_.pinned_experts);
    pinned_ = std::set<ExpertKey>(hot.begin(), hot.end());
  }
  void on_access(ExpertKey k, const CacheClock& c, bool) override { last_[k] = c.tick; }
  void on_insert(ExpertKey k, const CacheClock& c) override { last_[k] = std::max(last_[k], c.tick); }
  // Pinned experts are never candidates (a miss that finds only pinned experts resident streams
  // through the working buffer); before, the LRU pinned expert was evicted as a last resort, so a
  // buffer smaller than the pinned set (t4_host_dram_mixtral: 18 slots, 32 pinned) degraded to
  // plain LRU and its 0% hit rate on a cyclic sweep.
  bool evictable(ExpertKey k) const override { return !pinned_.count(k); }
  ExpertKey choose_victim(const std::vector<ExpertKey>& c, const CacheClock&) override {
    const ExpertKey* best = &c.front();
    for (const auto& k : c)
      if (last_[k] < last_[*best]) best = &k;
    return *best;
  }

 private:
  PinnedHotParams p_;
  std::set<ExpertKey> pinned_;
  std::map<ExpertKey, int64_t> last_;
};

}  // namespace

std::unique_ptr<ICachePolicy> make_pinned_hot(const PinnedHotParams& p, const OffloadContext&) {
  return std::make_unique<PinnedHot>(p);
}

MOESIM_REGISTER(CachePolicyRegistry, "pinned_hot", "the calibration's hottest experts pinned, LRU for the rest",
                ([](const config::Table& t, const OffloadContext& ctx) {
                  PinnedHotParams p;
                  p.pinned_experts = static_cast<int32_t>(t.integer_in_or("pinned_experts", 0, 1 << 24, 0));
                  t.finish();
                  return make_pinned_hot(p, ctx);
                }));

}  // namespace moesim::offload
