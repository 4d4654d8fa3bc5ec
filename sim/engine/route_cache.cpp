#include "sim/engine/route_cache.hpp"

namespace moesim::engine {

RouteCache::RouteCache(const hw::Topology& topo) : topo_(topo), by_source_(static_cast<size_t>(topo.device_count())) {}

std::pair<RouteCache::FromSource*, size_t> RouteCache::pair(int32_t src, int32_t dst) {
  auto& f = by_source_.at(static_cast<size_t>(src));
  if (f.slot.empty()) f.slot.assign(static_cast<size_t>(topo_.device_count()), -1);
  int32_t& s = f.slot.at(static_cast<size_t>(dst));
  if (s < 0) {
    const auto r = topo_.route(src, dst);
    s = static_cast<int32_t>(f.begin.size());
    f.begin.push_back(static_cast<int32_t>(f.edges.size()));
    f.size.push_back(static_cast<int32_t>(r.size()));
    f.latency.push_back(topo_.route_latency(r));
    f.edges.insert(f.edges.end(), r.begin(), r.end());
  }
  return {&f, static_cast<size_t>(s)};
}

std::span<const hw::EdgeId> RouteCache::device_route(int32_t src, int32_t dst) {
  const auto [f, i] = pair(src, dst);
  return {f->edges.data() + f->begin[i], static_cast<size_t>(f->size[i])};
}

std::vector<hw::EdgeId> RouteCache::route(const Flow& f) {
  switch (f.kind) {
    case Endpoints::device_to_device: {
      auto r = device_route(f.src, f.dst);
      return {r.begin(), r.end()};
    }
    case Endpoints::host_to_device: return topo_.host_route(f.dst, true);
    case Endpoints::device_to_host: return topo_.host_route(f.src, false);
    case Endpoints::storage_to_device: return topo_.storage_route(f.dst);
  }
  return {};
}

double RouteCache::latency(const Flow& f) {
  if (f.kind == Endpoints::device_to_device) {
    const auto [from, i] = pair(f.src, f.dst);
    return from->latency[i];
  }
  return topo_.route_latency(route(f));
}

}  // namespace moesim::engine
