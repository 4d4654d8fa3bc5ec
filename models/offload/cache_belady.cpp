// kind "belady": Belady's MIN (L. A. Belady, "A study of replacement algorithms for a
// virtual-storage computer", IBM Systems Journal 5(2), 1966): evict the resident expert whose next
// demand access lies farthest in the future (never again = infinitely far). Optimal hit count for
// equal-size items and demand loading; an oracle that needs the future trace (Read-ME, Cai et al.
// NeurIPS 2024, uses it with pre-gating, which makes the future known). Ties: lower key. With
// bypass (a miss may stream without being cached), MIN also declines to cache an expert whose
// next use is farther than every evictable one's: otherwise a policy that bypasses (pinned_hot)
// could beat it.
#include <algorithm>
#include <limits>
#include <map>

#include "models/offload/cache_policy.hpp"

namespace moesim::offload {
namespace {

class Belady final : public ICachePolicy {
 public:
  bool needs_future() const override { return true; }
  void set_future(const std::vector<ExpertKey>& future) override {
    uses_.clear();
    for (size_t i = 0; i < future.size(); ++i) uses_[future[i]].push_back(static_cast<int64_t>(i));
  }
  int64_t next_use(ExpertKey k, int64_t tick) const {
    auto it = uses_.find(k);
    if (it == uses_.end()) return std::numeric_limits<int64_t>::max();
    auto pos = std::lower_bound(it->second.begin(), it->second.end(), tick);
    return pos == it->second.end() ? std::numeric_limits<int64_t>::max() : *pos;
  }
  bool admit(ExpertKey k, const std::vector<ExpertKey>& c, const CacheClock& now) override {
    int64_t farthest = 0;
    for (const auto& v : c) farthest = std::max(farthest, next_use(v, now.tick));
    return next_use(k, now.tick + 1) < farthest;
  }
  ExpertKey choose_victim(const std::vector<ExpertKey>& c, const CacheClock& now) override {
    ExpertKey best = c.front();
    int64_t best_n = next_use(best, now.tick);
    for (const auto& k : c) {
      int64_t n = next_use(k, now.tick);
      if (n > best_n) best = k, best_n = n;
    }
    return best;
  }

 private:
  std::map<ExpertKey, std::vector<int64_t>> uses_;
};

}  // namespace

std::unique_ptr<ICachePolicy> make_belady() { return std::make_unique<Belady>(); }

MOESIM_REGISTER(CachePolicyRegistry, "belady", "oracle: evict the expert used farthest in the future (Belady's MIN)",
                ([](const config::Table& t, const OffloadContext&) { t.finish(); return make_belady(); }));

}  // namespace moesim::offload
