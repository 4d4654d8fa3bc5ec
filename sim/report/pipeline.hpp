#pragma once
// scenario -> StepGraphs -> engine -> Timeline -> memory: one run of a Scenario, everything the
// reports need kept in memory.
#include <vector>

#include "sim/engine/engine.hpp"
#include "sim/graph/memory.hpp"
#include "sim/scenario/scenario.hpp"

namespace moesim::report {

struct RunResult {
  std::vector<graph::StepGraph> graphs;
  std::vector<workload::StepInfo> steps;
  graph::Timeline timeline;
  graph::MemoryReport memory;
};

// Reads the [engine] table (finish()ed): the last part of a scenario the scenario layer leaves.
engine::EngineOptions read_engine(scenario::Scenario& s);
// Builds every step of the workload, runs them on the engine (one per process) and derives memory.
RunResult run_scenario(scenario::Scenario& s, const engine::EngineOptions& options);

}  // namespace moesim::report
