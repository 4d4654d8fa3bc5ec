#pragma once
// Keys and traces shared by the offload policies: an expert is (MoE layer index, expert id); a
// calibration trace is the experts each token visited at every MoE layer (EdgeMoE's "activation
// paths", seed-systems.md §2.3).
#include <compare>
#include <cstdint>
#include <vector>

namespace moesim::offload {

struct ExpertKey {
  int32_t layer = 0;   // MoE layer index (0 .. moe layers - 1), not the transformer block index
  int32_t expert = 0;
  constexpr auto operator<=>(const ExpertKey&) const = default;
};

// One token's path through the MoE layers: experts[layer] = its routed experts there.
struct TokenPath {
  std::vector<std::vector<int32_t>> experts;
};

struct CalibrationTrace {
  int32_t layers = 0;
  int32_t experts = 0;
  std::vector<TokenPath> tokens;
  // Activation counts [layer][expert] over the trace.
  std::vector<std::vector<double>> counts() const;
};

// What every cache policy and prefetcher is built with.
struct OffloadContext {
  int32_t moe_layers = 1;
  int32_t experts = 1;
  int32_t top_k = 1;
};

}  // namespace moesim::offload
