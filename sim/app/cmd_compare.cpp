// `moesim compare <a.toml> [b.toml ...] [--set k=v]... [--baseline NAME] [--csv FILE] [--out DIR]
// [--full]`: runs several scenarios, or one scenario's [[variants]] (each `name` + `set` = a list
// of "key=value" overrides; [compare] baseline = "<variant>"), each in its own forked process (one
// SimGrid engine per process), and prints them side by side (compare_table.hpp): training,
// iteration time and speedup against the baseline, All-to-All time (wall clock: concurrent
// groups once), sparse-collective (spAG/spRS) and migration time; inference and offload, TTFT,
// TPOT and tokens/s; then inter-node bytes, per-device memory peak and its breakdown. Writes the table as CSV (compare.csv in
// <out>/<name>-compare/, or --csv). Steady-state columns leave out iteration 0 when there are
// more (FSSDP/relocation have no load history there). The workload's own run metrics
// (IWorkload::run_metrics, e.g. offload: cache hit rate, prefetch accuracy, bytes read, I/O stall)
// are appended as columns when every variant reports them (a metric missing in one variant is left out).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "sim/app/command.hpp"
#include "sim/app/compare_table.hpp"
#include "sim/app/progress.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/resources.hpp"
#include "sim/report/atomic_output.hpp"
#include "sim/report/resource_guard.hpp"
#include "sim/report/writers.hpp"

namespace moesim::app {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct CompareArgs {
  std::vector<std::string> scenarios;
  std::vector<std::string> sets;
  std::string baseline;
  std::string csv;
  std::string out;
  bool full = false;
  std::string max_memory;
};

struct Variant {
  std::string name;
  std::string file;
  std::vector<std::string> sets;  // global --set first, then the variant's
};

// Loads a scenario document without its [[variants]] / [compare] tables, with `sets` applied.
config::Document variant_document(const Variant& v) {
  auto doc = config::Document::load_file(v.file);
  doc.root().erase("variants");
  doc.root().erase("compare");
  for (const auto& s : v.sets) doc.apply_set(s);
  doc.apply_set(fmt::format("name=\"{}\"", v.name));
  return doc;
}

// Variant and compare names become folder names under --out: letters, digits, '.', '_', '-', '+',
// not starting with '.', so that no name can leave --out or inject into the TOML it is set in.
void check_folder_name(const config::Table& t, std::string_view key, const std::string& name) {
  bool ok = !name.empty() && name.size() <= 200 && name.front() != '.';
  for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '+');
  if (!ok) t.fail(key, fmt::format("'{}' is not a valid name: use letters, digits, '.', '_', '-', '+' (not starting with '.'); it names a folder under --out", name));
}

std::vector<Variant> expand(const CompareArgs& a, std::string& baseline) {
  std::vector<Variant> out;
  for (const auto& file : a.scenarios) {
    auto doc = config::Document::load_file(file);
    config::Table root = config::Table::root(doc);
    std::string stem = root.string_or("name", fs::path(file).stem().string());
    if (auto c = root.table_opt("compare")) {
      if (baseline.empty()) baseline = c->string_or("baseline", "");
      c->finish();
    }
    auto variants = root.tables("variants");
    if (variants.empty()) out.push_back({stem, file, a.sets});
    for (const auto& t : variants) {
      Variant v{t.string("name"), file, a.sets};
      check_folder_name(t, "name", v.name);
      for (const auto& s : t.strings_or("set", {})) v.sets.push_back(s);
      t.finish();
      out.push_back(std::move(v));
    }
  }
  for (size_t i = 0; i < out.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (out[i].name == out[j].name) throw ConfigError(Location{out[i].file}, "variants.name", fmt::format("two variants are named '{}'", out[i].name));
  return out;
}

bool is_parameter_op(const std::string& op) { return op == "spag" || op == "sprs"; }

// Bytes a collective moves between nodes (send_recv/alltoallv: exact from the matrix; rooted:
// per member off the root's node; ring kinds: the ring edges that cross nodes, as the engine runs them).
double inter_node(const graph::CollectiveWork& c, const std::vector<int32_t>& node_of) {
  const size_t n = c.group.size();
  double s = 0;
  auto across = [&](size_t i, size_t j) { return node_of[c.group[i]] != node_of[c.group[j]]; };
  switch (c.kind) {
    case graph::CollectiveKind::alltoallv:
    case graph::CollectiveKind::send_recv:
      for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j < n; ++j) s += across(i, j) ? c.matrix[i * n + j] : 0;
      return s;
    case graph::CollectiveKind::broadcast:
    case graph::CollectiveKind::reduce:
      for (int32_t d : c.group) s += node_of[d] != node_of[c.root] ? c.bytes.value : 0;
      return s;
    default: {
      // The engine's default ring (docs/engine.md): member i sends to i+1; only edges between nodes count.
      double per_edge = c.kind == graph::CollectiveKind::all_gather       ? (n - 1) * c.bytes.value
                        : c.kind == graph::CollectiveKind::reduce_scatter ? (n - 1) * c.bytes.value / n
                                                                          : 2 * (n - 1) * c.bytes.value / n;
      for (size_t i = 0; i < n; ++i) s += across(i, (i + 1) % n) ? per_edge : 0;
      return s;
    }
  }
}

