#include "models/model_spec.hpp"

namespace moesim::model {

bool ModelSpec::is_moe_layer(int64_t layer) const {
  if (experts <= 0 || layer < first_dense_layers) return false;
  int64_t every = moe_every > 0 ? moe_every : 1;
  // GShard/Switch convention: with moe_every = 2 the 2nd, 4th, ... layers are MoE.
  return (layer - first_dense_layers + 1) % every == 0;
}

int64_t ModelSpec::moe_layer_count() const {
  int64_t n = 0;
  for (int64_t l = 0; l < layers; ++l) n += is_moe_layer(l) ? 1 : 0;
  return n;
}

}  // namespace moesim::model
