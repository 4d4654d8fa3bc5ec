#include "sim/engine/route_cache.hpp"

namespace moesim::engine {

RouteCache::RouteCache(const hw::Topology& topo) : topo_(topo), by_source_(static_cast<size_t>(topo.device_count())) {}

RouteCache::FromSource& RouteCache::from(int32_t src) {
  auto& f = by_source_.at(static_cast<size_t>(src));
  if (!f.offsets.empty()) return f;
  const int32_t p = topo_.device_count();
  f.offsets.reserve(static_cast<size_t>(p) + 1);
  f.latency.reserve(static_cast<size_t>(p));
  f.offsets.push_back(0);
  for (int32_t dst = 0; dst < p; ++dst) {
    const auto r = topo_.route(src, dst);
    f.edges.insert(f.edges.end(), r.begin(), r.end());
    f.offsets.push_back(static_cast<int32_t>(f.edges.size()));
    f.latency.push_back(topo_.route_latency(r));
  }
  f.edges.shrink_to_fit();
  return f;
}

std::span<const hw::EdgeId> RouteCache::device_route(int32_t src, int32_t dst) {
  const auto& f = from(src);
  const auto b = static_cast<size_t>(f.offsets[static_cast<size_t>(dst)]);
  const auto e = static_cast<size_t>(f.offsets[static_cast<size_t>(dst) + 1]);
  return {f.edges.data() + b, e - b};
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
  if (f.kind == Endpoints::device_to_device) return from(f.src).latency[static_cast<size_t>(f.dst)];
  return topo_.route_latency(route(f));
}

}  // namespace moesim::engine
