#pragma once
// Per-token costs of one transformer layer as the workload builders need them (FLOPs, weight
// bytes, activation/KV bytes), grouped by the tasks they become. Every formula is
// models/model_math.hpp's (one implementation); this file only groups its operators into tasks
// and adds the training memory model (saved activations).
#include <cstdint>

#include "models/model_math.hpp"
#include "models/model_spec.hpp"

namespace moesim::workload {

struct OpWork {
  double flops = 0;          // per token
  double weight_bytes = 0;   // per task (weights are read once per task, not per token)
  double activation_bytes = 0;  // per token (inputs + outputs, K/V reads)
};

struct LayerTokenCosts {
  OpWork attention;      // projections + core (over the span) + norms, forward
  OpWork attention_bwd;  // their backward (model::backward_of: core 2.5x FLOPs, the rest 2x)
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

// `span`: the attention shape of one sequence in this pass (model::AttentionSpan).
LayerTokenCosts layer_token_costs(const model::ModelSpec& m, int64_t layer, const model::AttentionSpan& span);
// `context`: keys one query attends to, as in a decode step (model::decode_span(context)).
LayerTokenCosts layer_token_costs(const model::ModelSpec& m, int64_t layer, double context);
// LM head per token.
OpWork lm_head_costs(const model::ModelSpec& m);
// Parameters of one layer that are not routed experts (attention, norms, gate, shared experts,
// dense FFN), and those outside the layers (embeddings, LM head, final norms).
double layer_non_expert_params(const model::ModelSpec& m, int64_t layer);
double embedding_params(const model::ModelSpec& m);
double expert_params(const model::ModelSpec& m);  // one routed expert (0 for a dense model)

}  // namespace moesim::workload
