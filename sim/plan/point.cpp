#include "sim/plan/point.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "sim/report/writers.hpp"

namespace moesim::plan {
namespace {

using ojson = nlohmann::ordered_json;

// Tables of the planning commands themselves: not part of a point's scenario.
void strip_planning_tables(config::Document& doc) {
  for (const char* t : {"sweep", "plan", "variants", "compare"}) doc.root().erase(t);
}

std::string device_preset(config::Document& doc) {
  if (auto* c = doc.root()["cluster"]["device"].as_table()) {
    if (auto p = (*c)["preset"].value<std::string>()) return *p;
    if (auto p = (*c)["resolved_from"].value<std::string>()) return *p;
  }
  return "";
}

// summary.json's numbers and strings, nested keys joined by '.'; workload metrics by their own
// name (they carry their unit); per-device detail, findings and notes left out.
void flatten(const nlohmann::json& j, const std::string& prefix, ojson& out) {
  for (const auto& [k, v] : j.items()) {
    if (prefix.empty() && (k == "devices_detail" || k == "findings" || k == "notes" || k == "name")) continue;
    std::string key = prefix.empty() || prefix == "workload_metrics" ? k : prefix + "." + k;
    if (v.is_object()) flatten(v, prefix.empty() ? k : prefix + "." + k, out);
    else if (v.is_number() || v.is_string() || v.is_boolean()) out[key] = v;
  }
}

}  // namespace

BaseScenario load_base(const std::string& path, const std::vector<std::string>& sets) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IoError(fmt::format("cannot read {}", path));
  std::stringstream ss;
  ss << f.rdbuf();
  BaseScenario b{path, ss.str(), 0};
  auto doc = config::Document::parse(b.text, path);
  for (const auto& s : sets) doc.apply_set(s);
  b.seed = static_cast<uint64_t>(doc.root()["seed"].value_or<int64_t>(0));
  return b;
}

std::string fnv1a_hex(const std::string& text) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64 (Fowler, Noll, Vo; IETF draft-eastlake-fnv)
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("{:016x}", h);
}

PreparedPoint prepare_point(const BaseScenario& base, const std::vector<std::string>& sets, const Point& p) {
  PreparedPoint out;
  try {
    auto doc = config::Document::parse(base.text, base.path);
    for (const auto& s : sets) doc.apply_set(s);
    strip_planning_tables(doc);
    for (const auto& a : p.assignments) doc.apply_set(a.key + "=" + a.value.toml);
    if (p.repeat > 0) doc.apply_set(fmt::format("seed={}", base.seed + static_cast<uint64_t>(p.repeat)));
    out.device = device_preset(doc);
    out.resolved = doc.dump();
    config::Document shared = doc;  // same tree: read_scenario resolves presets into it
    out.scenario = scenario::read_scenario(std::move(doc));
    out.resolved = shared.dump();
  } catch (const std::exception& e) {
    out.error = e.what();
    out.scenario.reset();
  }
  out.key = fnv1a_hex(out.resolved);
  return out;
}

std::vector<std::string> static_memory_findings(scenario::Scenario& s) {
  std::vector<std::string> findings;
  const int64_t last = std::max<int64_t>(0, s.workload->steps() - 1);
  auto capacity = s.device_capacity();
  std::vector<double> worst(capacity.size(), 0.0);
  for (int64_t step : std::set<int64_t>{0, last}) {
    auto built = s.workload->build(step);
    auto peaks = workload::sequential_memory_peaks(built.graph, static_cast<int32_t>(capacity.size()));
    for (size_t d = 0; d < peaks.size(); ++d) worst[d] = std::max(worst[d], peaks[d].total);
  }
  for (size_t d = 0; d < worst.size(); ++d)
    if (worst[d] > capacity[d])
      findings.push_back(fmt::format("does not fit: device {} needs {} of {} (over by {})", d, format_bytes(Bytes(worst[d])),
                                     format_bytes(Bytes(capacity[d])), format_bytes(Bytes(worst[d] - capacity[d]))));
  return findings;
}

ojson run_point(PreparedPoint& p, const PointOptions& options) {
  ojson out;
  if (options.memory_precheck) {
    // A fresh read: building steps may advance stateful sources, and the run must start clean.
    auto probe = scenario::read_scenario(config::Document::parse(p.resolved, "<resolved point>"));
    auto findings = static_memory_findings(*probe);
    if (!findings.empty()) {
      out["status"] = "does_not_fit";
      std::string text = findings.front();
      if (findings.size() > 1) text += fmt::format(" (and {} more devices)", findings.size() - 1);
      out["error"] = text;
      out["metrics"] = ojson::object();
      return out;
    }
  }
  auto& s = *p.scenario;
  auto options_engine = report::read_engine(s);
  auto result = report::run_scenario(s, options_engine);
  auto summary = report::summarize(s, result);
  ojson metrics = ojson::object();
  flatten(nlohmann::json::parse(report::summary_json(summary)), "", metrics);
  double capacity = 0, headroom = 0;
  bool first = true;
  for (const auto& d : summary.device_metrics) {
    const double room = d.capacity_bytes - d.memory_peak_bytes;
    if (first || room < headroom) headroom = room, capacity = d.capacity_bytes;
    first = false;
  }
  metrics["memory_fits"] = result.memory.over_capacity.empty();
  metrics["memory_capacity_bytes"] = capacity;
  metrics["memory_headroom_bytes"] = headroom;
  out["status"] = "ok";
  out["error"] = "";
  out["metrics"] = metrics;
  return out;
}

}  // namespace moesim::plan
