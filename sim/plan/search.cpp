#include "sim/plan/search.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace moesim::plan {
namespace {

std::string show(double v) { return fmt::format("{:.6g}", v); }

void check_bounds(Candidate& c, const PlanSpec& spec) {
  for (const auto& b : spec.slos) {
    auto v = metric(c.row, b.metric);
    if (!v) {
      c.reasons.push_back(fmt::format("{} not reported by this run", b.metric));
      continue;
    }
    if (b.max && *v > *b.max) c.reasons.push_back(fmt::format("{} = {} > max {}", b.metric, show(*v), show(*b.max)));
    if (b.min && *v < *b.min) c.reasons.push_back(fmt::format("{} = {} < min {}", b.metric, show(*v), show(*b.min)));
  }
  if (spec.require_memory_fit) {
    auto fits = metric(c.row, "memory_fits");
    if (fits && *fits == 0) c.reasons.push_back("memory over capacity during the simulated run");
  }
}

double objective_value(const Candidate& c, const PlanSpec& spec) {
  switch (spec.objective) {
    case Objective::fewest_devices: return c.devices;
    case Objective::lowest_cost_per_hour: return c.cost_per_hour;
    case Objective::lowest_cost_per_million_tokens: return c.throughput > 0 ? c.cost_per_hour / (c.throughput * 3600.0) * 1e6 : INFINITY;
    case Objective::highest_throughput_per_device: return c.devices > 0 ? -c.throughput / c.devices : INFINITY;
  }
  return INFINITY;
}

}  // namespace

std::optional<double> metric(const Row& row, const std::string& name) {
  if (!row.contains("metrics") || !row["metrics"].contains(name)) return std::nullopt;
  const Row& v = row["metrics"][name];
  if (v.is_boolean()) return v.get<bool>() ? 1.0 : 0.0;
  if (v.is_number()) return v.get<double>();
  return std::nullopt;
}

std::vector<std::string> unreported_metrics(const std::vector<Row>& rows, const PlanSpec& spec, std::vector<std::string>& reported) {
  std::set<std::string> names;
  bool any_ok = false;
  for (const auto& r : rows) {
    if (r.value("status", "") != "ok" || !r.contains("metrics")) continue;
    any_ok = true;
    for (const auto& [k, v] : r["metrics"].items())
      if (v.is_number() || v.is_boolean()) names.insert(k);
  }
  reported.assign(names.begin(), names.end());
  std::vector<std::string> missing;
  if (!any_ok) return missing;
  std::vector<std::string> wanted{spec.throughput};
  for (const auto& b : spec.slos) wanted.push_back(b.metric);
  for (const auto& m : wanted)
    if (!names.count(m) && std::find(missing.begin(), missing.end(), m) == missing.end()) missing.push_back(m);
  return missing;
}

std::vector<Candidate> evaluate(const std::vector<Row>& rows, const PlanSpec& spec) {
  std::vector<Candidate> out;
  for (const auto& r : rows) {
    Candidate c;
    c.row = r;
    const std::string status = r.value("status", "");
    if (status != "ok") {
      c.reasons.push_back(status == "does_not_fit" ? r.value("error", "") : fmt::format("{}: {}", status, r.value("error", "")));
    } else {
      c.devices = metric(r, "devices").value_or(0);
      c.throughput = metric(r, spec.throughput).value_or(0);
      if (!metric(r, spec.throughput)) c.reasons.push_back(fmt::format("{} not reported by this run", spec.throughput));
      const std::string device = r.value("device", "");
      if (auto p = spec.prices.find(device); p != spec.prices.end()) c.cost_per_hour = c.devices * p->second.usd_per_hour;
      else if (needs_price(spec.objective))
        c.reasons.push_back(fmt::format("no price for device '{}' (add [plan.prices] {} = \"<x>USD/h\")", device.empty() ? "inline" : device,
                                        device.empty() ? "<preset>" : device));
      check_bounds(c, spec);
    }
    c.feasible = c.reasons.empty();
    c.objective = c.feasible ? objective_value(c, spec) : INFINITY;
    Row& m = c.row["metrics"];
    if (c.cost_per_hour >= 0) {
      m["cost_usd_per_hour"] = c.cost_per_hour;
      if (c.throughput > 0) m["cost_usd_per_million_tokens"] = c.cost_per_hour / (c.throughput * 3600.0) * 1e6;
    }
    if (c.devices > 0 && status == "ok") m["throughput_per_device"] = c.throughput / c.devices;
    c.row["feasible"] = c.feasible;
    std::string why;
    for (size_t i = 0; i < c.reasons.size(); ++i) why += (i ? "; " : "") + c.reasons[i];
    c.row["rejected"] = why;
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<const Candidate*> ranked(const std::vector<Candidate>& all) {
  std::vector<const Candidate*> out;
  for (const auto& c : all)
    if (c.feasible) out.push_back(&c);
  std::stable_sort(out.begin(), out.end(), [](const Candidate* a, const Candidate* b) {
    if (a->objective != b->objective) return a->objective < b->objective;
    if (a->throughput != b->throughput) return a->throughput > b->throughput;
    return a->row["point"].get<int64_t>() < b->row["point"].get<int64_t>();
  });
  return out;
}

std::vector<const Candidate*> pareto_front(const std::vector<Candidate>& all) {
  std::vector<const Candidate*> priced;
  for (const auto& c : all)
    if (c.feasible && c.cost_per_hour >= 0) priced.push_back(&c);
  std::stable_sort(priced.begin(), priced.end(), [](const Candidate* a, const Candidate* b) {
    if (a->cost_per_hour != b->cost_per_hour) return a->cost_per_hour < b->cost_per_hour;
    return a->throughput > b->throughput;
  });
  std::vector<const Candidate*> front;
  double best = -INFINITY;
  for (const Candidate* c : priced)
    if (c->throughput > best) {
      front.push_back(c);
      best = c->throughput;
    }
  return front;
}

}  // namespace moesim::plan
