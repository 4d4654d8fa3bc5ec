#pragma once
// Iteration-level (continuous) batching schedulers (docs/serving.md): before every model iteration
// the scheduler picks which requests run and how many tokens each, from the serving state.
// Pluggable (IScheduler, registry "scheduler", TOML [workload.scheduler] kind = "vllm" | "sarathi" |
// "orca"); each kind is one .cpp.
#include <cstdint>
#include <memory>
#include <vector>

#include "models/serving/serving_state.hpp"
#include "sim/core/registry.hpp"

namespace moesim::serving {

struct SchedulerLimits {
  int64_t max_tokens = 8192;   // tokens processed per iteration, all devices (token budget)
  int64_t max_running = 256;   // requests running at once
};

class IScheduler {
 public:
  static constexpr const char* kInterface = "scheduler";
  virtual ~IScheduler() = default;
  // Forms the next iteration from the requests that arrived (state.waiting()) and those running.
  // May admit, preempt and swap. An empty iteration means nothing can run now.
  virtual Iteration schedule(ServingState& state) = 0;
  const SchedulerLimits& limits() const { return limits_; }
  // Throws InfeasibleError naming the request when one can never be served under these limits on
  // `kv` (a prompt over the token budget where prompts cannot be chunked, K/V over one device).
  virtual void check(const std::vector<RequestSpec>& requests, const KvCache& kv) const;

 protected:
  explicit IScheduler(SchedulerLimits l) : limits_(l) {}
  SchedulerLimits limits_;
};

using SchedulerRegistry = Registry<IScheduler>;

// Reads max_tokens and max_running (1 <= max_running <= max_tokens).
SchedulerLimits read_limits(const config::Table& t, SchedulerLimits defaults);

// Shared steps of the schedulers (scheduler.cpp):
// One decode token for every running sequence past its prefill, in admission order; where its
// device has no block for the token, the most recently admitted running sequence is preempted
// (vLLM's policy; itself when it is the newest). Returns the preemptions made.
int64_t decode_running(ServingState& s, Iteration& it);
// Brings swapped sequences back while they fit, each with one decode token (FCFS).
void swap_in_all(ServingState& s, Iteration& it, int64_t max_running, int64_t& budget);

}  // namespace moesim::serving
