#include "sim/plan/plan_spec.hpp"

#include <fmt/format.h>

namespace moesim::plan {
namespace {

// The dimension a metric's bound carries, from its name's unit suffix (output columns carry
// their unit in their name: ttft_s, step_time_s.mean, memory_peak.bytes).
std::optional<Dimension> dimension_of(const std::string& metric) {
  auto has = [&](std::string_view unit) {
    return metric.ends_with(unit) || metric.find(std::string(unit) + ".") != std::string::npos;
  };
  if (has("_per_s")) return std::nullopt;  // a rate (tokens_per_s): a plain number
  if (has("_s") || metric.ends_with(".seconds")) return Dimension::seconds;
  if (has("_bytes") || metric.ends_with(".bytes")) return Dimension::bytes;
  return std::nullopt;
}

std::optional<double> bound_value(const config::Table& t, std::string_view key, const std::string& metric) {
  if (!t.has(key)) return std::nullopt;
  if (auto dim = dimension_of(metric)) return t.quantity(key, *dim);
  try {
    return t.number(key);
  } catch (const ConfigError&) {
    t.fail(key, fmt::format("'{}' has no unit in its name (_s, _bytes): give a plain number", metric));
  }
}

void collect_bounds(const config::Table& t, const std::string& prefix, std::vector<Bound>& out, bool& memory) {
  for (const auto& k : t.keys()) {
    const std::string metric = prefix.empty() ? k : prefix + "." + k;
    if (metric == "memory_fits") {
      memory = t.boolean(k);
      continue;
    }
    auto sub = t.table_opt(k);
    if (!sub) t.fail(k, "an SLO is a table of bounds: { min = ..., max = ... }");
    if (!sub->has("min") && !sub->has("max")) {
      collect_bounds(*sub, metric, out, memory);  // a nested metric name (step_time_s.mean)
      continue;
    }
    Bound b{metric, bound_value(*sub, "min", metric), bound_value(*sub, "max", metric)};
    if (b.min && b.max && *b.min > *b.max) sub->fail("min", "min is above max");
    sub->finish();
    out.push_back(b);
  }
  t.finish();
}

}  // namespace

const std::vector<std::string>& objective_names() {
  static const std::vector<std::string> n = {"fewest_devices", "lowest_cost_per_hour", "lowest_cost_per_million_tokens",
                                             "highest_throughput_per_device"};
  return n;
}

bool needs_price(Objective o) { return o == Objective::lowest_cost_per_hour || o == Objective::lowest_cost_per_million_tokens; }

std::vector<Bound> read_bounds(const config::Table& slo, bool& require_memory_fit) {
  std::vector<Bound> out;
  collect_bounds(slo, "", out, require_memory_fit);
  return out;
}

PlanSpec read_plan_spec(const std::string& scenario, const std::vector<std::string>& sets) {
  auto doc = config::Document::load_file(scenario);
  for (const auto& s : sets) doc.apply_set(s);
  config::Table root = config::Table::root(doc);
  auto plan = root.table_opt("plan");
  if (!plan) throw ConfigError(Location{scenario}, "plan", "the scenario has no [plan] table");
  PlanSpec spec;
  const std::string objective = plan->choice_or("objective", objective_names(), "lowest_cost_per_hour");
  for (size_t i = 0; i < objective_names().size(); ++i)
    if (objective_names()[i] == objective) spec.objective = static_cast<Objective>(i);
  spec.throughput = plan->string_or("throughput", spec.throughput);
  spec.top = plan->integer_in_or("top", 1, 1000, spec.top);
  if (auto slo = plan->table_opt("slo")) spec.slos = read_bounds(*slo, spec.require_memory_fit);
  spec.prices = default_prices();
  if (auto p = plan->table_opt("prices")) override_prices(spec.prices, *p);
  plan->allow({"space"});
  plan->finish();
  return spec;
}

}  // namespace moesim::plan
