#pragma once
// One serving system: the state of its requests and its scheduler, advanced iteration by
// iteration by whoever owns the clock (the serving workload from the engine's timeline; tests and
// quick estimates from a step-time function, simulate() below).
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "models/serving/scheduler.hpp"

namespace moesim::serving {

class Server {
 public:
  Server(std::vector<RequestSpec> requests, KvCache kv, Preemption preemption, std::unique_ptr<IScheduler> scheduler);

  // The next iteration at time `now`: requests that arrived by then join the waiting queue and the
  // scheduler forms a batch. When nothing can run, the iteration is an idle wait until the next
  // arrival (idle_until). Throws InfeasibleError when requests wait, nothing runs and none arrive,
  // unless `others_feed_me` (a disaggregated decode pool, fed by the prefill pool): then the
  // iteration is empty.
  Iteration next(double now, bool others_feed_me = false);
  // The iteration `it` ended at `end`.
  void complete(const Iteration& it, double end);
  bool done() const { return state_.done(); }
  const ServingState& state() const { return state_; }
  ServingState& state() { return state_; }
  const IScheduler& scheduler() const { return *scheduler_; }
  int64_t iterations() const { return iterations_; }

 private:
  ServingState state_;
  std::unique_ptr<IScheduler> scheduler_;
  int64_t iterations_ = 0;
};

// Runs `server` to the end with iteration times from `step_time` (idle waits take their gap).
// Returns the simulated end time.
double simulate(Server& server, const std::function<double(const Iteration&, const ServingState&)>& step_time);

// Service-level objective of a request: TTFT and TPOT limits (seconds).
struct Slo {
  double ttft = 2.0;
  double tpot = 0.05;
};

// Per-request results: arrival_s, first scheduled, first token, finish, ttft_s, tpot_s (empty for
// single-token outputs), e2e_s, queue_s, prompt/output tokens, preemptions, device.
std::string requests_csv(const std::vector<Sequence>& seqs);

// Headline metrics (names carry units): ttft_p50_s/p90/p99, tpot_p50_s/p90/p99, e2e_p50_s/p99,
// queue_mean_s, queue_p99_s, throughput_tokens_per_s (output tokens / time until the last
// finish), goodput_requests_per_s (requests meeting the SLO / same time), slo_attainment,
// requests_in, requests_out, preemptions, recomputes, swaps.
std::map<std::string, double> serving_metrics(const std::vector<Sequence>& seqs, const Slo& slo);

// Nearest-rank percentile (q in [0, 1]) of a non-empty list.
double nearest_rank(std::vector<double> v, double q);

}  // namespace moesim::serving
