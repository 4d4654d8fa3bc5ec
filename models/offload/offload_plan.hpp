#pragma once
// Internal to the offload_inference workload: the replay of the whole run through the expert
// cache (or the D²MoE plane cache) and what each step's graph needs from it.
#include <map>
#include <string>
#include <vector>

#include "models/offload/expert_cache.hpp"
#include "models/offload/offload_workload.hpp"

namespace moesim::offload {

struct PlannedLoad {
  std::string name;            // "L5.E3" or "L5.E3.p1"
  int32_t after_gate = -1;     // block whose gate issues it; -1 = at step start
  bool prefetch = false;
  double bytes = 0;            // bytes read
  double cached_bytes = 0;     // bytes that stay in the expert buffer (0: streamed)
  double freed_bytes = 0;      // buffer bytes evicted to make room
  std::vector<int32_t> after_uses;  // expert uses of this step that read an evicted expert
};

struct PlannedUse {  // one expert (at one bit-width) computing `tokens` tokens
  int32_t block = 0;
  int32_t expert = 0;
  int64_t tokens = 0;
  Bits bits = 32;
  double weight_bytes = 0;     // stored bytes the GEMM reads
  double streamed_bytes = 0;   // working-buffer bytes held from its load to its end (bypass)
  std::vector<int32_t> loads;  // loads of this step it waits for
};

struct StepPlan {
  bool prefill = false;
  std::vector<int64_t> block_tokens;  // tokens through each block (0: block not run)
  double context = 0;
  int64_t kv_before = 0;
  double cache_bytes_at_start = 0;
  std::vector<PlannedLoad> loads;
  std::vector<PlannedUse> uses;
  std::map<std::string, double> counters;  // hits, misses, prefetches, ... of this step
};

struct RunPlan {
  std::vector<StepPlan> steps;
  double expert_params = 0;
  CacheStats cache;            // totals (expert mode)
  PlaneStats planes;           // totals (nested mode)
};

// Replays the run: routing from ctx.routing, decisions from the policies.
RunPlan plan_run(const OffloadParams& p, const workload::WorkloadContext& ctx, ICachePolicy& cache,
                 IPrefetcher& prefetch);

// Stored bytes of one expert of `params` weights at `bits`.
double stored_expert_bytes(const OffloadParams& p, double params, Bits bits);

}  // namespace moesim::offload
