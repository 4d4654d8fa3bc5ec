#pragma once
// Expert-cache replacement policies (registry "cache_policy", TOML [workload.cache] kind = ...).
// A policy only chooses victims and keeps its own bookkeeping; ExpertCache (expert_cache.hpp)
// owns the resident set, the byte budget and the statistics. Kinds: lru, lfu, fifo, edgemoe,
// belady, pinned_hot (one .cpp each; equations and sources in docs/offload.md).
#include <memory>
#include <vector>

#include "models/offload/expert_key.hpp"
#include "sim/core/registry.hpp"

namespace moesim::offload {

// Where the replay is: `tick` is the index of the current (or next) demand access in the whole
// run's demand sequence; `layer` the MoE layer being executed.
struct CacheClock {
  int64_t tick = 0;
  int32_t layer = 0;
};

class ICachePolicy {
 public:
  static constexpr const char* kInterface = "cache_policy";
  virtual ~ICachePolicy() = default;
  // Offline knowledge: activation paths of a calibration run (EdgeMoE frequencies, hot sets).
  virtual void calibrate(const CalibrationTrace&) {}
  // Oracles only: the whole run's demand accesses, in order (tick i = future[i]).
  virtual void set_future(const std::vector<ExpertKey>&) {}
  virtual bool needs_future() const { return false; }
  virtual void on_access(ExpertKey, const CacheClock&, bool /*hit*/) {}  // every demand access
  virtual void on_insert(ExpertKey, const CacheClock&) {}                 // demand load, prefetch, preload
  virtual void on_evict(ExpertKey) {}
  // False for experts the policy never gives up (pinned_hot's pinned set): they are left out of
  // the candidates; a load that cannot get room without them is streamed (bypass).
  virtual bool evictable(ExpertKey) const { return true; }
  // Whether a demand-missed expert is worth caching when it needs evictions among `candidates`;
  // false streams it through the working buffer (bypass). Belady declines an expert whose next
  // use is farther than every candidate's (MIN with bypass, the optimum once bypass exists).
  virtual bool admit(ExpertKey, const std::vector<ExpertKey>& /*candidates*/, const CacheClock&) { return true; }
  // Picks one of `candidates` (resident, evictable, sorted, never empty) to evict.
  virtual ExpertKey choose_victim(const std::vector<ExpertKey>& candidates, const CacheClock& now) = 0;
};

using CachePolicyRegistry = Registry<ICachePolicy, const OffloadContext&>;

// Typed Params of each kind (tests build them directly).
struct EdgeMoeCacheParams {
  bool use_calibration = true;  // f starts from the calibration counts (else from zero)
};
struct PinnedHotParams {
  int32_t pinned_experts = 0;   // the calibration's most frequent experts that are never evicted
};

std::unique_ptr<ICachePolicy> make_lru();
std::unique_ptr<ICachePolicy> make_lfu();
std::unique_ptr<ICachePolicy> make_fifo();
std::unique_ptr<ICachePolicy> make_edgemoe_cache(const EdgeMoeCacheParams& p, const OffloadContext& ctx);
std::unique_ptr<ICachePolicy> make_belady();
std::unique_ptr<ICachePolicy> make_pinned_hot(const PinnedHotParams& p, const OffloadContext& ctx);

// The `n` most frequent (layer, expert) pairs of a trace, hottest first (ties: lower key).
std::vector<ExpertKey> hottest_experts(const CalibrationTrace& trace, int32_t n);

}  // namespace moesim::offload
