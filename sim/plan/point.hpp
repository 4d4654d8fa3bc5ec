#pragma once
// One point of a sweep: the base scenario with the point's assignments applied, resolved (presets
// merged) and keyed by a hash of that resolved text; and what a forked child computes for it.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "sim/plan/axes.hpp"
#include "sim/scenario/scenario.hpp"

namespace moesim::plan {

// The scenario file as read once: its text (re-parsed per point, so errors keep file:line:col).
struct BaseScenario {
  std::string path;
  std::string text;
  uint64_t seed = 0;  // the file's seed; repeat r runs seed + r
};
BaseScenario load_base(const std::string& path, const std::vector<std::string>& sets);

struct PreparedPoint {
  std::string key;          // 16 hex digits: FNV-1a 64 of the resolved scenario
  std::string resolved;     // the resolved scenario text (or the unresolved one when invalid)
  std::string device;       // device preset name ("" when given inline)
  std::string error;        // non-empty: the point's scenario is invalid (config/infeasible)
  std::unique_ptr<scenario::Scenario> scenario;  // set when valid
};

// Applies the point (and the global --set overrides, before it) to the base and reads it.
// Never throws for a bad point: the error text goes into `error`.
PreparedPoint prepare_point(const BaseScenario& base, const std::vector<std::string>& sets, const Point& p);

std::string fnv1a_hex(const std::string& text);

struct PointOptions {
  bool memory_precheck = false;  // plan: skip the simulation when the static estimate does not fit
};

// Runs the point's simulation (call it in a forked child: one SimGrid engine per process) and
// returns {"status": "ok" | "does_not_fit", "error": "...", "metrics": {flattened summary.json
// numbers and strings, plus memory_fits, memory_capacity_bytes, memory_headroom_bytes}}.
nlohmann::ordered_json run_point(PreparedPoint& p, const PointOptions& options);

// The static memory estimate of `moesim check` (steps 0 and last, tasks one at a time): the
// finding text per device over capacity; empty when every device fits.
std::vector<std::string> static_memory_findings(scenario::Scenario& s);

}  // namespace moesim::plan
