#pragma once
// The [plan] table of a scenario (docs/planning.md):
//
//   [plan]
//   objective = "lowest_cost_per_hour"   # fewest_devices | lowest_cost_per_hour |
//                                        # lowest_cost_per_million_tokens | highest_throughput_per_device
//   throughput = "tokens_per_s"          # the summary metric the objectives and the Pareto front use
//   top = 5                              # how many best configurations to print
//   [plan.slo]                           # bounds on any summary.json metric (nested keys joined by '.')
//   tpot_s = { max = "50ms" }            # metrics ending in _s take times, in _bytes sizes (with units)
//   tokens_per_s = { min = 2000 }
//   memory_fits = true                   # default: every device must hold its peak
//   [plan.space]                         # the search space: sweep axes (sim/plan/axes.hpp)
//   [plan.prices]                        # USD per device-hour overrides: h100_sxm = "2.10USD/h"
#include <optional>
#include <string>
#include <vector>

#include "sim/plan/prices.hpp"

namespace moesim::plan {

enum class Objective { fewest_devices, lowest_cost_per_hour, lowest_cost_per_million_tokens, highest_throughput_per_device };
const std::vector<std::string>& objective_names();
bool needs_price(Objective o);

struct Bound {
  std::string metric;
  std::optional<double> min, max;  // SI (seconds, bytes) or the metric's own unit
};

struct PlanSpec {
  Objective objective = Objective::lowest_cost_per_hour;
  std::string throughput = "tokens_per_s";
  int64_t top = 5;
  std::vector<Bound> slos;
  bool require_memory_fit = true;
  PriceTable prices;
};

// Reads [plan] (the [plan.space] axes are read by read_sweep_setup). Errors name file, line, key.
PlanSpec read_plan_spec(const std::string& scenario, const std::vector<std::string>& sets);
// Bounds from a [plan.slo]-like table (exposed for tests).
std::vector<Bound> read_bounds(const config::Table& slo, bool& require_memory_fit);

}  // namespace moesim::plan
