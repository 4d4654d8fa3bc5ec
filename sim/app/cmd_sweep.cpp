// `moesim sweep <scenario.toml> [--set k=v]... [-j N] [--shard i/N] [--resume] [--out DIR]`: runs
// every point of the scenario's [sweep] axes (sim/plan/axes.hpp), each in its own process, and
// writes one row per point to sweep.csv and sweep.jsonl in <out>/<name>-sweep/ (shard i of N:
// sweep.shard-i-of-N.*). `moesim sweep merge <dir | files...>` joins shard outputs.
#include <fmt/format.h>
#include <unistd.h>

#include <thread>

#include "sim/app/command.hpp"
#include "sim/app/plan_print.hpp"
#include "sim/plan/sweep.hpp"

namespace moesim::app {
namespace {

namespace fs = std::filesystem;

struct SweepArgs {
  std::string scenario;
  std::vector<std::string> sets;
  int jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::string shard = "0/1";
  bool resume = false;
  std::string out;
  std::vector<std::string> merge_inputs;
};

std::string stem_for(const plan::Shard& s) {
  return s.count == 1 ? "sweep" : fmt::format("sweep.shard-{}-of-{}", s.index, s.count);
}

void sweep(const SweepArgs& a) {
  if (a.scenario.empty()) throw ConfigError(Location{"moesim sweep"}, "scenario", "give a scenario file (or: moesim sweep merge DIR)");
  auto setup = plan::read_sweep_setup(a.scenario, a.sets, "sweep");
  plan::SweepOptions o;
  o.jobs = a.jobs;
  o.shard = plan::parse_shard(a.shard);
  o.resume = a.resume;
  const fs::path dir = a.out.empty() ? plan::default_out_dir(setup.base, "-sweep") : fs::path(a.out);
  o.jsonl = dir / (stem_for(o.shard) + ".jsonl");
  o.csv = dir / (stem_for(o.shard) + ".csv");
  auto outcome = plan::run_sweep(setup, o, progress_printer("sweep"));
  print_rows(outcome.rows, {"tokens_per_s", "step_time_s.mean", "memory_peak.bytes", "memory_fits"});
  fmt::print("{} points in the sweep; shard {}/{}: {} points ({} run, {} from the existing output, {} not ok)\n", outcome.points,
             o.shard.index, o.shard.count, outcome.shard_points, outcome.ran, outcome.reused, outcome.errors);
  if (outcome.dropped_lines > 0) fmt::print("note: {} incomplete line(s) of an interrupted write dropped and run again\n", outcome.dropped_lines);
  fmt::print("written to {} and {}\n", o.csv.string(), o.jsonl.string());
}

void merge(const SweepArgs& a) {
  std::vector<fs::path> files;
  for (const auto& in : a.merge_inputs) {
    if (fs::is_directory(in)) {
      std::vector<fs::path> found;
      for (const auto& e : fs::directory_iterator(in)) {
        const std::string n = e.path().filename().string();
        if (n.starts_with("sweep.shard-") && n.ends_with(".jsonl")) found.push_back(e.path());
      }
      std::sort(found.begin(), found.end());
      if (found.empty()) throw IoError(fmt::format("no sweep.shard-*.jsonl files in {}", in));
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.emplace_back(in);
    }
  }
  auto merged = plan::merge_rows(files);
  const fs::path dir = !a.out.empty() ? fs::path(a.out) : fs::is_directory(a.merge_inputs.front()) ? fs::path(a.merge_inputs.front()) : fs::path(a.merge_inputs.front()).parent_path();
  plan::write_atomically(dir / "sweep.jsonl", plan::jsonl_text(merged.rows));
  plan::write_atomically(dir / "sweep.csv", plan::csv_text(merged.rows));
  fmt::print("merged {} file(s): {} points; written to {} and {}\n", files.size(), merged.rows.size(), (dir / "sweep.csv").string(),
             (dir / "sweep.jsonl").string());
  if (!merged.missing.empty()) {
    std::string list;
    for (size_t i = 0; i < merged.missing.size() && i < 20; ++i) list += (i ? ", " : "") + std::to_string(merged.missing[i]);
    fmt::print(stderr, "error: {} point(s) missing (not in any shard output): {}{}\n", merged.missing.size(), list,
               merged.missing.size() > 20 ? ", ..." : "");
    throw ExitRequest{kFindings};
  }
}

MOESIM_COMMAND(45, [](CLI::App& app) {
  auto* cmd = app.add_subcommand("sweep", "Run every point of a scenario's [sweep] axes in parallel; one CSV + JSONL row per point");
  auto a = std::make_shared<SweepArgs>();
  cmd->add_option("scenario", a->scenario, "Scenario TOML file with a [sweep] table");
  cmd->add_option("--set", a->sets, "Override a value of every point: --set workload.steps=2 (repeatable)")->take_all();
  cmd->add_option("-j,--jobs", a->jobs, "Points simulated at once (default: the number of cores)")->check(CLI::PositiveNumber);
  cmd->add_option("--shard", a->shard, "Run only shard i of N (0 <= i < N): points with index % N == i");
  cmd->add_flag("--resume", a->resume, "Keep the rows already in the output and run only the missing points");
  cmd->add_option("--out", a->out, "Output folder (default: <[output] dir>/<name>-sweep)");
  auto* m = cmd->add_subcommand("merge", "Join shard outputs (sweep.shard-*.jsonl) into sweep.csv and sweep.jsonl");
  m->add_option("inputs", a->merge_inputs, "A sweep folder, or shard .jsonl files")->required();
  m->add_option("--out", a->out, "Output folder (default: the inputs' folder)");
  m->callback([a] { merge(*a); });
  cmd->callback([a, m] {
    if (!m->parsed()) sweep(*a);
  });
});

}  // namespace
}  // namespace moesim::app
