#pragma once
// Per-token costs of one transformer layer as the workload builders need them (FLOPs, weight
// bytes, activation/KV bytes), grouped by the tasks they become. Derived from the model's
// operator costs (models/model_math.hpp); forward pass only: backward is 2x forward (Kaplan et
// al. 2020, "Scaling Laws", Sec. 2.1: C_backward ~ 2 C_forward).
#include <cstdint>

#include "models/model_spec.hpp"

namespace moesim::workload {

struct OpWork {
  double flops = 0;          // per token
  double weight_bytes = 0;   // per task (weights are read once per task, not per token)
  double activation_bytes = 0;  // per token (inputs + outputs, KV reads)
};

struct LayerTokenCosts {
  OpWork attention;      // projections + core (at the given context) + norms
  OpWork gate;
  OpWork expert;         // one routed expert, one token
  OpWork shared_expert;  // all shared experts together, one token
  OpWork dense_ffn;
  double kv_bytes = 0;          // KV-cache bytes one token adds to this layer
  double hidden_bytes = 0;      // one token's hidden state (d_model * activation bytes)
  double saved_activation_bytes = 0;  // training: bytes kept for backward, per token (attention + norms)
  double saved_expert_bytes = 0;      // training: bytes kept per token per routed expert slot
  double saved_shared_bytes = 0;      // training: bytes kept per token by the shared experts
  double saved_dense_bytes = 0;       // training: bytes kept per token by a dense FFN
};

// `context`: tokens attended to (KV length) by one query token.
LayerTokenCosts layer_token_costs(const model::ModelSpec& m, int64_t layer, double context);
// LM head (+ final norm) per token.
OpWork lm_head_costs(const model::ModelSpec& m);
// Parameters of one layer that are not routed experts (attention, norms, gate, shared experts,
// dense FFN), and the embeddings/LM head.
double layer_non_expert_params(const model::ModelSpec& m, int64_t layer);
double embedding_params(const model::ModelSpec& m);
double expert_params(const model::ModelSpec& m);  // one routed expert

}  // namespace moesim::workload
