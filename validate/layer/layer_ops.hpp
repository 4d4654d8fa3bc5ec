#pragma once
// The data movement of one MoE layer on the host, as mb_moe_layer runs it (pure, no BLAS, tested
// by tests/validate/layer_test.cpp):
//   permutation: the routed slots (token t, slot j) grouped by expert, experts ascending, tokens in
//                order inside an expert (the "permute" of MegaBlocks / vLLM's fused_moe: a stable
//                sort of the slots by expert id); null (kNoExpert) and dropped slots are skipped
//   gather     : xp[i] = x[token[i]]                      (d floats per row)
//   combine    : out[t] = sum over slots i of t: w[i] * y[i]  (weighted scatter-add, Switch
//                Transformer / GShard combine; w = the trace's gate weights, 1/k when it has none)
#include <cstdint>
#include <vector>

#include "models/routing/routing.hpp"

namespace moesim::layercheck {

struct Permutation {
  int32_t experts = 0;
  std::vector<int64_t> offsets;  // size experts + 1: rows of expert e are [offsets[e], offsets[e+1])
  std::vector<int64_t> token;    // per permuted row: the source token
  std::vector<float> weight;     // per permuted row: its gate weight
  int64_t rows() const { return static_cast<int64_t>(token.size()); }
  int64_t rows_of(int32_t e) const { return offsets[static_cast<size_t>(e) + 1] - offsets[static_cast<size_t>(e)]; }
};

Permutation build_permutation(const routing::LayerRouting& r, int32_t experts);

// xp (rows x d) from x (tokens x d).
void gather_rows(const float* x, int64_t d, const Permutation& p, float* xp);

// out (tokens x d) = 0, then out[token[i]] += weight[i] * y[i] for every permuted row i.
void combine_rows(const float* y, int64_t d, const Permutation& p, int64_t tokens, float* out);

// SwiGLU activation in place: a[i] = silu(a[i]) * b[i], silu(z) = z / (1 + e^-z) (Shazeer 2020).
void swiglu(float* a, const float* b, int64_t n);

}  // namespace moesim::layercheck
