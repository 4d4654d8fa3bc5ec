// Memory over time from executed graphs (rules in memory.hpp).
#include "sim/graph/memory.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "sim/core/units.hpp"

namespace moesim::graph {
namespace {

struct Event {
  double time;
  int order;  // 0 = end-of-task free, 1 = end-of-task other, 2 = start free, 3 = start alloc
  MemDelta delta;
};

int order_of(bool at_end, double bytes) {
  const bool free = bytes < 0;
  return at_end ? (free ? 0 : 1) : (free ? 2 : 3);
}

double sum(const std::array<double, kMemCategories>& a) {
  double s = 0;
  for (double v : a) s += v;
  return s;
}

void push_point(std::vector<MemoryPoint>& curve, double time, double bytes) {
  if (!curve.empty() && curve.back().time == time) {
    curve.back().bytes = bytes;
    return;
  }
  if (!curve.empty() && curve.back().bytes == bytes) return;
  curve.push_back({time, bytes});
}

}  // namespace

MemoryTracker::MemoryTracker(int32_t devices) : state_(static_cast<size_t>(std::max(devices, 0))) {
  for (size_t d = 0; d < state_.size(); ++d) state_[d].mem.device = static_cast<DeviceId>(d);
}

void MemoryTracker::reset_device(DeviceId d, double time) {
  auto& s = state_[static_cast<size_t>(d)];
  s.now.fill(0.0);
  for (auto& c : s.mem.by_category) push_point(c, time, 0.0);
  push_point(s.mem.total, time, 0.0);
}

void MemoryTracker::apply(DeviceId d, MemCategory c, double delta, double time, int64_t step) {
  if (d < 0 || static_cast<size_t>(d) >= state_.size())
    throw std::invalid_argument("memory delta on device " + std::to_string(d) + " of " +
                                std::to_string(state_.size()));
  auto& s = state_[static_cast<size_t>(d)];
  const auto ci = static_cast<size_t>(c);
  s.now[ci] += delta;
  push_point(s.mem.by_category[ci], time, s.now[ci]);
  const double total = sum(s.now);
  push_point(s.mem.total, time, total);
  if (total > s.mem.peak_bytes) {
    s.mem.peak_bytes = total;
    s.mem.peak_time = time;
    s.mem.peak_step = step;
    s.mem.at_peak = s.now;
  }
}

void MemoryTracker::add_step(const StepGraph& g, const StepTimeline& t) {
  if (t.tasks.size() != g.tasks.size())
    throw std::invalid_argument("timeline of step " + std::to_string(t.step) + " has " +
                                std::to_string(t.tasks.size()) + " tasks, graph has " + std::to_string(g.tasks.size()));
  for (size_t d = 0; d < state_.size(); ++d) reset_device(static_cast<DeviceId>(d), t.start);
  for (const auto& r : g.resident) apply(r.device, r.category, r.bytes.value, t.start, g.step);
  std::vector<Event> events;
  for (size_t i = 0; i < g.tasks.size(); ++i) {
    for (const auto& m : g.tasks[i].on_start) events.push_back({t.tasks[i].start, order_of(false, m.bytes.value), m});
    for (const auto& m : g.tasks[i].on_end) events.push_back({t.tasks[i].end, order_of(true, m.bytes.value), m});
  }
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return a.time != b.time ? a.time < b.time : a.order < b.order;
  });
  for (const auto& e : events) apply(e.delta.device, e.delta.category, e.delta.bytes.value, e.time, g.step);
}

MemoryReport MemoryTracker::finish(const std::vector<double>& capacity) const {
  MemoryReport r;
  for (const auto& s : state_) r.devices.push_back(s.mem);
  for (size_t d = 0; d < capacity.size() && d < state_.size(); ++d) {
    const auto& m = state_[d].mem;
    if (m.peak_bytes <= capacity[d]) continue;
    MemoryFinding f;
    f.device = static_cast<DeviceId>(d);
    f.peak_bytes = m.peak_bytes;
    f.capacity = capacity[d];
    f.over_bytes = m.peak_bytes - capacity[d];
    for (const auto& p : m.total)
      if (p.bytes > capacity[d]) {
        f.time = p.time;
        break;
      }
    f.message = "device " + std::to_string(d) + ": " + format_bytes(Bytes(f.peak_bytes)) + " at " +
                format_seconds(Seconds(m.peak_time)) + " > " + format_bytes(Bytes(f.capacity)) + " capacity (" +
                format_bytes(Bytes(f.over_bytes)) + " over, first at " + format_seconds(Seconds(f.time)) + ")";
    r.over_capacity.push_back(std::move(f));
  }
  return r;
}

MemoryReport derive_memory(const std::vector<StepGraph>& graphs, const Timeline& timeline, int32_t devices,
                           const std::vector<double>& capacity) {
  if (graphs.size() != timeline.steps.size())
    throw std::invalid_argument("derive_memory: " + std::to_string(graphs.size()) + " graphs but " +
                                std::to_string(timeline.steps.size()) + " timed steps");
  MemoryTracker tracker(devices);
  for (size_t i = 0; i < graphs.size(); ++i) tracker.add_step(graphs[i], timeline.steps[i]);
  return tracker.finish(capacity);
}

}  // namespace moesim::graph
