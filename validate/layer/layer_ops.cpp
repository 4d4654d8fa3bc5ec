#include "validate/layer/layer_ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace moesim::layercheck {

Permutation build_permutation(const routing::LayerRouting& r, int32_t experts) {
  Permutation p;
  p.experts = experts;
  p.offsets.assign(static_cast<size_t>(experts) + 1, 0);
  auto kept = [&](int64_t t, int32_t j) {
    const int32_t e = r.expert(t, j);
    return e != routing::kNoExpert && e >= 0 && e < experts && (r.dropped.empty() || !r.dropped[t * r.k + j]);
  };
  for (int64_t t = 0; t < r.tokens; ++t)
    for (int32_t j = 0; j < r.k; ++j)
      if (kept(t, j)) ++p.offsets[static_cast<size_t>(r.expert(t, j)) + 1];
  for (int32_t e = 0; e < experts; ++e) p.offsets[e + 1] += p.offsets[e];
  p.token.resize(static_cast<size_t>(p.offsets.back()));
  p.weight.resize(p.token.size());
  std::vector<int64_t> next(p.offsets.begin(), p.offsets.end() - 1);
  const float uniform = r.k > 0 ? 1.0f / static_cast<float>(r.k) : 0.0f;
  for (int64_t t = 0; t < r.tokens; ++t)
    for (int32_t j = 0; j < r.k; ++j) {
      if (!kept(t, j)) continue;
      const int64_t i = next[static_cast<size_t>(r.expert(t, j))]++;
      p.token[i] = t;
      p.weight[i] = r.weights.empty() ? uniform : r.weights[t * r.k + j];
    }
  return p;
}

void gather_rows(const float* x, int64_t d, const Permutation& p, float* xp) {
  for (int64_t i = 0; i < p.rows(); ++i) std::memcpy(xp + i * d, x + p.token[i] * d, sizeof(float) * static_cast<size_t>(d));
}

void combine_rows(const float* y, int64_t d, const Permutation& p, int64_t tokens, float* out) {
  std::fill(out, out + tokens * d, 0.0f);
  for (int64_t i = 0; i < p.rows(); ++i) {
    float* o = out + p.token[i] * d;
    const float* s = y + i * d;
    const float w = p.weight[i];
    for (int64_t c = 0; c < d; ++c) o[c] += w * s[c];
  }
}

void swiglu(float* a, const float* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) a[i] = a[i] / (1.0f + std::exp(-a[i])) * b[i];
}

}  // namespace moesim::layercheck
