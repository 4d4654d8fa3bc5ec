#pragma once
// Device-to-device routes computed once per (source, destination) pair on first use and kept in
// compact per-source arrays (an All-to-All among P devices asks for its pairs' routes again and
// again). Only pairs that carry traffic are computed: at 2,048 GPUs with EP64 that is ~64 x 2,048
// routes, not 2,048^2 (docs/performance.md, second pass).
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "hardware/topology/topology.hpp"
#include "sim/engine/decompose.hpp"

namespace moesim::engine {

class RouteCache {
 public:
  explicit RouteCache(const hw::Topology& topo);
  // Valid until the next call (a newly computed route may move the stored ones).
  std::span<const hw::EdgeId> device_route(int32_t src, int32_t dst);
  // Any flow's route (host and storage flows are computed each time: they are few).
  std::vector<hw::EdgeId> route(const Flow& f);
  double latency(const Flow& f);  // route latency of the flow (without fixed or ring factors)

 private:
  struct FromSource {
    std::vector<int32_t> slot;     // per destination: index into begin/size/latency, -1 = not computed
    std::vector<int32_t> begin, size;  // the route's edges in `edges`
    std::vector<double> latency;
    std::vector<hw::EdgeId> edges;
  };
  // The pair's route, computed on first use: (its source's arrays, its index there).
  std::pair<FromSource*, size_t> pair(int32_t src, int32_t dst);
  const hw::Topology& topo_;
  std::vector<FromSource> by_source_;
};

}  // namespace moesim::engine
