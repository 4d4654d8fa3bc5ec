#pragma once
// Device-to-device routes computed once per source device on first use and kept in compact
// per-source arrays (an All-to-All among P devices asks for P^2 routes, again and again).
#include <cstdint>
#include <span>
#include <vector>

#include "hardware/topology/topology.hpp"
#include "sim/engine/decompose.hpp"

namespace moesim::engine {

class RouteCache {
 public:
  explicit RouteCache(const hw::Topology& topo);
  std::span<const hw::EdgeId> device_route(int32_t src, int32_t dst);
  // Any flow's route (host and storage flows are computed each time: they are few).
  std::vector<hw::EdgeId> route(const Flow& f);
  double latency(const Flow& f);  // route latency of the flow (without fixed or ring factors)

 private:
  struct FromSource {
    std::vector<int32_t> offsets;  // P + 1
    std::vector<hw::EdgeId> edges;
    std::vector<double> latency;   // P
  };
  FromSource& from(int32_t src);
  const hw::Topology& topo_;
  std::vector<FromSource> by_source_;
};

}  // namespace moesim::engine
