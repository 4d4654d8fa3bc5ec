#pragma once
// MoE training under expert parallelism: each iteration runs `micro_batches` micro-batches of
// `micro_batch_size` sequences of `seq_len` tokens per device through forward and backward
// (backward = 2x forward FLOPs), then all-reduces the gradients of the replicated (non-expert)
// weights over every device and the expert gradients over the EP groups' replicas, and runs the
// optimizer on each device's own parameters.
#include <cstdint>
#include <memory>
#include <string>

#include "models/workload/workload.hpp"

namespace moesim::workload {

struct TrainingParams {
  int64_t steps = 1;             // iterations
  int64_t micro_batch_size = 1;  // sequences per device per micro-batch
  int64_t seq_len = 2048;
  int64_t micro_batches = 1;     // gradient accumulation
  bool two_batch_overlap = false;
  double capacity_factor = -1;   // -1 = the model's
  hw::Dtype grad_dtype = hw::Dtype::bf16;
  double optimizer_bytes_per_param = 12;  // fp32 master + Adam m, v (Rajbhandari et al. 2020, ZeRO Sec. 3)
  std::string dp_stream = "separate";     // gradient all-reduces: "separate" (own stream) | "comm"
};

TrainingParams read_training_params(const config::Table& t);
std::unique_ptr<IWorkload> make_training(const TrainingParams& p, const WorkloadContext& ctx);

// Parameters each device holds under EP: replicated non-expert weights plus its own experts.
double device_params(const model::ModelSpec& m, int32_t experts_on_device);

}  // namespace moesim::workload
