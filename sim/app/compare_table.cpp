#include "sim/app/compare_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

#include "sim/graph/step_graph.hpp"

namespace moesim::app {
namespace {

using nlohmann::json;

constexpr double kGiB = double(1ull << 30);

// One numeric column of the table: header (with its unit), digits after the point, value.
struct Column {
  std::string header;
  int precision = 2;
  std::function<std::optional<double>(const json&)> value;  // nullopt: "n/a"
  std::string suffix;  // printed right after the number (e.g. "x")
};

bool all_inference(const std::vector<json>& rows) {
  return std::all_of(rows.begin(), rows.end(), [](const json& r) { return r.value("inference", false); });
}

double num(const json& r, const char* key) { return r.value(key, 0.0); }

std::optional<double> non_negative(double v) {
  if (v < 0) return std::nullopt;
  return v;
}

std::vector<std::string> memory_categories() {
  std::vector<std::string> out;
  for (int c = 0; c < graph::kMemCategories; ++c)
    out.emplace_back(graph::mem_category_name(static_cast<graph::MemCategory>(c)));
  return out;
}

double at_peak(const json& r, const std::string& category) {
  if (!r.contains("memory_at_peak")) return 0.0;
  return r["memory_at_peak"].value(category, 0.0);
}

// Categories non-zero in at least one row (training tables have no kv/expert cache).
std::vector<std::string> used_categories(const std::vector<json>& rows) {
  std::vector<std::string> out;
  for (const auto& c : memory_categories())
    if (std::any_of(rows.begin(), rows.end(), [&](const json& r) { return at_peak(r, c) > 0; })) out.push_back(c);
  return out;
}

// Workload metrics present in every row, in name order.
std::vector<std::string> common_workload_metrics(const std::vector<json>& rows) {
  std::vector<std::string> out;
  if (rows.empty()) return out;
  // Not value("workload_metrics", json::object()): nlohmann-json 3.11.2's value() with a json
  // default returns a dangling reference (invalid reads under valgrind, a crash in some builds).
  json first = json::object();
  if (rows.front().contains("workload_metrics")) first = rows.front()["workload_metrics"];
  for (const auto& [k, v] : first.items()) {
    bool everywhere = std::all_of(rows.begin(), rows.end(), [&](const json& r) {
      return r.contains("workload_metrics") && r["workload_metrics"].contains(k);
    });
    if (everywhere) out.push_back(k);
  }
  return out;
}

bool ends_with(const std::string& s, std::string_view tail) { return s.size() >= tail.size() && s.ends_with(tail); }

// A workload metric's column: shares in %, byte counts in GB, everything else fixed-point as named.
Column metric_column(const std::string& k) {
  auto get = [k](double scale) {
    return [k, scale](const json& r) -> std::optional<double> { return scale * r["workload_metrics"][k].get<double>(); };
  };
  if (ends_with(k, "_rate") || ends_with(k, "_accuracy") || ends_with(k, "_share") || ends_with(k, "_fraction"))
    return {k + " %", 1, get(100.0), ""};
  if (k.find("bytes") != std::string::npos) return {k + " GB", 3, get(1e-9), ""};
  if (ends_with(k, "_per_s")) return {k, 1, get(1.0), ""};
  return {k, 4, get(1.0), ""};
}

std::vector<Column> headline_columns(const std::vector<json>& rows, const json& base) {
  auto ms = [](const char* key) { return [key](const json& r) { return non_negative(num(r, key)).transform([](double v) { return 1e3 * v; }); }; };
  auto speedup = [&base](const json& r) { return compare_speedup(r, base); };
  std::vector<Column> c;
  if (all_inference(rows)) {
    c.push_back({"TTFT ms", 2, ms("ttft_s"), ""});
    c.push_back({"TPOT ms", 3, ms("tpot_s"), ""});
    c.push_back({"tokens/s", 1, [](const json& r) -> std::optional<double> { return num(r, "tokens_per_s"); }, ""});
    c.push_back({"speedup", 2, speedup, "x"});
    c.push_back({"a2a ms/step", 3, ms("a2a_s"), ""});
  } else {
    c.push_back({"iter ms", 2, ms("iteration_s"), ""});
    c.push_back({"speedup", 2, speedup, "x"});
    c.push_back({"a2a ms", 2, ms("a2a_s"), ""});
    c.push_back({"sparse ms", 2, ms("sparse_collective_s"), ""});
    c.push_back({"migr ms", 2, ms("migration_s"), ""});
  }
  c.push_back({"inter-node GB", 3,
               [](const json& r) -> std::optional<double> { return (num(r, "inter_node_a2a_bytes") + num(r, "inter_node_param_bytes")) / 1e9; }, ""});
  c.push_back({"peak GiB", 2, [](const json& r) -> std::optional<double> { return num(r, "memory_peak_bytes") / kGiB; }, ""});
  return c;
}

std::string cell(const Column& c, const json& r) {
  auto v = c.value(r);
  return v ? fmt::format("{:.{}f}{}", *v, c.precision, c.suffix) : std::string("n/a");
}

std::string csv_number(std::optional<double> v) { return v ? fmt::format("{:.6g}", *v) : std::string(); }

}  // namespace

std::optional<double> compare_speedup(const json& row, const json& base) {
  if (row.value("devices", 0) != base.value("devices", 0)) return std::nullopt;
  if (row.value("inference", false) && base.value("inference", false)) {
    const double b = num(base, "tokens_per_s");
    return b > 0 ? std::optional<double>(num(row, "tokens_per_s") / b) : std::nullopt;
  }
  const double t = num(row, "iteration_s");
  return t > 0 ? std::optional<double>(num(base, "iteration_s") / t) : std::nullopt;
}

std::string compare_table(const std::vector<json>& rows, const json& base) {
  std::vector<std::vector<Column>> groups = {headline_columns(rows, base), {}, {}};
  for (const auto& c : used_categories(rows))
    groups[1].push_back({c + " GiB", 2, [c](const json& r) -> std::optional<double> { return at_peak(r, c) / kGiB; }, ""});
  for (const auto& k : common_workload_metrics(rows)) groups[2].push_back(metric_column(k));
  size_t name_w = 7, shard_w = 8;
  for (const auto& r : rows) {
    name_w = std::max(name_w, r["variant"].get<std::string>().size());
    shard_w = std::max(shard_w, r["sharding"].get<std::string>().size());
  }
  auto width = [&](const Column& c) {
    size_t w = c.header.size();
    for (const auto& r : rows) w = std::max(w, cell(c, r).size());
    return w;
  };
  auto line = [&](const std::string& name, const std::string& shard, const std::string& devs,
                  const std::function<std::string(const Column&)>& text) {
    std::string out = fmt::format("{:<{}}  {:<{}}  {:>7}", name, name_w, shard, shard_w, devs);
    for (const auto& g : groups) {
      if (g.empty()) continue;
      out += "  |";
      for (const auto& c : g) out += fmt::format("  {:>{}}", text(c), width(c));
    }
    return out + "\n";
  };
  std::string out = line("variant", "sharding", "devices", [](const Column& c) { return c.header; });
  for (const auto& r : rows)
    out += line(r["variant"].get<std::string>(), r["sharding"].get<std::string>(), fmt::format("{}", r.value("devices", 0)),
                [&r](const Column& c) { return cell(c, r); });
  return out;
}

std::vector<std::string> compare_footnotes(const std::vector<json>& rows, const json& base) {
  std::vector<std::string> out;
  const bool inference = all_inference(rows);
  out.push_back(fmt::format("baseline: {}; {}", base["variant"].get<std::string>(),
                            inference ? "speedup = tokens/s over the baseline's; a2a = wall-clock time per step with an All-to-All in flight"
                                      : "iteration time excludes iteration 0 when there are more; a2a = wall-clock time with an All-to-All in flight"));
  std::vector<std::string> other;
  for (const auto& r : rows)
    if (!compare_speedup(r, base) && r.value("devices", 0) != base.value("devices", 0))
      other.push_back(r["variant"].get<std::string>());
  if (!other.empty()) {
    std::string names;
    for (const auto& n : other) names += (names.empty() ? "" : ", ") + n;
    out.push_back(fmt::format("speedup n/a for {}: a different number of devices than the baseline ({}), so their times do "
                              "not compare at equal hardware; compare tokens/s per device instead",
                              names, base.value("devices", 0)));
  }
  return out;
}

std::string compare_csv(const std::vector<json>& rows, const json& base) {
  const auto metrics = common_workload_metrics(rows);
  const auto categories = memory_categories();
  std::string out =
      "variant,sharding,devices,iteration_s,speedup,a2a_s,sparse_collective_s,migration_s,inter_node_a2a_bytes,"
      "inter_node_param_bytes,tokens_per_s,ttft_s,tpot_s,prefill_tokens_per_s,memory_peak_bytes,memory_peak_device";
  for (const auto& c : categories) out += ",peak_" + c + "_bytes";
  for (const auto& k : metrics) out += "," + k;
  out += "\n";
  for (const auto& r : rows) {
    out += fmt::format("{},{},{},{:.6g},{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{},{},{},{:.6g},{}", r["variant"].get<std::string>(),
                       r["sharding"].get<std::string>(), r.value("devices", 0), num(r, "iteration_s"),
                       csv_number(compare_speedup(r, base)), num(r, "a2a_s"), num(r, "sparse_collective_s"), num(r, "migration_s"),
                       num(r, "inter_node_a2a_bytes"), num(r, "inter_node_param_bytes"), num(r, "tokens_per_s"),
                       csv_number(non_negative(r.value("ttft_s", -1.0))), csv_number(non_negative(r.value("tpot_s", -1.0))),
                       csv_number(non_negative(r.value("prefill_tokens_per_s", -1.0))), num(r, "memory_peak_bytes"),
                       r.value("memory_peak_device", 0));
    for (const auto& c : categories) out += fmt::format(",{:.6g}", at_peak(r, c));
    for (const auto& k : metrics) out += fmt::format(",{:.6g}", r["workload_metrics"][k].get<double>());
    out += "\n";
  }
  return out;
}

}  // namespace moesim::app
