// Sequential replay of a StepGraph's memory annotations: a static estimate of each device's peak
// (the engine's timeline gives the real one, where overlapping tasks may raise it).
#include <algorithm>

#include "models/workload/workload.hpp"

namespace moesim::workload {

std::vector<MemoryPeak> sequential_memory_peaks(const graph::StepGraph& g, int32_t devices) {
  std::vector<std::vector<double>> now(static_cast<size_t>(devices), std::vector<double>(graph::kMemCategories, 0.0));
  std::vector<MemoryPeak> peak(static_cast<size_t>(devices));
  for (auto& p : peak) p.by_category.assign(graph::kMemCategories, 0.0);
  auto apply = [&](const graph::MemDelta& m) {
    if (m.device < 0 || m.device >= devices) return;
    auto& cur = now[m.device];
    cur[static_cast<size_t>(m.category)] += m.bytes.value;
    double total = 0;
    for (double v : cur) total += v;
    if (total > peak[m.device].total) peak[m.device] = MemoryPeak{total, cur};
  };
  for (const auto& m : g.resident) apply(m);
  for (const auto& t : g.tasks) {
    for (const auto& m : t.on_start) apply(m);
    for (const auto& m : t.on_end) apply(m);
  }
  return peak;
}

}  // namespace moesim::workload
