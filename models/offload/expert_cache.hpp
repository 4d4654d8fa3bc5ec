#pragma once
// The expert buffer in device memory (EdgeMoE §2.1 "expert buffer"): a byte budget holding whole
// experts at their stored precision, filled by demand loads and prefetches, emptied by the
// policy's victims. Experts in use by the layer being executed are protected from eviction; an
// expert that cannot be given room (everything else protected, or larger than the buffer) is
// streamed through the working buffer without being cached ("bypass").
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "models/offload/cache_policy.hpp"

namespace moesim::offload {

struct CacheStats {
  int64_t hits = 0;
  int64_t misses = 0;
  int64_t bypasses = 0;         // misses that could not be cached
  int64_t prefetches = 0;       // prefetch loads issued
  int64_t prefetch_used = 0;    // prefetched experts later hit before their eviction
  int64_t prefetch_wasted = 0;  // prefetched experts evicted unused
  double bytes_loaded = 0;      // demand + prefetch (preload excluded)
  double preload_bytes = 0;
  std::map<ExpertKey, int32_t> loads;  // loads per expert (demand + prefetch)
  double hit_rate() const { return hits + misses > 0 ? static_cast<double>(hits) / static_cast<double>(hits + misses) : 0.0; }
  double prefetch_accuracy() const { return prefetches > 0 ? static_cast<double>(prefetch_used) / static_cast<double>(prefetches) : 0.0; }
};

struct AccessOutcome {
  bool hit = false;
  bool bypass = false;              // loaded but not cached
  bool prefetched = false;          // hit on an expert a prefetch brought in (first use)
  std::vector<ExpertKey> evicted;   // victims of this load
};

class ExpertCache {
 public:
  ExpertCache(double capacity_bytes, ICachePolicy& policy);

  AccessOutcome access(ExpertKey k, double bytes, const CacheClock& now);  // a demand access
  // Brings `k` in ahead of use. nullopt: already resident, or no room could be made.
  std::optional<std::vector<ExpertKey>> prefetch(ExpertKey k, double bytes, const CacheClock& now);
  // Initial fill before the run (not counted as loads); false when it does not fit.
  bool preload(ExpertKey k, double bytes);

  void protect(ExpertKey k) { protected_.insert(k); }
  void clear_protection() { protected_.clear(); }
  bool contains(ExpertKey k) const { return resident_.count(k) > 0; }
  double used_bytes() const { return used_; }
  double capacity_bytes() const { return capacity_; }
  const CacheStats& stats() const { return stats_; }

 private:
  // Evicts policy victims until `bytes` fit; nullopt (nothing evicted) when impossible.
  // `incoming` (a demand miss) is first offered to the policy's admit().
  std::optional<std::vector<ExpertKey>> make_room(double bytes, const CacheClock& now, const ExpertKey* incoming = nullptr);
  void insert(ExpertKey k, double bytes, const CacheClock& now, bool by_prefetch);

  double capacity_;
  ICachePolicy& policy_;
  double used_ = 0;
  std::map<ExpertKey, double> resident_;  // key -> bytes
  std::set<ExpertKey> unused_prefetch_;
  std::set<ExpertKey> protected_;
  CacheStats stats_;
};

}  // namespace moesim::offload
