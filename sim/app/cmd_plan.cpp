// `moesim plan <scenario.toml> [--set k=v]... [-j N] [--resume] [--out DIR]`: searches the
// scenario's [plan.space] (sweep axes: device presets, node counts, layouts, batch sizes), prunes
// what the static memory estimate says cannot fit before simulating, simulates the rest, keeps
// the configurations meeting every [plan.slo] bound, and prints the best by the objective, the
// Pareto front (cost per hour vs throughput) and why the others were rejected. Writes plan.csv,
// plan.jsonl, best.jsonl, pareto.jsonl and pareto.{dat,gp,svg} to <out>/<name>-plan/ (sim/plan/search.hpp, docs/planning.md).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <thread>

#include "sim/app/command.hpp"
#include "sim/app/plan_print.hpp"
#include "sim/plan/gnuplot.hpp"
#include "sim/plan/search.hpp"

namespace moesim::app {
namespace {

namespace fs = std::filesystem;

struct PlanArgs {
  std::string scenario;
  std::vector<std::string> sets;
  int jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  bool resume = false;
  std::string out;
};

std::string label_of(const plan::Row& r) {
  std::string s;
  for (const auto& [k, v] : r["axes"].items()) s += (s.empty() ? "" : " ") + k.substr(k.rfind('.') + 1) + "=" + clip(cell_text(v), 28);
  return s.empty() ? fmt::format("point {}", r["point"].get<int64_t>()) : s;
}

std::string money(double v) { return v < 0 ? "-" : fmt::format("{:.4g}", v); }

void print_candidates(const std::string& title, const std::vector<const plan::Candidate*>& list, const plan::PlanSpec& spec, size_t limit) {
  fmt::print("\n{}\n", title);
  fmt::print("  {:>5} {:>7} {:>12} {:>10} {:>12} {:>14}  {}\n", "point", "devices", spec.throughput, "USD/h", "USD/Mtokens", "per device", "configuration");
  for (size_t i = 0; i < list.size() && i < limit; ++i) {
    const auto* c = list[i];
    const double per_m = c->cost_per_hour >= 0 && c->throughput > 0 ? c->cost_per_hour / (c->throughput * 3600) * 1e6 : -1;
    fmt::print("  {:>5} {:>7} {:>12.5g} {:>10} {:>12} {:>14.5g}  {} [{}]\n", c->row["point"].get<int64_t>(), c->devices, c->throughput,
               money(c->cost_per_hour), money(per_m), c->devices > 0 ? c->throughput / c->devices : 0.0, label_of(c->row),
               c->row.value("device", ""));
  }
}

void plan_cmd(const PlanArgs& a) {
  auto spec = plan::read_plan_spec(a.scenario, a.sets);
  auto setup = plan::read_sweep_setup(a.scenario, a.sets, "plan.space");
  plan::SweepOptions o;
  o.jobs = a.jobs;
  o.resume = a.resume;
  o.point.memory_precheck = true;
  const fs::path dir = a.out.empty() ? plan::default_out_dir(setup.base, "-plan") : fs::path(a.out);
  o.jsonl = dir / "points.jsonl";
  o.csv = dir / "points.csv";
  auto outcome = plan::run_sweep(setup, o, progress_printer("plan"));
  std::vector<std::string> reported;
  if (auto missing = plan::unreported_metrics(outcome.rows, spec, reported); !missing.empty()) {
    fmt::print(stderr, "{}: error: plan: {} not reported by any simulated configuration (misspelt? [plan.slo] and [plan] throughput name "
                       "summary metrics); this workload reports: {}\n",
               a.scenario, fmt::join(missing, ", "), fmt::join(reported, ", "));
    throw ExitRequest{kBadInput};
  }
  auto all = plan::evaluate(outcome.rows, spec);
  std::vector<plan::Row> evaluated;
  for (const auto& c : all) evaluated.push_back(c.row);
  plan::write_atomically(dir / "plan.jsonl", plan::jsonl_text(evaluated));
  plan::write_atomically(dir / "plan.csv", plan::csv_text(evaluated));

  const auto best = plan::ranked(all);
  const auto front = plan::pareto_front(all);
  std::vector<plan::Row> best_rows, front_rows;
  for (const auto* c : best) best_rows.push_back(c->row);
  for (const auto* c : front) front_rows.push_back(c->row);
  plan::write_atomically(dir / "best.jsonl", plan::jsonl_text(best_rows));
  plan::write_atomically(dir / "pareto.jsonl", plan::jsonl_text(front_rows));
  const auto objective = plan::objective_names()[static_cast<size_t>(spec.objective)];
  fmt::print("{} configurations searched: {} meet every SLO, {} pruned by the memory estimate before simulating, {} rejected after\n",
             all.size(), best.size(), std::count_if(all.begin(), all.end(), [](const plan::Candidate& c) { return c.row.value("status", "") == "does_not_fit"; }),
             std::count_if(all.begin(), all.end(), [](const plan::Candidate& c) { return !c.feasible && c.row.value("status", "") != "does_not_fit"; }));
  print_candidates(fmt::format("Best by {} (top {}):", objective, spec.top), best, spec, static_cast<size_t>(spec.top));
  print_candidates("Pareto front (lower USD/h, higher throughput):", front, spec, 100);
  std::vector<const plan::Candidate*> rejected;
  for (const auto& c : all)
    if (!c.feasible) rejected.push_back(&c);
  if (!rejected.empty()) {
    fmt::print("\nRejected ({}):\n", rejected.size());
    for (size_t i = 0; i < rejected.size() && i < 40; ++i)
      fmt::print("  {:>5}  {} [{}]: {}\n", rejected[i]->row["point"].get<int64_t>(), label_of(rejected[i]->row), rejected[i]->row.value("device", ""),
                 clip(rejected[i]->row.value("rejected", ""), 160));
    if (rejected.size() > 40) fmt::print("  ... {} more in plan.csv\n", rejected.size() - 40);
  }
  plan::ParetoPlot pp{fmt::format("{}: configurations meeting the SLOs", fs::path(a.scenario).stem().string()), "cost (USD per hour)", spec.throughput, {}, {}};
  for (const auto* c : best)
    if (c->cost_per_hour >= 0) pp.all.push_back({c->cost_per_hour, c->throughput});
  // Short labels on the plot ("#5 2x h800"): the point numbers of the Pareto table printed above.
  for (const auto* c : front)
    pp.front.push_back({fmt::format("#{} {}x {}", c->row["point"].get<int64_t>(), c->devices, c->row.value("device", "")), {c->cost_per_hour, c->throughput}});
  auto files = plan::write_pareto_plot(dir, "pareto", pp);
  const std::string why = best.empty() ? "no configuration meets the SLOs: nothing to plot" : plan::render(files);
  fmt::print("\nwritten to {}: plan.csv, plan.jsonl, best.jsonl (meeting the SLOs, best first), pareto.jsonl, points.csv, pareto.dat, pareto.gp{}\n", dir.string(), why.empty() ? ", pareto.svg" : "");
  if (!why.empty()) fmt::print("note: pareto.svg not drawn: {}\n", why);
  if (best.empty()) {
    fmt::print(stderr, "error: no configuration meets every SLO\n");
    throw ExitRequest{kInfeasible};
  }
}

MOESIM_COMMAND(46, [](CLI::App& app) {
  auto* cmd = app.add_subcommand("plan", "Search [plan.space] for configurations meeting [plan.slo]; best by the objective, Pareto front");
  auto a = std::make_shared<PlanArgs>();
  cmd->add_option("scenario", a->scenario, "Scenario TOML file with a [plan] table")->required();
  cmd->add_option("--set", a->sets, "Override a value of every configuration (repeatable)")->take_all();
  cmd->add_option("-j,--jobs", a->jobs, "Configurations simulated at once (default: the number of cores)")->check(CLI::PositiveNumber);
  cmd->add_flag("--resume", a->resume, "Reuse the simulated points already in the output folder");
  cmd->add_option("--out", a->out, "Output folder (default: <[output] dir>/<name>-plan)");
  cmd->callback([a] { plan_cmd(*a); });
});

}  // namespace
}  // namespace moesim::app
