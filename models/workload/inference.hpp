#pragma once
// MoE inference under expert parallelism: a batch of requests, each with a prompt of
// `prompt_tokens` and `generate_tokens` tokens to generate. Step 0 is the prefill of every prompt
// (it yields each request's first token); each later step decodes one token per request with the
// KV cache grown by one token per step. Requests are spread round-robin over all devices
// (attention is data-parallel: non-expert weights are replicated on every device).
#include <cstdint>
#include <memory>
#include <string>

#include "models/workload/workload.hpp"

namespace moesim::workload {

struct InferenceParams {
  int64_t batch = 1;            // requests
  int64_t prompt_tokens = 128;
  int64_t generate_tokens = 16;
  std::string phases = "both";  // "both" | "prefill" | "decode"
  bool two_batch_overlap = false;
  double capacity_factor = 0;   // 0 = dropless; overrides the model's when > 0 (-1 = the model's)
};

InferenceParams read_inference_params(const config::Table& t);
std::unique_ptr<IWorkload> make_inference(const InferenceParams& p, const WorkloadContext& ctx);

}  // namespace moesim::workload
