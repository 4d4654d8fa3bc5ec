#include "sim/report/resource_guard.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include "sim/core/resources.hpp"

namespace moesim::report {

namespace {

// Devices an All-to-All spans: the expert-parallel group ([parallel] ep) when the scenario names
// one, else the whole cluster.
double a2a_group(const scenario::Scenario& s) {
  const double p = s.topology->device_count();
  const auto* par = const_cast<scenario::Scenario&>(s).doc.root().get_as<toml::table>("parallel");
  if (!par) return p;
  const auto ep = (*par)["ep"].value<int64_t>();
  return ep && *ep > 0 && static_cast<double>(*ep) < p ? static_cast<double>(*ep) : p;
}

}  // namespace

double estimate_run_memory(const scenario::Scenario& s, const engine::EngineOptions& o, int64_t steps_kept) {
  const double p = s.topology->device_count(), g = a2a_group(s);
  const double moe_layers = static_cast<double>(s.model.moe_layer_count());
  const double a2a_per_step = moe_layers * (s.workload->is_inference() ? 2.0 : 4.0);
  // P / g groups, each a g x g matrix: P x g entries per All-to-All.
  double bytes = static_cast<double>(steps_kept) * a2a_per_step * p * g * 8.0;
  if (o.network == "exact") bytes += p * g * 256.0;
  return bytes + p * 4096.0;
}

void guard_run_memory(const scenario::Scenario& s, const engine::EngineOptions& o, int64_t steps_kept, double limit) {
  const double p = s.topology->device_count(), g = a2a_group(s);
  require_memory(estimate_run_memory(s, o, steps_kept), limit, fmt::format("scenario '{}'", s.name),
                 fmt::format("{} steps x {} All-to-Alls over {:.0f} devices in groups of {:.0f}: {:.0f} matrix entries of 8 B each{}",
                             steps_kept, s.model.moe_layer_count() * (s.workload->is_inference() ? 2 : 4), p, g, p * g,
                             o.network == "exact" ? fmt::format(", plus {:.0f} per-pair flows", p * g) : std::string()));
}

}  // namespace moesim::report
