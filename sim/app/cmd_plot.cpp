// `moesim plot ...`: SVG plots with gnuplot, each written beside the data it draws as
// <stem>.dat + <stem>.gp (+ <stem>.svg when gnuplot is installed; otherwise a note says so):
//   plot sweep  <dir | rows.jsonl> --y METRIC [--x AXIS] [--by AXIS]   metric vs axis, one line per layout/value
//   plot pareto <plan dir | plan.jsonl> [--y METRIC]                   cost per hour vs throughput, front marked
//   plot memory <run dir> [--device N]                                 memory over time by category
//   plot experts <run dir>                                             expert compute per device per MoE layer (heat map)
//   plot timeline <run dir> [--step N]                                 step timeline, critical path highlighted
#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "sim/app/command.hpp"
#include "sim/app/plan_print.hpp"
#include "sim/plan/run_plots.hpp"
#include "sim/plan/gnuplot.hpp"
#include "sim/plan/search.hpp"

namespace moesim::app {
namespace {

namespace fs = std::filesystem;

struct PlotArgs {
  std::string input;
  std::string x, y, by;
  int device = -1;
  int step = -1;
  int top = 16;
};

fs::path rows_file(const std::string& input, const std::vector<std::string>& names) {
  if (!fs::is_directory(input)) {
    if (!fs::exists(input)) throw IoError(fmt::format("cannot read {}", input));
    return input;
  }
  for (const auto& n : names)
    if (fs::exists(fs::path(input) / n)) return fs::path(input) / n;
  throw IoError(fmt::format("no {} in {}", names.front(), input));
}

std::string safe(std::string s) {
  for (auto& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') c = '_';
  return s;
}

void finish_plot(const plan::PlotFiles& f) {
  const std::string why = plan::render(f);
  fmt::print("written {} and {}{}\n", f.data.string(), f.script.string(), why.empty() ? fmt::format(" and {}", f.svg.string()) : "");
  if (!why.empty()) fmt::print("note: {} not drawn: {}\n", f.svg.filename().string(), why);
}

std::optional<double> as_number(const plan::Row& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_boolean()) return v.get<bool>() ? 1.0 : 0.0;
  return std::nullopt;
}

void plot_sweep(const PlotArgs& a) {
  const fs::path file = rows_file(a.input, {"sweep.jsonl", "plan.jsonl", "points.jsonl"});
  auto rows = plan::sorted_unique(plan::read_rows(file).rows);
  if (rows.empty()) throw IoError(fmt::format("{} has no rows", file.string()));
  std::vector<std::string> axes;
  for (const auto& [k, v] : rows.front()["axes"].items()) axes.push_back(k);
  std::string x = a.x;
  if (x.empty())
    for (const auto& k : axes)
      if (as_number(rows.front()["axes"][k])) {
        x = k;
        break;
      }
  if (x.empty() || std::find(axes.begin(), axes.end(), x) == axes.end())
    throw ConfigError(Location{"--x"}, "--x", fmt::format("'{}' is not a numeric axis of the sweep (axes: {})", x, fmt::join(axes, ", ")));
  // Keys that move one-to-one with an earlier key (a zipped group: device, its links) would only
  // repeat it in the legend: keep the first of each such group.
  std::vector<std::string> legend_axes;
  for (const auto& k : axes) {
    if (k == x) continue;
    bool tied = false;
    for (const auto& j : legend_axes) {
      std::map<std::string, std::string> fwd, back;
      bool one_to_one = true;
      for (const auto& r : rows) {
        const std::string a = r["axes"][j].dump(), b = r["axes"][k].dump();
        auto [f, fn] = fwd.emplace(a, b);
        auto [g, gn] = back.emplace(b, a);
        if (f->second != b || g->second != a) one_to_one = false;
      }
      tied = tied || one_to_one;
    }
    if (!tied) legend_axes.push_back(k);
  }
  // Series: --by, else every other axis together; repeats (same series and x) averaged.
  std::map<std::string, std::map<double, std::pair<double, int>>> acc;
  std::vector<std::string> order;
  int64_t skipped = 0;
  for (const auto& r : rows) {
    auto xv = as_number(r["axes"][x]);
    auto yv = plan::metric(r, a.y);
    if (r.value("status", "") != "ok" || !xv || !yv) {
      ++skipped;
      continue;
    }
    std::string series;
    for (const auto& k : a.by.empty() ? legend_axes : std::vector<std::string>{a.by})
      series += (series.empty() ? "" : ", ") + k + "=" + cell_text(r["axes"][k]);
    if (series.empty()) series = a.y;
    if (!acc.count(series)) order.push_back(series);
    auto& cell = acc[series][*xv];
    cell.first += *yv;
    cell.second += 1;
  }
  if (acc.empty()) throw ConfigError(Location{"--y"}, "--y", fmt::format("no ok row of {} reports '{}'", file.string(), a.y));
  // Powers of two (node counts, batch sizes) on a log2 axis.
  bool pow2 = true;
  for (const auto& [name, cells] : acc)
    for (const auto& [xv, sum] : cells) pow2 = pow2 && xv >= 1 && std::exp2(std::round(std::log2(xv))) == xv;
  plan::LinePlot p{fmt::format("{} vs {}", a.y, x), x, a.y, pow2, false, {}};
  for (const auto& s : order) {
    plan::Series pts;
    for (const auto& [xv, sum] : acc[s]) pts.push_back({xv, sum.first / sum.second});
    p.series.push_back({s, pts});
  }
  finish_plot(plan::write_line_plot(file.parent_path(), safe(fmt::format("sweep_{}_vs_{}", a.y, x)), p));
  if (skipped) fmt::print("note: {} row(s) without an ok '{}' left out\n", skipped, a.y);
}

void plot_pareto(const PlotArgs& a) {
  const fs::path file = rows_file(a.input, {"plan.jsonl"});
  auto rows = plan::read_rows(file).rows;
  const std::string y = a.y.empty() ? "tokens_per_s" : a.y;
  std::vector<plan::Candidate> all;
  for (const auto& r : rows) {
    plan::Candidate c;
    c.row = r;
    c.feasible = r.value("feasible", false);
    c.cost_per_hour = plan::metric(r, "cost_usd_per_hour").value_or(-1);
    c.throughput = plan::metric(r, y).value_or(0);
    all.push_back(std::move(c));
  }
  plan::ParetoPlot p{"configurations meeting the SLOs", "cost (USD per hour)", y, {}, {}};
  for (const auto& c : all)
    if (c.feasible && c.cost_per_hour >= 0) p.all.push_back({c.cost_per_hour, c.throughput});
  for (const auto* c : plan::pareto_front(all)) {
    const double devices = plan::metric(c->row, "devices").value_or(0);
    p.front.push_back({fmt::format("#{} {}x {}", c->row["point"].get<int64_t>(), devices, c->row.value("device", "")), {c->cost_per_hour, c->throughput}});
  }
  if (p.all.empty()) throw InfeasibleError(fmt::format("{}: no priced configuration meets the SLOs", file.string()));
  finish_plot(plan::write_pareto_plot(file.parent_path(), "pareto", p));
}

MOESIM_COMMAND(47, [](CLI::App& app) {
  auto* cmd = app.add_subcommand("plot", "SVG plots (gnuplot) of sweeps, plans and runs, written beside their data");
  cmd->require_subcommand(1);
  auto a = std::make_shared<PlotArgs>();
  auto* s = cmd->add_subcommand("sweep", "A metric against a sweep axis, one line per value of the other axes");
  s->add_option("input", a->input, "A sweep/plan folder or its .jsonl")->required();
  s->add_option("--y", a->y, "Metric (a summary.json key, nested keys joined by '.')")->required();
  s->add_option("--x", a->x, "Axis for the x axis (default: the first numeric axis)");
  s->add_option("--by", a->by, "One line per value of this axis (default: of every other axis)");
  s->callback([a] { plot_sweep(*a); });
  auto* p = cmd->add_subcommand("pareto", "Cost per hour against throughput of a plan, Pareto front marked");
  p->add_option("input", a->input, "A plan folder or its plan.jsonl")->required();
  p->add_option("--y", a->y, "Throughput metric (default: tokens_per_s)");
  p->callback([a] { plot_pareto(*a); });
  auto* m = cmd->add_subcommand("memory", "Memory over time by category of one device of a run (out/<name>/memory.csv)");
  m->add_option("input", a->input, "A run's output folder")->required();
  m->add_option("--device", a->device, "Device (default: the one with the highest peak)");
  m->callback([a] { finish_plot(plan::plot_memory(a->input, a->device)); });
  auto* e = cmd->add_subcommand("experts", "Routed-expert compute time per device per MoE layer of a run (heat map, from timeline.json)");
  e->add_option("input", a->input, "A run's output folder")->required();
  e->callback([a] { finish_plot(plan::plot_expert_load(a->input)); });
  auto* t = cmd->add_subcommand("timeline", "One step of a run's timeline per device stream, its critical path highlighted");
  t->add_option("input", a->input, "A run's output folder")->required();
  t->add_option("--step", a->step, "Step (default: the last)");
  t->callback([a] { finish_plot(plan::plot_timeline(a->input, a->step)); });
  auto* l = cmd->add_subcommand("links", "Utilization per step of a run's busiest network links (heat map, from links.csv)");
  l->add_option("input", a->input, "A run's output folder")->required();
  l->add_option("--top", a->top, "How many links, busiest first (0: all that carried bytes)")->check(CLI::NonNegativeNumber);
  l->callback([a] { finish_plot(plan::plot_link_utilization(a->input, a->top)); });
});

}  // namespace
}  // namespace moesim::app
