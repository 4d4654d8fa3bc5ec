#pragma once
// Refuses a run whose graphs would not fit in memory, before building them (docs/robustness.md).
#include "sim/engine/engine.hpp"
#include "sim/scenario/scenario.hpp"

namespace moesim::report {

// A coarse estimate of the dominant memory of simulating `steps_kept` steps of `s` (RunResult
// keeps every step's graph): each All-to-All holds a g x g byte matrix per group of g devices
// (g = [parallel] ep, else all P devices; 8 B per entry; dispatch and combine per MoE layer, doubled
// for a training step's backward pass); network = "exact" adds one SimGrid flow per pair (~256 B)
// for the collective in flight; plus ~4 KiB per device (topology, routes, per-device state).
// Tokens and experts are not counted: they scale with P far less.
double estimate_run_memory(const scenario::Scenario& s, const engine::EngineOptions& o, int64_t steps_kept);
// Throws InfeasibleError with the estimate when it exceeds `limit` (bytes; 0 = none).
void guard_run_memory(const scenario::Scenario& s, const engine::EngineOptions& o, int64_t steps_kept, double limit);

}  // namespace moesim::report
