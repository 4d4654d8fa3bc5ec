#include "sim/plan/run_plots.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "sim/core/errors.hpp"

namespace moesim::plan {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) throw IoError(fmt::format("cannot read {} (run `moesim run` with its default [output] first)", p.string()));
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

json trace_events(const fs::path& dir) {
  json j = json::parse(slurp(dir / "timeline.json"), nullptr, false);
  if (j.is_discarded() || !j.contains("traceEvents")) throw IoError(fmt::format("{} is not a moesim timeline", (dir / "timeline.json").string()));
  return j["traceEvents"];
}

struct Event {
  int device = 0, stream = 0;
  double start = 0, end = 0;  // microseconds
  std::string name;
};

}  // namespace

PlotFiles plot_memory(const fs::path& dir, int device) {
  std::stringstream in(slurp(dir / "memory.csv"));
  std::string line;
  std::getline(in, line);  // device,category,time_s,bytes
  std::map<int, std::map<std::string, Series>> by_device;
  std::vector<std::string> categories;
  while (std::getline(in, line)) {
    std::stringstream ls(line);
    std::string d, cat, t, b;
    if (!std::getline(ls, d, ',') || !std::getline(ls, cat, ',') || !std::getline(ls, t, ',') || !std::getline(ls, b, ',')) continue;
    by_device[std::stoi(d)][cat].push_back({std::stod(t), std::stod(b) / (1024.0 * 1024 * 1024)});
    if (std::find(categories.begin(), categories.end(), cat) == categories.end()) categories.push_back(cat);
  }
  if (by_device.empty()) throw IoError(fmt::format("{} has no rows", (dir / "memory.csv").string()));
  if (device < 0) {
    double best = -1;
    for (const auto& [d, cats] : by_device) {
      auto it = cats.find("total");
      if (it == cats.end()) continue;
      for (const auto& [t, gib] : it->second)
        if (gib > best) best = gib, device = d;
    }
  }
  if (!by_device.count(device)) throw IoError(fmt::format("{} has no device {}", (dir / "memory.csv").string(), device));
  LinePlot p{fmt::format("{}: memory of device {} over time", dir.filename().string(), device), "time (s)", "memory (GiB)", false, true, {}};
  for (const auto& c : categories)
    if (by_device[device].count(c)) p.series.push_back({c, by_device[device][c]});
  return write_line_plot(dir, fmt::format("memory_device{}", device), p);
}

PlotFiles plot_expert_load(const fs::path& dir) {
  std::map<int, std::map<int, double>> seconds;  // layer -> device -> s
  int devices = 0;
  for (const auto& e : trace_events(dir)) {
    if (e.value("ph", "") != "X" || !e.contains("args")) continue;
    const std::string op = e["args"].value("op", "");
    if (!op.starts_with("expert_ffn")) continue;
    const int d = e.value("pid", 0), layer = e["args"].value("layer", 0);
    seconds[layer][d] += e.value("dur", 0.0) * 1e-6;
    devices = std::max(devices, d + 1);
  }
  if (seconds.empty()) throw IoError(fmt::format("{}: no routed-expert tasks in the timeline", (dir / "timeline.json").string()));
  HeatMap h{fmt::format("{}: routed-expert compute per device per MoE layer", dir.filename().string()), "device", "layer", "seconds (all steps)", {}, {}, {}};
  for (int d = 0; d < devices; ++d) h.col_labels.push_back(std::to_string(d));
  for (const auto& [layer, per] : seconds) {
    h.row_labels.push_back(std::to_string(layer));
    std::vector<double> row(static_cast<size_t>(devices), 0.0);
    for (const auto& [d, s] : per) row[static_cast<size_t>(d)] = s;
    h.cells.push_back(row);
  }
  return write_heat_map(dir, "expert_load", h);
}

PlotFiles plot_timeline(const fs::path& dir, int step) {
  std::vector<Event> events;
  std::map<int, std::string> stream_names;
  int last_step = -1;
  json all = trace_events(dir);
  for (const auto& e : all) {
    if (e.value("ph", "") == "M" && e.value("name", "") == "thread_name") stream_names[e.value("tid", 0)] = e["args"].value("name", "");
    if (e.value("ph", "") == "X" && e.contains("args")) last_step = std::max(last_step, e["args"].value("step", 0));
  }
  if (step < 0) step = last_step;
  for (const auto& e : all) {
    if (e.value("ph", "") != "X" || !e.contains("args") || e["args"].value("step", -1) != step) continue;
    const double ts = e.value("ts", 0.0);
    events.push_back({e.value("pid", 0), e.value("tid", 0), ts, ts + e.value("dur", 0.0), e.value("name", "")});
  }
  if (events.empty()) throw IoError(fmt::format("{}: no tasks in step {}", (dir / "timeline.json").string(), step));
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return std::tie(a.device, a.stream, a.start, a.name) < std::tie(b.device, b.stream, b.start, b.name);
  });
  // Critical path: from the last-ending task back through latest-finishing predecessors.
  std::vector<size_t> by_end(events.size());
  for (size_t i = 0; i < by_end.size(); ++i) by_end[i] = i;
  std::sort(by_end.begin(), by_end.end(), [&](size_t a, size_t b) { return events[a].end < events[b].end; });
  std::vector<bool> on_path(events.size(), false);
  const double eps = 1e-3;  // the trace keeps nanoseconds
  size_t cur = by_end.back();
  while (true) {
    on_path[cur] = true;
    // Tasks that ended by the time this one began; among those ending last, one on the same device.
    auto it = std::upper_bound(by_end.begin(), by_end.end(), events[cur].start + eps,
                               [&](double t, size_t i) { return t < events[i].end; });
    if (it == by_end.begin()) break;
    const double latest = events[*std::prev(it)].end;
    std::optional<size_t> best;
    for (auto j = it; j != by_end.begin();) {
      --j;
      if (events[*j].end < latest - eps) break;
      if (on_path[*j]) continue;
      if (!best || (events[*j].device == events[cur].device && events[*best].device != events[cur].device)) best = *j;
    }
    if (!best) break;
    cur = *best;
  }
  Gantt g{fmt::format("{}: step {} (critical path in red)", dir.filename().string(), step), "time (us)", {}};
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    g.bars.push_back({fmt::format("dev {} {}", e.device, stream_names.count(e.stream) ? stream_names[e.stream] : std::to_string(e.stream)), e.start, e.end, e.name,
                      on_path[i]});
  }
  return write_gantt(dir, fmt::format("timeline_step{}", step), g);
}

}  // namespace moesim::plan
