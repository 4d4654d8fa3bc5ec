#include "sim/plan/sweep.hpp"

#include <fmt/format.h>

#include <chrono>
#include <map>
#include <set>
#include <toml++/toml.h>

#include "sim/plan/child_pool.hpp"

namespace moesim::plan {
namespace {

namespace fs = std::filesystem;

// An axis value as JSON: numbers, booleans and strings as themselves, tables and lists as their
// TOML text.
Row axis_json(const AxisValue& v) {
  try {
    Row j = Row::parse(v.toml);
    if (j.is_number() || j.is_boolean() || j.is_string()) return j;
  } catch (const std::exception&) {
  }
  return Row(v.label);
}

Row make_row(const Point& p, int64_t total, const PreparedPoint& prep) {
  Row r;
  r["point"] = p.index;
  r["points"] = total;
  r["repeat"] = p.repeat;
  r["key"] = prep.key;
  r["status"] = "ok";
  r["error"] = "";
  r["device"] = prep.device;
  Row axes = Row::object();
  for (const auto& a : p.assignments) axes[a.key] = axis_json(a.value);
  r["axes"] = axes;
  r["metrics"] = Row::object();
  return r;
}

// Fills a row from what the child returned.
void complete_row(Row& row, const ChildResult& c) {
  if (c.crashed) {
    row["status"] = "crashed";
    row["error"] = c.text;
    return;
  }
  if (!c.ok) {
    row["status"] = "error";
    row["error"] = c.text;
    return;
  }
  Row got = Row::parse(c.text);
  row["status"] = got["status"];
  row["error"] = got["error"];
  row["metrics"] = got["metrics"];
}

}  // namespace

SweepSetup read_sweep_setup(const std::string& scenario, const std::vector<std::string>& sets, const std::string& table_path) {
  SweepSetup s;
  s.base = load_base(scenario, sets);
  s.sets = sets;
  auto doc = config::Document::parse(s.base.text, scenario);
  for (const auto& set : sets) doc.apply_set(set);  // --set may narrow the axes too
  config::Table t = config::Table::root(doc);
  size_t dot = table_path.find('.');
  std::optional<config::Table> sweep = t.table_opt(table_path.substr(0, dot));
  if (sweep && dot != std::string::npos) sweep = sweep->table_opt(table_path.substr(dot + 1));
  if (!sweep) throw ConfigError(Location{scenario}, table_path, fmt::format("the scenario has no [{}] table", table_path));
  s.spec.repeat = sweep->integer_in_or("repeat", 1, 100000, 1);
  const toml::table* raw = doc.root().at_path(table_path).as_table();
  s.spec = SweepSpec{read_axes(*raw, table_path, {"repeat"}).axes, s.spec.repeat};
  return s;
}

Shard parse_shard(const std::string& text) {
  Shard s;
  const auto slash = text.find('/');
  try {
    if (slash == std::string::npos) throw std::invalid_argument("no slash");
    size_t a = 0, b = 0;
    s.index = std::stoll(text.substr(0, slash), &a);
    s.count = std::stoll(text.substr(slash + 1), &b);
    if (a != slash || b != text.size() - slash - 1) throw std::invalid_argument("trailing text");
  } catch (const std::exception&) {
    throw ConfigError(Location{"--shard " + text}, "--shard", "expected i/N, e.g. 0/4 (shards are numbered 0 .. N-1)");
  }
  if (s.count < 1 || s.index < 0 || s.index >= s.count)
    throw ConfigError(Location{"--shard " + text}, "--shard", fmt::format("shard {} of {}: need 0 <= i < N", s.index, s.count));
  return s;
}

SweepOutcome run_sweep(const SweepSetup& setup, const SweepOptions& options,
                       const std::function<void(const SweepProgress&)>& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  SweepOutcome out;
  std::vector<Point> points = expand(setup.spec);
  out.points = static_cast<int64_t>(points.size());
  std::vector<Point> mine;
  for (auto& p : points)
    if (options.shard.owns(p.index)) mine.push_back(std::move(p));
  out.shard_points = static_cast<int64_t>(mine.size());

  // Rows already written (--resume), by key; a crashed point is run again.
  std::map<std::string, Row> done;
  uintmax_t keep_bytes = 0;
  if (options.resume) {
    ReadRows old = read_rows(options.jsonl);
    keep_bytes = old.valid_bytes;
    out.dropped_lines = old.dropped_lines;
    for (auto& r : old.rows)
      if (r.value("status", "") != "crashed") done.emplace(r["key"].get<std::string>(), std::move(r));
  }
  RowAppender appender(options.jsonl, keep_bytes, !options.resume);

  SweepProgress prog{0, out.shard_points, 0, 0};
  auto tick = [&] {
    prog.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (progress) progress(prog);
  };
  std::vector<Row> rows;
  std::map<uint64_t, Row> pending;  // point index -> row waiting for its child
  auto finished = [&](Row row, bool fresh) {
    if (fresh) {
      appender.append(row);
      ++out.ran;
    }
    if (row["status"] != "ok") ++out.errors;
    rows.push_back(std::move(row));
    ++prog.done;
    tick();
  };

  ChildPool pool(options.jobs);
  auto collect_one = [&] {
    ChildResult c = pool.wait_one();
    Row row = std::move(pending.at(c.tag));
    pending.erase(c.tag);
    complete_row(row, c);
    finished(std::move(row), true);
  };
  tick();
  for (const Point& p : mine) {
    PreparedPoint prep = prepare_point(setup.base, setup.sets, p);
    Row row = make_row(p, out.points, prep);
    if (auto it = done.find(prep.key); it != done.end()) {
      Row old = it->second;
      old["point"] = p.index;  // the sweep may have been reordered since
      old["points"] = out.points;
      old["repeat"] = p.repeat;
      ++out.reused;
      ++prog.reused;
      finished(std::move(old), false);
      continue;
    }
    if (!prep.error.empty()) {
      row["status"] = "error";
      row["error"] = prep.error;
      finished(std::move(row), true);
      continue;
    }
    while (pool.full()) collect_one();
    const PointOptions popt = options.point;
    pool.start(static_cast<uint64_t>(p.index), [&prep, popt] { return run_point(prep, popt).dump(); });
    pending.emplace(static_cast<uint64_t>(p.index), std::move(row));
  }
  while (pool.running() > 0) collect_one();

  out.rows = sorted_unique(std::move(rows));
  write_atomically(options.jsonl, jsonl_text(out.rows));
  write_atomically(options.csv, csv_text(out.rows));
  return out;
}

Merged merge_rows(const std::vector<fs::path>& files) {
  std::vector<Row> all;
  int64_t total = 0;
  for (const auto& f : files) {
    if (!fs::exists(f)) throw IoError(fmt::format("cannot read {}", f.string()));
    for (auto& r : read_rows(f).rows) {
      total = std::max<int64_t>(total, r.value("points", int64_t{0}));
      all.push_back(std::move(r));
    }
  }
  Merged m;
  m.rows = sorted_unique(std::move(all));
  std::set<int64_t> have;
  for (const auto& r : m.rows) have.insert(r["point"].get<int64_t>());
  for (int64_t i = 0; i < total; ++i)
    if (!have.count(i)) m.missing.push_back(i);
  return m;
}

}  // namespace moesim::plan

namespace moesim::plan {

std::filesystem::path default_out_dir(const BaseScenario& base, const std::string& suffix) {
  auto doc = config::Document::parse(base.text, base.path);
  const std::string stem = std::filesystem::path(base.path).stem().string();
  const std::string name = doc.root()["name"].value_or(stem);
  const std::string dir = doc.root()["output"]["dir"].value_or(std::string("out"));
  return std::filesystem::path(dir) / (name + suffix);
}

}  // namespace moesim::plan
