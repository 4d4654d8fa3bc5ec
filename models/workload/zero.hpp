#pragma once
// ZeRO (Rajbhandari et al. 2020, "ZeRO: Memory Optimizations Toward Training Trillion Parameter
// Models", Sec. 5.1, Fig. 1): mixed-precision Adam keeps 2 + 2 + K bytes per parameter (fp16/bf16
// weights and gradients, K = 12 bytes of fp32 master weights and Adam moments). Over a data-parallel
// group of N_d ranks, stage 1 (P_os) partitions the optimizer state, stage 2 (P_os+g) also the
// gradients, stage 3 (P_os+g+p) also the weights:
//   stage 0: (2 + 2 + K) psi     stage 1: 2 psi + 2 psi + K psi / N_d
//   stage 2: 2 psi + (2 + K) psi / N_d     stage 3: (2 + 2 + K) psi / N_d
// Non-expert and expert parameters have their own stage and group: the non-expert group is every
// rank of a pipeline stage with the same TP rank; an expert's group is the devices holding a
// persistent copy of it (the EP replicas).
#include <cstdint>
#include <vector>

#include "models/workload/layout.hpp"
#include "models/workload/workload.hpp"

namespace moesim::workload {

struct ZeroBytes {
  double weights = 0, gradients = 0, optimizer = 0;  // per parameter
  double total() const { return weights + gradients + optimizer; }
};
// Bytes per parameter one rank keeps at ZeRO `stage` over `dp` ranks.
ZeroBytes zero_bytes_per_param(int32_t stage, double dp, double weight_bytes, double grad_bytes, double optimizer_bytes);

// Parameters one device of a pipeline stage holds, split into what ZeRO partitions over the
// non-expert group and over each expert's replicas.
struct DeviceParams {
  double dense = 0;      // non-expert parameters held (after TP slicing)
  int32_t dense_dp = 1;  // ranks sharing them (ZeRO group)
  double expert = 0;     // expert parameters held (after TP slicing)
  double expert_per_dp = 0;  // sum over held experts of params / replicas (ZeRO-partitioned share)
  std::vector<int32_t> chunks;  // model chunks the stage holds
};

// Model chunks each stage holds (from the schedule's plan).
std::vector<std::vector<int32_t>> chunks_of_stages(const PipelinePlan& plan);
// Non-expert parameters of chunk `chunk`, embedding on the first chunk and LM head + final norm on
// the last (both when one chunk holds all layers).
double chunk_dense_params(const model::ModelSpec& m, const Layout& layout, int32_t chunk);
// Per local device of one stage (the strategy places experts over one stage's devices; every stage
// has the same arrangement). `ctx` is the stage's context (cluster = one stage).
std::vector<DeviceParams> stage_device_params(const WorkloadContext& ctx, const Layout& layout,
                                              const std::vector<int32_t>& chunks, int64_t step);
// Resident weights, gradients and optimizer state of one device under the layout's ZeRO stages.
ZeroBytes resident_bytes(const DeviceParams& p, const Layout& layout, double weight_bytes, double grad_bytes,
                         double optimizer_bytes);

}  // namespace moesim::workload
