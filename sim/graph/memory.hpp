#pragma once
// Per-device memory over time, derived purely from the executed graphs and their Timeline.
//
// Rules: at the start of each step a device holds exactly that step's `resident` deltas (the
// builder states what exists before the step: weights, optimizer state, KV cache so far); each
// task applies its on_start deltas at its start time and its on_end deltas at its end time; what
// is still held at the step's end is dropped (the next step's `resident` says what persists).
// At equal times, frees (negative deltas) apply before allocations, and ends before starts.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/graph/step_graph.hpp"
#include "sim/graph/timeline.hpp"

namespace moesim::graph {

struct MemoryPoint {
  double time = 0.0;   // seconds of simulated time
  double bytes = 0.0;  // held from this time on
};

struct DeviceMemory {
  DeviceId device = 0;
  std::array<std::vector<MemoryPoint>, kMemCategories> by_category;  // step functions
  std::vector<MemoryPoint> total;
  double peak_bytes = 0.0;
  double peak_time = 0.0;
  int64_t peak_step = 0;
  std::array<double, kMemCategories> at_peak{};  // what it held at its peak, by category
};

struct MemoryFinding {
  DeviceId device = 0;
  double time = 0.0;       // when the device first went over
  double peak_bytes = 0.0;
  double capacity = 0.0;
  double over_bytes = 0.0; // peak - capacity
  std::string message;     // "device 3: 82.1 GiB at 1.2 ms > 80 GiB capacity (2.1 GiB over)"
};

struct MemoryReport {
  std::vector<DeviceMemory> devices;
  std::vector<MemoryFinding> over_capacity;
};

// Feed steps as they complete (e.g. from a StepSource, whose `so_far` holds the last step's
// timeline), then finish(). Steps must be added in order.
class MemoryTracker {
 public:
  explicit MemoryTracker(int32_t devices);
  void add_step(const StepGraph& g, const StepTimeline& t);
  // capacity[d] = usable bytes of device d (empty: no findings).
  MemoryReport finish(const std::vector<double>& capacity = {}) const;

 private:
  struct DeviceState {
    DeviceMemory mem;
    std::array<double, kMemCategories> now{};
    double first_over_time = -1.0;
  };
  void apply(DeviceId d, MemCategory c, double delta, double time, int64_t step);
  void reset_device(DeviceId d, double time);
  std::vector<DeviceState> state_;
};

// All steps at once.
MemoryReport derive_memory(const std::vector<StepGraph>& graphs, const Timeline& timeline,
                           int32_t devices, const std::vector<double>& capacity = {});

}  // namespace moesim::graph
