#pragma once
// Framework operators an eager runtime dispatches per part of a transformer block (docs/models.md
// "Eager operators per block"). Each one pays the device's operator_overhead (hw::DeviceSpec; the
// compute model adds operators x operator_overhead to a task's time), the per-op cost of a
// runtime that runs the model op by op (PyTorch eager: Python, argument parsing and the dispatcher
// per call) and does not fuse them into the few kernels our task costs assume.
//
// The counts follow the eager reference implementations of HF transformers (modeling_t5.py /
// modeling_switch_transformers.py for T5 and Switch, modeling_llama.py / modeling_mixtral.py for
// RMSNorm + RoPE + SwiGLU decoders), one per tensor operation of their forward() in inference
// (dropout in eval mode is still one call):
//   norm            : RMSNorm 7 (to fp32, pow, mean, add eps, rsqrt, mul, mul by weight); LayerNorm 1
//   self-attention  : norm + q, k, v projections with view + transpose each (9) + KV-cache
//                     concatenation of k and v (2) + transpose k, QK^T (2) + mask / position-bias
//                     add (1) + softmax in fp32 and back (3) + dropout (1) + AV (1) + transpose,
//                     contiguous, view (3) + output projection (1) + dropout, residual add (2) = 32
//                     with RMSNorm; RoPE adds 2 x 6 (rotate_half: 2 slices, neg, cat; 2 muls, add)
//                     and a 1/sqrt(d) scale (1); MLA counts 2 extra projections and their norm.
//   cross-attention : the self-attention without the k, v projections, reshapes and cache
//                     concatenation (decode reuses the encoder's k, v): 32 - 8 = 24.
//   gate (router)   : the FFN sub-layer's norm, dropout and residual (norm + 2) + router linear,
//                     fp32 cast, softmax, top-k, one-hot, cumsum (capacity), compare, mask mul, max
//                     of the probabilities, clone of the hidden states, final scaling (11).
//   expert FFN      : gather of its tokens, up projection, activation, dropout, down projection,
//                     scatter back (6); SwiGLU adds the gate projection and the product (8).
//   dense FFN       : norm + up, activation, dropout, down (4; SwiGLU 6) + dropout, residual (2).
//   LM head         : final norm + dropout + scale + projection + argmax (norm + 4).
#include <cstdint>

#include "models/model_spec.hpp"

namespace moesim::model {

struct EagerOperators {
  int32_t norm = 0;
  int32_t self_attention = 0;
  int32_t cross_attention = 0;
  int32_t gate = 0;
  int32_t expert_ffn = 0;     // one routed (or shared) expert
  int32_t dense_ffn = 0;
  int32_t lm_head = 0;
  // The attention task of a block: self-attention, plus cross-attention in decoder blocks of an
  // encoder-decoder model.
  int32_t attention_of(const ModelSpec& m, int64_t layer) const {
    return self_attention + (m.is_decoder_block(layer) ? cross_attention : 0);
  }
};

EagerOperators eager_operators(const ModelSpec& m);

}  // namespace moesim::model
