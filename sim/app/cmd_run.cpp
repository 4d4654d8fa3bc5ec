// `moesim run <scenario.toml> [--set k=v]... [--out DIR]`: simulates the scenario and writes
// out/<name>/ (summary.json, steps.csv, layers.csv, memory.csv, timeline.json, resolved.toml).
#include <fmt/format.h>

#include "sim/app/command.hpp"
#include "sim/app/progress.hpp"
#include "sim/core/resources.hpp"
#include "sim/report/resource_guard.hpp"
#include "sim/report/writers.hpp"

namespace moesim::app {
namespace {

struct RunArgs {
  std::string scenario;
  std::vector<std::string> sets;
  std::string out;
  std::string max_memory;
};

void run(const RunArgs& a) {
  auto s = scenario::load_scenario(a.scenario, a.sets);
  auto options = report::read_engine(*s);
  report::guard_run_memory(*s, options, s->workload->steps(), memory_limit(a.max_memory));
  auto progress = ProgressLine::attach(options, s->workload->steps());
  auto result = report::run_scenario(*s, options);
  if (progress) progress->clear();
  auto summary = report::summarize(*s, result);
  auto dir = report::write_outputs(*s, result, summary, a.out.empty() ? s->output.dir : std::filesystem::path(a.out));
  fmt::print("{}", report::text_table(summary));
  fmt::print("  {:<22} {}\n", "written to", dir.string());
  if (s->output.fail_on_memory_overflow && !result.memory.over_capacity.empty()) {
    fmt::print(stderr, "error: memory over capacity on {} device(s) and [output] fail_on_memory_overflow = true\n",
               result.memory.over_capacity.size());
    throw ExitRequest{kFindings};
  }
}

MOESIM_COMMAND(10, [](CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Simulate a scenario and write out/<name>/ (summary, CSVs, timeline)");
  auto a = std::make_shared<RunArgs>();
  cmd->add_option("scenario", a->scenario, "Scenario TOML file")->required();
  cmd->add_option("--set", a->sets, "Override a value: --set workload.batch=32 (repeatable)")->take_all();
  cmd->add_option("--out", a->out, "Output directory (default: [output] dir, else out/)");
  cmd->add_option("--max-memory", a->max_memory, "Refuse runs estimated to need more memory (default: physical memory)");
  cmd->callback([a] { run(*a); });
});

}  // namespace
}  // namespace moesim::app
