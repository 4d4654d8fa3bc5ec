// `moesim check <scenario.toml> [--set k=v]... [--verbose]`: loads and validates everything a run
// would (model, cluster, layout, routing, sharding, workload, engine options), then checks that
// each device's memory holds the step. Training workloads with a layout answer from the model and
// the layout alone (models/workload/pipeline_training.hpp: fast at any scale); others replay the
// memory annotations of their first and last step graphs (tasks applied one at a time).
// Prints each device's peak, capacity and headroom with its breakdown by category, devices whose
// peak and headroom read the same aggregated ("devices 0-63: ...", the largest of each category
// over them), `--verbose` one line per device; then findings such as "model does not fit:
// devices 0-63 over by 350 GiB ...". Exit 0 when clean, 1 with findings, 2 on a configuration
// error (file:line:col), 3 when infeasible, 4 on I/O errors.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "models/workload/layout.hpp"
#include "sim/app/command.hpp"
#include "sim/core/resources.hpp"
#include "sim/report/pipeline.hpp"
#include "sim/report/resource_guard.hpp"

namespace moesim::app {
namespace {

struct CheckArgs {
  std::string scenario;
  std::vector<std::string> sets;
  bool verbose = false;
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

// "0-63, 128-191" from sorted device ids.
std::string ranges(const std::vector<int32_t>& ids) {
  std::string out;
  for (size_t i = 0; i < ids.size();) {
    size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) ++j;
    out += (out.empty() ? "" : ", ") + (i == j ? fmt::format("{}", ids[i]) : fmt::format("{}-{}", ids[i], ids[j]));
    i = j + 1;
  }
  return out;
}

std::vector<workload::MemoryPeak> memory_peaks(scenario::Scenario& s, size_t devices) {
  if (auto fast = s.workload->static_memory()) return *fast;
  int64_t last = s.workload->steps() - 1;
  std::set<int64_t> steps = {0, std::max<int64_t>(0, last)};
  std::vector<workload::MemoryPeak> worst(devices);
  for (int64_t step : steps) {
    auto built = s.workload->build(step);
    auto peaks = workload::sequential_memory_peaks(built.graph, static_cast<int32_t>(devices));
    for (size_t d = 0; d < peaks.size(); ++d)
      if (peaks[d].total > worst[d].total) worst[d] = peaks[d];
  }
  return worst;
}

// One device's line: its text without the breakdown (the grouping key) and its bytes by category.
struct DeviceLine {
  int32_t device = 0;
  std::string text;
  std::vector<double> by_category;
};

// Devices whose lines read the same (peak, capacity and headroom as printed, to 3 significant
// digits) are grouped unless verbose; a group's breakdown is the largest of each category over it
// (uniform routing leaves the All-to-All buffers a few KiB apart from device to device).
std::vector<std::string> aggregate(const std::vector<DeviceLine>& lines, bool verbose) {
  std::vector<std::string> out;
  if (verbose) {
    for (const auto& l : lines) out.push_back(fmt::format("device {}: {} ({})", l.device, l.text, breakdown(l.by_category)));
    return out;
  }
  std::vector<std::string> order;
  std::map<std::string, std::vector<int32_t>> devices;
  std::map<std::string, std::vector<double>> largest;
  for (const auto& l : lines) {
    if (!devices.count(l.text)) order.push_back(l.text), largest[l.text] = l.by_category;
    devices[l.text].push_back(l.device);
    auto& m = largest[l.text];
    for (size_t c = 0; c < m.size() && c < l.by_category.size(); ++c) m[c] = std::max(m[c], l.by_category[c]);
  }
  for (const auto& text : order) {
    const auto& ids = devices[text];
    out.push_back(fmt::format("{} {}: {} ({}{})", ids.size() == 1 ? "device" : "devices", ranges(ids), text,
                              ids.size() == 1 ? "" : "largest per device: ", breakdown(largest[text])));
  }
  return out;
}

void check(const CheckArgs& a) {
  auto s = scenario::load_scenario(a.scenario, a.sets);
  auto options = report::read_engine(*s);
  report::guard_run_memory(*s, options, 1, memory_limit(a.max_memory));  // when a step graph must be built
  auto capacity = s->device_capacity();
  auto peaks = memory_peaks(*s, capacity.size());
  std::vector<int32_t> stage_of(capacity.size(), 0);
  const auto* layout = s->layout.get();
  if (layout)
    for (size_t st = 0; st < layout->stage_devices.size(); ++st)
      for (int32_t d : layout->stage_devices[st]) stage_of[static_cast<size_t>(d)] = static_cast<int32_t>(st);
  const bool staged = layout && layout->pp > 1;
  std::vector<DeviceLine> memory, over;
  for (size_t d = 0; d < peaks.size() && d < capacity.size(); ++d) {
    const auto& p = peaks[d];
    const auto dev = static_cast<int32_t>(d);
    std::string stage = staged ? fmt::format("stage {}: ", stage_of[d]) : "";
    memory.push_back({dev,
                      fmt::format("{}peak {} of {}, headroom {}", stage, format_bytes(Bytes(p.total)), format_bytes(Bytes(capacity[d])),
                                  p.total > capacity[d] ? fmt::format("-{}", format_bytes(Bytes(p.total - capacity[d])))
                                                        : format_bytes(Bytes(capacity[d] - p.total))),
                      p.by_category});
    if (p.total > capacity[d])
      over.push_back({dev,
                      fmt::format("{}over by {} (needs {} of {})", stage, format_bytes(Bytes(p.total - capacity[d])),
                                  format_bytes(Bytes(p.total)), format_bytes(Bytes(capacity[d]))),
                      p.by_category});
  }
  for (const auto& line : aggregate(memory, a.verbose)) fmt::print("memory: {}\n", line);
  std::vector<std::string> findings;
  for (const auto& line : aggregate(over, a.verbose)) findings.push_back("model does not fit: " + line);
  for (const auto& n : s->routing->notes()) fmt::print("note: {}\n", n);
  for (const auto& f : findings) fmt::print("finding: {}\n", f);
  std::string layout_text;
  if (layout && !layout->plain())
    layout_text = fmt::format(", pp {} ({}), ZeRO {}/{} (non-expert/expert), recompute {}", layout->pp, layout->schedule->name(),
                              layout->zero_dense, layout->zero_expert, workload::recompute_name(layout->recompute));
  fmt::print("{}: {} — {} on {}{}, {} steps: {}\n", a.scenario, s->name, s->workload->is_inference() ? "inference" : "training",
             s->topology->describe(), layout_text, s->workload->steps(),
             findings.empty() ? "ok" : fmt::format("{} finding(s)", findings.size()));
  if (!findings.empty()) throw ExitRequest{kFindings};
}

MOESIM_COMMAND(20, [](CLI::App& app) {
  auto* cmd = app.add_subcommand("check", "Validate a scenario (config errors, memory fit) without simulating it");
  auto a = std::make_shared<CheckArgs>();
  cmd->add_option("scenario", a->scenario, "Scenario TOML file")->required();
  cmd->add_option("--set", a->sets, "Override a value: --set workload.batch=32 (repeatable)")->take_all();
  cmd->add_flag("--verbose", a->verbose, "One memory line per device (default: identical devices aggregated)");
  cmd->add_option("--max-memory", a->max_memory, "Refuse scenarios estimated to need more memory (default: physical memory)");
  cmd->callback([a] { check(*a); });
});

}  // namespace
}  // namespace moesim::app
