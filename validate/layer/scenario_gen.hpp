#pragma once
// The scenario a layer-level check is simulated with (docs/validation.md "Layer-level checks"):
// one device (the calibrated CPU preset), one node, the model preset with `layers` blocks and
// fp32 weights and activations (the kernels run cblas_sgemm), routing kind "trace" replaying the
// same trace file the kernel replays, and
//   check "moe_layer": [workload] kind = "inference", phases = "decode", batch = tokens per step,
//                      generate_tokens = steps (every step routes `tokens` tokens at step s);
//   check "offload"  : [workload] kind = "offload_inference", batch 1, phases = "decode",
//                      generate_tokens = tokens decoded, experts_on = "storage",
//                      cache_experts = N, [workload.cache] kind = "lru", no prefetch; the
//                      calibrated storage behind an ideal host link (the CPU is its own host).
// The kernels read the same file (scenario::load_scenario) for the model dimensions, the routing
// source and these workload numbers, so measured and simulated runs cannot drift apart.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace moesim::layercheck {

struct CheckSpec {
  std::string check = "moe_layer";   // "moe_layer" | "offload"
  std::string name;                  // scenario name
  std::string model = "olmoe_1b_7b"; // models/catalog preset
  // Extra model keys, "table.key=value" relative to [model] (e.g. "moe.expert_dim=512"); values
  // are TOML literals.
  std::vector<std::string> model_sets;
  int64_t layers = 1;
  std::string preset;                // device (and storage) preset of the calibrated machine
  std::string trace_path;            // as written in the TOML (relative to the scenario's folder)
  std::string trace_format;          // optional
  int64_t tokens = 64;               // moe_layer: tokens per step; offload: tokens decoded
  int64_t steps = 10;                // moe_layer only
  int64_t cache_experts = 16;        // offload only
  int64_t prompt_tokens = 1;         // KV length before the first decode step (attention only)
  uint64_t seed = 1;
};

// The scenario TOML text. Throws ConfigError for an unknown check or a malformed model_sets entry.
std::string scenario_toml(const CheckSpec& s);

// What the kernels read back from a loaded scenario's [workload] table.
struct WorkloadShape {
  std::string check;            // from the workload kind
  int64_t tokens_per_step = 0;  // batch
  int64_t steps = 0;            // generate_tokens
  int64_t cache_experts = 0;    // offload
};

}  // namespace moesim::layercheck
