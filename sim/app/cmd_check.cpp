// `moesim check <scenario.toml> [--set k=v]...`: loads and validates everything a run would (model,
// cluster, routing, sharding, workload, engine options), then checks that each device's memory
// holds the largest steps (static estimate: tasks applied one at a time). Prints findings such as
// "model does not fit: device 3 over by 12.4 GiB"; exit 0 when clean, 1 with findings, 2 on a
// configuration error (file:line:col), 3 when infeasible, 4 on I/O errors.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "sim/app/command.hpp"
#include "sim/core/resources.hpp"
#include "sim/report/pipeline.hpp"
#include "sim/report/resource_guard.hpp"

namespace moesim::app {
namespace {

struct CheckArgs {
  std::string scenario;
  std::vector<std::string> sets;
  std::string max_memory;
};

std::string breakdown(const std::vector<double>& by_category) {
  std::vector<std::string> parts;
  for (size_t c = 0; c < by_category.size(); ++c)
    if (by_category[c] > 0)
      parts.push_back(fmt::format("{} {}", graph::mem_category_name(static_cast<graph::MemCategory>(c)),
                                  format_bytes(Bytes(by_category[c]))));
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  return out;
}

std::vector<std::string> memory_findings(scenario::Scenario& s) {
  std::vector<std::string> findings;
  int64_t last = s.workload->steps() - 1;
  std::set<int64_t> steps = {0, std::max<int64_t>(0, last)};
  auto capacity = s.device_capacity();
  std::vector<workload::MemoryPeak> worst(capacity.size());
  for (int64_t step : steps) {
    auto built = s.workload->build(step);
    auto peaks = workload::sequential_memory_peaks(built.graph, static_cast<int32_t>(capacity.size()));
    for (size_t d = 0; d < peaks.size(); ++d)
      if (peaks[d].total > worst[d].total) worst[d] = peaks[d];
  }
  for (size_t d = 0; d < worst.size(); ++d)
    if (worst[d].total > capacity[d])
      findings.push_back(fmt::format("model does not fit: device {} over by {} (needs {} of {}: {})", d,
                                     format_bytes(Bytes(worst[d].total - capacity[d])), format_bytes(Bytes(worst[d].total)),
                                     format_bytes(Bytes(capacity[d])), breakdown(worst[d].by_category)));
  return findings;
}

void check(const CheckArgs& a) {
  auto s = scenario::load_scenario(a.scenario, a.sets);
  auto options = report::read_engine(*s);
  report::guard_run_memory(*s, options, 1, memory_limit(a.max_memory));  // graphs are built one at a time here
  auto findings = memory_findings(*s);
  for (const auto& n : s->routing->notes()) fmt::print("note: {}\n", n);
  for (const auto& f : findings) fmt::print("finding: {}\n", f);
  fmt::print("{}: {} — {} on {}, {} steps: {}\n", a.scenario, s->name, s->workload->is_inference() ? "inference" : "training",
             s->topology->describe(), s->workload->steps(), findings.empty() ? "ok" : fmt::format("{} finding(s)", findings.size()));
  if (!findings.empty()) throw ExitRequest{kFindings};
}

MOESIM_COMMAND(20, [](CLI::App& app) {
  auto* cmd = app.add_subcommand("check", "Validate a scenario (config errors, memory fit) without simulating it");
  auto a = std::make_shared<CheckArgs>();
  cmd->add_option("scenario", a->scenario, "Scenario TOML file")->required();
  cmd->add_option("--set", a->sets, "Override a value: --set workload.batch=32 (repeatable)")->take_all();
  cmd->add_option("--max-memory", a->max_memory, "Refuse scenarios estimated to need more memory (default: physical memory)");
  cmd->callback([a] { check(*a); });
});

}  // namespace
}  // namespace moesim::app