// One variant's row, computed in the child from its run.
json measure(scenario::Scenario& s, const report::RunResult& r, const report::Summary& sum) {
  const auto& node_of = s.context.cluster.node_of;
  const size_t steps = r.graphs.size();
  const size_t first = steps > 1 ? 1 : 0;
  double iter = 0, a2a = 0, sparse = 0, migration = 0, a2a_inter = 0, param_inter = 0;
  for (size_t i = first; i < steps; ++i) {
    const auto& st = r.timeline.steps[i];
    iter += st.end - st.start;
    a2a_inter += r.steps[i].inter_node_bytes;
    a2a += report::a2a_wall_seconds(r.graphs[i], st);  // concurrent groups (TP ranks, replicas) once
    for (size_t j = 0; j < r.graphs[i].tasks.size(); ++j) {
      const auto& t = r.graphs[i].tasks[j];
      const double span = st.tasks[j].end - st.tasks[j].start;
      bool param = is_parameter_op(t.op), migr = t.op == "expert_migration";
      if (param) sparse += span;
      if (migr) migration += span;
      if (param || migr) param_inter += inter_node(std::get<graph::CollectiveWork>(t.work), node_of);
    }
  }
  const double n = static_cast<double>(steps - first);
  json row;
  row["variant"] = s.name;
  row["sharding"] = s.doc.root()["parallel"]["kind"].value_or(std::string("ep"));
  row["devices"] = sum.devices;
  row["steps"] = steps;
  row["iteration_s"] = iter / n;
  row["iteration_all_s"] = sum.step_mean;
  row["a2a_s"] = a2a / n;
  row["sparse_collective_s"] = sparse / n;
  row["migration_s"] = migration / n;
  row["inter_node_a2a_bytes"] = a2a_inter / n;
  row["inter_node_param_bytes"] = param_inter / n;
  row["tokens_per_s"] = sum.tokens_per_s;
  row["inference"] = s.workload->is_inference();
  row["ttft_s"] = sum.ttft;
  row["tpot_s"] = sum.tpot;
  row["prefill_tokens_per_s"] = sum.prefill_tokens_per_s;
  row["memory_peak_bytes"] = sum.memory_peak_bytes;
  row["memory_peak_device"] = sum.memory_peak_device;
  json by = json::object();
  for (const auto& d : sum.device_metrics)
    if (d.device == sum.memory_peak_device)
      for (size_t c = 0; c < d.at_peak.size(); ++c)
        by[std::string(graph::mem_category_name(static_cast<graph::MemCategory>(c)))] = d.at_peak[c];
  row["memory_at_peak"] = by;
  row["capacity_bytes"] = sum.device_metrics.empty() ? 0.0 : sum.device_metrics.front().capacity_bytes;
  json wm = json::object();
  for (const auto& [k, v] : s.workload->run_metrics(r.steps, r.graphs, r.timeline)) wm[k] = v;
  row["workload_metrics"] = wm;
  return row;
}

