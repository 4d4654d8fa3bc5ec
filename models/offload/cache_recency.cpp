// kinds "lru", "lfu", "fifo": the classic replacement policies (e.g. Silberschatz, Galvin, Gagne,
// "Operating System Concepts", ch. 10 "Page replacement"), as baselines of EdgeMoE's Fig. 14.
//   lru : evict argmin last-access tick
//   lfu : evict argmin access count since the run started (ties: least recently used)
//   fifo: evict argmin insertion tick
// Ties between equal stamps break towards the lower key, so replays are deterministic.
#include <limits>
#include <map>

#include "models/offload/cache_policy.hpp"

namespace moesim::offload {
namespace {

// Evicts the candidate with the smallest (primary, secondary) stamp.
template <class Stamp>
ExpertKey argmin(const std::vector<ExpertKey>& c, Stamp stamp) {
  ExpertKey best = c.front();
  auto best_s = stamp(best);
  for (const auto& k : c) {
    auto s = stamp(k);
    if (s < best_s) best = k, best_s = s;
  }
  return best;
}

class Lru final : public ICachePolicy {
 public:
  void on_access(ExpertKey k, const CacheClock& c, bool) override { last_[k] = c.tick; }
  void on_insert(ExpertKey k, const CacheClock& c) override { last_[k] = std::max(last_[k], c.tick); }
  ExpertKey choose_victim(const std::vector<ExpertKey>& c, const CacheClock&) override {
    return argmin(c, [&](ExpertKey k) { return last_[k]; });
  }

 private:
  std::map<ExpertKey, int64_t> last_;
};

class Lfu final : public ICachePolicy {
 public:
  void on_access(ExpertKey k, const CacheClock& c, bool) override { ++count_[k], last_[k] = c.tick; }
  ExpertKey choose_victim(const std::vector<ExpertKey>& c, const CacheClock&) override {
    return argmin(c, [&](ExpertKey k) { return std::pair{count_[k], last_[k]}; });
  }

 private:
  std::map<ExpertKey, int64_t> count_, last_;
};

class Fifo final : public ICachePolicy {
 public:
  void on_insert(ExpertKey k, const CacheClock&) override { inserted_[k] = next_++; }
  ExpertKey choose_victim(const std::vector<ExpertKey>& c, const CacheClock&) override {
    return argmin(c, [&](ExpertKey k) { return inserted_[k]; });
  }

 private:
  std::map<ExpertKey, int64_t> inserted_;
  int64_t next_ = 0;
};

}  // namespace

std::unique_ptr<ICachePolicy> make_lru() { return std::make_unique<Lru>(); }
std::unique_ptr<ICachePolicy> make_lfu() { return std::make_unique<Lfu>(); }
std::unique_ptr<ICachePolicy> make_fifo() { return std::make_unique<Fifo>(); }

MOESIM_REGISTER(CachePolicyRegistry, "lru", "evict the least recently used expert",
                ([](const config::Table& t, const OffloadContext&) { t.finish(); return make_lru(); }));
MOESIM_REGISTER(CachePolicyRegistry, "lfu", "evict the least frequently used expert (ties: LRU)",
                ([](const config::Table& t, const OffloadContext&) { t.finish(); return make_lfu(); }));
MOESIM_REGISTER(CachePolicyRegistry, "fifo", "evict the expert loaded first",
                ([](const config::Table& t, const OffloadContext&) { t.finish(); return make_fifo(); }));

}  // namespace moesim::offload
