#include "models/routing/routing.hpp"

namespace moesim::routing {

std::vector<int64_t> LayerRouting::expert_load(int32_t num_experts) const {
  std::vector<int64_t> load(static_cast<size_t>(num_experts), 0);
  for (size_t i = 0; i < experts.size(); ++i) {
    int32_t e = experts[i];
    if (e < 0 || e >= num_experts) continue;
    if (!dropped.empty() && dropped[i]) continue;
    ++load[static_cast<size_t>(e)];
  }
  return load;
}

}  // namespace moesim::routing
