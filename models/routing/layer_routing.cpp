#include <numeric>

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

int64_t CountRequest::total_tokens() const { return std::accumulate(tokens.begin(), tokens.end(), int64_t{0}); }

std::vector<int64_t> LayerCounts::expert_load() const {
  std::vector<int64_t> load(static_cast<size_t>(experts), 0);
  for (int32_t s = 0; s < sources; ++s)
    for (int32_t e = 0; e < experts; ++e) load[static_cast<size_t>(e)] += counts[static_cast<size_t>(s) * experts + e];
  return load;
}

LayerCounts count_routing(const LayerRouting& r, const std::vector<int32_t>& token_source, int32_t sources,
                          int32_t experts) {
  LayerCounts c;
  c.sources = sources;
  c.experts = experts;
  c.shared_experts = r.shared_experts;
  c.top_k = r.k;
  c.counts.assign(static_cast<size_t>(sources) * experts, 0);
  for (int64_t t = 0; t < r.tokens; ++t)
    for (int32_t j = 0; j < r.k; ++j) {
      const size_t i = static_cast<size_t>(t * r.k + j);
      const int32_t e = r.experts[i];
      if (e < 0 || e >= experts) continue;
      if (!r.dropped.empty() && r.dropped[i]) {
        ++c.dropped_slots;
        continue;
      }
      ++c.counts[static_cast<size_t>(token_source[static_cast<size_t>(t)]) * experts + e];
    }
  return c;
}

LayerCounts IRoutingSource::route_counts(const CountRequest& q) {
  RouteRequest req;
  req.step = q.step;
  req.layer = q.layer;
  std::vector<int32_t> source;
  for (size_t s = 0; s < q.devices.size(); ++s)
    for (int64_t i = 0; i < q.tokens[s]; ++i) {
      req.token_device.push_back(q.devices[s]);
      source.push_back(static_cast<int32_t>(s));
    }
  req.tokens = static_cast<int64_t>(source.size());
  LayerRouting r;
  if (req.tokens > 0) r = route(req);
  return count_routing(r, source, static_cast<int32_t>(q.devices.size()), q.experts);
}

}  // namespace moesim::routing