json run_variant(scenario::Scenario& sc, const CompareArgs& a, const fs::path& dir) {
  scenario::Scenario* s = &sc;
  auto options = report::read_engine(*s);
  std::string text = engine::run_in_child([&] {
    auto progress = ProgressLine::attach(options, s->workload->steps(), s->name);
    auto r = report::run_scenario(*s, options);
    if (progress) progress->clear();
    auto sum = report::summarize(*s, r);
    if (a.full) report::write_outputs(*s, r, sum, dir);
    return measure(*s, r, sum).dump();
  });
  return json::parse(text);
}

void compare(const CompareArgs& a) {
  std::string baseline = a.baseline;
  auto variants = expand(a, baseline);
  std::string name = variants.front().name;
  if (a.scenarios.size() == 1) {
    auto doc = config::Document::load_file(a.scenarios.front());
    config::Table root = config::Table::root(doc);
    name = root.string_or("name", fs::path(a.scenarios.front()).stem().string());
    check_folder_name(root, "name", name);
  }
  fs::path dir = fs::path(a.out.empty() ? "out" : a.out) / (name + "-compare");
  if (!baseline.empty() && std::none_of(variants.begin(), variants.end(), [&](const Variant& v) { return v.name == baseline; }))
    throw ConfigError(Location{a.scenarios.front()}, "compare.baseline", fmt::format("'{}' is not one of the variants", baseline));
  // Every variant is read and validated (file:line:col errors, exit 2) before any of them runs.
  std::vector<std::unique_ptr<scenario::Scenario>> scenarios;
  const double limit = memory_limit(a.max_memory);
  for (const auto& v : variants) {
    scenarios.push_back(scenario::read_scenario(variant_document(v)));
    auto options = report::read_engine(*scenarios.back());
    report::guard_run_memory(*scenarios.back(), options, scenarios.back()->workload->steps(), limit);
  }
  std::vector<json> rows;
  for (size_t i = 0; i < variants.size(); ++i) {
    fmt::print(stderr, "running {} ...\n", variants[i].name);
    rows.push_back(run_variant(*scenarios[i], a, dir));
  }
  const json* base = &rows.front();
  if (!baseline.empty())
    base = &*std::find_if(rows.begin(), rows.end(), [&](const json& r) { return r["variant"] == baseline; });
  fmt::print("{}", compare_table(rows, *base));
  for (const auto& line : compare_footnotes(rows, *base)) fmt::print("{}\n", line);
  std::string text = compare_csv(rows, *base);
  fs::path file = a.csv.empty() ? dir / "compare.csv" : fs::path(a.csv);
  report::write_file_atomic(file, text);
  fmt::print("  {:<22} {}\n", "written to", file.string());
}

MOESIM_COMMAND(20, [](CLI::App& app) {
  auto* cmd = app.add_subcommand("compare", "Run scenarios or a scenario's [[variants]] side by side (table + CSV)");
  auto a = std::make_shared<CompareArgs>();
  cmd->add_option("scenarios", a->scenarios, "Scenario TOML files")->required();
  cmd->add_option("--set", a->sets, "Override a value in every variant (repeatable)")->take_all();
  cmd->add_option("--baseline", a->baseline, "Variant the speedups are against (default: [compare] baseline, else the first)");
  cmd->add_option("--csv", a->csv, "CSV file (default: <out>/<name>-compare/compare.csv)");
  cmd->add_option("--out", a->out, "Output directory (default: out/)");
  cmd->add_option("--max-memory", a->max_memory, "Refuse variants estimated to need more memory (default: physical memory)");
  cmd->add_flag("--full", a->full, "Also write each variant's full outputs (summary.json, CSVs, timeline)");
  cmd->callback([a] { compare(*a); });
});

}  // namespace
}  // namespace moesim::app
