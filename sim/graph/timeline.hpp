#pragma once
// What the engine returns: when each task of each step ran, and what the network carried. Memory
// over time is derived from it (sim/graph/memory.hpp), purely, after the run.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sim/graph/step_graph.hpp"

namespace moesim::graph {

struct TaskTiming {
  TaskId task = 0;
  double start = 0.0;  // seconds of simulated time
  double end = 0.0;
};

struct StepTimeline {
  int64_t step = 0;
  double start = 0.0;
  double end = 0.0;
  std::vector<TaskTiming> tasks;  // same order as the StepGraph's tasks
  // Bytes each network link (topology edge index) carried during this step; links that carried
  // nothing are left out. Sorted by edge index.
  std::vector<std::pair<int64_t, double>> link_bytes;
};

struct LinkUsage {
  std::string link;         // e.g. "node0.gpu3->nvswitch0"
  double bytes = 0.0;       // carried over the run
  double busy_seconds = 0.0;
  double capacity = 0.0;    // bytes/s
};

struct Timeline {
  std::vector<StepTimeline> steps;
  std::vector<LinkUsage> links;
  double end = 0.0;
};

}  // namespace moesim::graph
