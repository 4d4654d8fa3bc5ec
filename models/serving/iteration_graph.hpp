#pragma once
// One serving iteration as a StepGraph (iteration_graph.cpp): the batch's tokens per device (each
// request's chunk on the device holding its K/V), one forward pass through every layer with MoE
// routing per token (StepAssembler), the LM head for the requests that produce a token, K/V swaps
// as host copies, resident weights and the paged K/V in use.
#include <cstdint>
#include <vector>

#include "models/serving/serving_state.hpp"
#include "models/workload/workload.hpp"

namespace moesim::serving {

// The batch's shape: what the iteration's time depends on.
struct BatchShape {
  std::vector<int64_t> tokens;   // per device
  std::vector<int64_t> outputs;  // per device: requests producing a token
  // One attention span standing for the batch (model::AttentionSpan): chosen so that the batch's
  // total attention FLOPs (sum over tokens of the keys each attends to) and K/V bytes read (sum over
  // requests of their keys) are those of the real mix of prefill chunks and decodes.
  double span_queries = 1, span_cached = 0;
};

BatchShape batch_shape(const Iteration& it, const ServingState& s, int32_t devices);

struct IterationGraphInput {
  const workload::WorkloadContext* ctx = nullptr;
  double capacity_factor = 0;
  double kv_bytes_per_token = 0;
  int64_t routing_step = 0;
  int32_t device_offset = 0;  // the pool's first global device (K/V fetched from other pools)
};

workload::BuiltStep iteration_graph(const IterationGraphInput& in, const Iteration& it, const ServingState& s,
                                    const BatchShape& shape);

// A step that only waits (no request to run) or replays a cached time: one delay on device 0, plus
// the resident memory.
graph::StepGraph delay_graph(double seconds, std::vector<graph::MemDelta> resident);

// Resident memory of an iteration: weights (as the step assembler places them) and the K/V blocks
// in use on each device.
std::vector<graph::MemDelta> kv_resident(const ServingState& s, double kv_bytes_per_token);

}  // namespace moesim::serving
