#pragma once
// The "serving" workload (docs/serving.md): requests arrive over time (arrival process or trace),
// an iteration-level scheduler forms each batch from the simulated clock, and each iteration is a
// StepGraph of the batch actually formed (prefill chunks + decode tokens) built by the same step
// assembly as `inference`, so routing skew, expert placement and EP All-to-All set request latency.
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "models/serving/iteration_graph.hpp"
#include "models/serving/server.hpp"
#include "models/workload/workload.hpp"

namespace moesim::serving {

struct KvParams {
  int64_t block_tokens = 16;
  std::optional<double> capacity_bytes;  // K/V memory per device; nullopt: what the memory model leaves
  double watermark = 0.01;               // fraction of blocks kept free at admission (vLLM default)
  Preemption preemption = Preemption::recompute;
};

// Reuse of iteration times (docs/serving.md, "Step cache"): an iteration whose shape (tokens and
// tokens producing an output per device, attention span rounded to `context_tokens`) was already
// simulated becomes one delay of the time measured for it. Exact for identical shapes when routing
// does not depend on the step; approximate otherwise (a step's routing draw is reused).
struct StepCacheParams {
  bool enabled = false;
  int64_t context_tokens = 0;  // rounding of the attention span; 0 = exact
  // Per-device token counts above 16 keep this relative resolution (0.0625: 4 significant bits,
  // counts within 6.25% share a shape); 0 = exact.
  double token_resolution = 0;
  // Devices are interchangeable: a shape is the multiset of per-device (tokens, outputs).
  bool sort_devices = false;
};

// Disaggregated prefill and decode (DistServe, Zhong et al., OSDI'24; Splitwise, Patel et al.,
// ISCA'24): devices [0, prefill_devices) run prompts only, the rest decode; a request's K/V moves
// from its prefill device to its decode device as a flow on the topology.
struct DisaggregationParams {
  int32_t prefill_devices = 0;  // 0: not disaggregated
  std::unique_ptr<IScheduler> decode_scheduler;
};

struct ServingParams {
  std::vector<RequestSpec> requests;  // lengths resolved
  std::unique_ptr<IScheduler> scheduler;
  DisaggregationParams disaggregation;
  KvParams kv;
  Slo slo;
  StepCacheParams cache;
  double capacity_factor = -1;  // MoE capacity factor; -1 = the model's
};

ServingParams read_serving_params(const config::Table& t, uint64_t seed);
std::unique_ptr<workload::IWorkload> make_serving(ServingParams p, const workload::WorkloadContext& ctx);

// K/V blocks of each device: capacity_bytes, or usable memory - resident weights - the activation
// peak of a probe iteration of max_tokens prefill tokens per device; over kv bytes per block.
// Throws InfeasibleError when a device has no room for one block.
std::vector<int64_t> kv_capacity_blocks(const workload::WorkloadContext& ctx, const KvParams& kv, int64_t max_tokens,
                                        double capacity_factor);

}  // namespace moesim::serving
