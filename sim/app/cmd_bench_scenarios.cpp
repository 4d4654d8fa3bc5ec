// Whole-scenario benchmarks of `moesim bench` (bench.hpp). Not a command of its own: cmd_bench.cpp
// dispatches here.
//   deepseek: scenarios/scale/deepseek_v3_train_ep64_h800.toml at --devices (8 per node), one step.
//   decode  : scenarios/examples/mixtral_ep8_decode.toml (batch 128, 32 decode steps): wall per step.
//   small   : scenarios/examples/quickstart.toml, --repeat evaluations: once as one process per run
//             (process start and outputs included), once as `moesim sweep -j 1` over --repeat seeds
//             (fork per point, the first process start not counted): evaluations per CPU-minute.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "sim/app/bench.hpp"
#include "sim/core/errors.hpp"

namespace moesim::app {
namespace {

struct ProcessMeasure {
  double wall_s = 0, cpu_s = 0, peak_rss_mib = 0;
  int status = 0;        // exit status; -1 = stopped at the timeout or killed by a signal
  bool timed_out = false;
};

std::string self_binary() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

// Runs argv (stdout and stderr to /dev/null) and measures it with wait4.
ProcessMeasure measure_process(const std::vector<std::string>& argv, double timeout_s) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid < 0) throw IoError("bench: fork failed");
  if (pid == 0) {
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  ProcessMeasure m;
  int status = 0;
  rusage u{};
  while (true) {
    const pid_t r = wait4(pid, &status, WNOHANG, &u);
    if (r == pid) break;
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > timeout_s && !m.timed_out) {
      kill(pid, SIGKILL);
      m.timed_out = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  m.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  m.cpu_s = static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
  m.peak_rss_mib = static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux: KiB
  m.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return m;
}

std::vector<std::string> run_argv(const std::string& binary, const std::string& scenario, const std::vector<std::string>& sets,
                                  const std::filesystem::path& out) {
  std::vector<std::string> v = {binary, "run", scenario, "--out", out.string()};
  for (const auto& s : sets) v.insert(v.end(), {"--set", s});
  return v;
}

std::string cell(const ProcessMeasure& m, double value, const char* fmtspec) {
  if (m.timed_out) return fmt::format(">{:.0f} (stopped)", m.wall_s);
  if (m.status != 0) return fmt::format("exit {}", m.status);
  return fmt::format(fmt::runtime(fmtspec), value);
}

std::filesystem::path scratch_dir() {
  auto d = std::filesystem::temp_directory_path() / fmt::format("moesim_bench_{}", getpid());
  std::filesystem::create_directories(d);
  return d;
}

void deepseek(const ScenarioBenchArgs& a, const std::filesystem::path& out) {
  const std::string scenario = a.scenario.empty() ? "scenarios/scale/deepseek_v3_train_ep64_h800.toml" : a.scenario;
  fmt::print("DeepSeek-V3 training step ({}), EP64, 4,096 tokens/GPU, H800 x 8 per node; one process per run\n", scenario);
  fmt::print("{:>6} {:>10} {:>8} {:>14} {:>18} {:>16} {:>18}\n", "GPUs", "wall_s", "cpu_s", "peak_rss_MiB", "baseline_wall_s",
             "baseline_cpu_s", "baseline_rss_MiB");
  std::fflush(stdout);
  for (int p : a.devices) {
    if (p < 64 || p % 64 != 0) throw ConfigError(Location{"moesim bench"}, "devices", fmt::format("{}: deepseek needs a multiple of 64 (EP64)", p));
    const std::vector<std::string> sets = {fmt::format("cluster.nodes={}", p / 8)};
    const auto now = measure_process(run_argv(self_binary(), scenario, sets, out / "now"), a.timeout_s);
    std::string bw = "-", bc = "-", br = "-";
    if (!a.baseline.empty() && p <= a.baseline_up_to) {
      const auto b = measure_process(run_argv(a.baseline, scenario, sets, out / "baseline"), a.timeout_s);
      bw = cell(b, b.wall_s, "{:.2f}"), bc = cell(b, b.cpu_s, "{:.2f}"), br = cell(b, b.peak_rss_mib, "{:.0f}");
    }
    fmt::print("{:>6} {:>10} {:>8} {:>14} {:>18} {:>16} {:>18}\n", p, cell(now, now.wall_s, "{:.2f}"), cell(now, now.cpu_s, "{:.2f}"),
               cell(now, now.peak_rss_mib, "{:.0f}"), bw, bc, br);
    std::fflush(stdout);
  }
}

void decode(const ScenarioBenchArgs& a, const std::filesystem::path& out) {
  const std::string scenario = a.scenario.empty() ? "scenarios/examples/mixtral_ep8_decode.toml" : a.scenario;
  const int steps = 32;
  fmt::print("Mixtral-8x7B EP8 decode ({}), batch 128, {} decode steps; wall per step = process wall / steps\n", scenario, steps);
  fmt::print("{:>10} {:>10} {:>12} {:>10} {:>16} {:>14}\n", "binary", "wall_s", "ms_per_step", "cpu_s", "cpu_ms_per_step",
             "peak_rss_MiB");
  const std::vector<std::string> sets = {"workload.batch=128", fmt::format("workload.generate_tokens={}", steps)};
  std::vector<std::pair<std::string, std::string>> bins = {{"this", self_binary()}};
  if (!a.baseline.empty()) bins.emplace_back("baseline", a.baseline);
  for (const auto& [name, bin] : bins) {
    const auto m = measure_process(run_argv(bin, scenario, sets, out / name), a.timeout_s);
    fmt::print("{:>10} {:>10} {:>12} {:>10} {:>16} {:>14}\n", name, cell(m, m.wall_s, "{:.3f}"), cell(m, m.wall_s / steps * 1e3, "{:.2f}"),
               cell(m, m.cpu_s, "{:.3f}"), cell(m, m.cpu_s / steps * 1e3, "{:.2f}"), cell(m, m.peak_rss_mib, "{:.0f}"));
    std::fflush(stdout);
  }
}

// The scenario with a [sweep] table of `repeat` seeds appended (every point the same scenario,
// seeds seed .. seed + repeat - 1), for `moesim sweep`.
std::filesystem::path sweep_scenario(const std::string& scenario, int repeat, const std::filesystem::path& dir) {
  std::ifstream in(scenario, std::ios::binary);
  if (!in) throw IoError(fmt::format("bench small: cannot read {}", scenario));
  std::stringstream text;
  text << in.rdbuf();
  std::filesystem::create_directories(dir);
  const auto file = dir / fmt::format("sweep_{}.toml", repeat);
  std::ofstream(file, std::ios::binary) << text.str() << fmt::format("\n[sweep]\nrepeat = {}\n", repeat);
  return file;
}

// CPU seconds of `moesim sweep` over `repeat` seeds of the scenario, one point at a time (-j 1):
// the parent reads each point's scenario, a forked child simulates it (sim/plan/sweep.cpp).
ProcessMeasure sweep_cpu(const std::string& bin, const std::string& scenario, int repeat, const std::filesystem::path& out,
                         double timeout_s) {
  const auto file = sweep_scenario(scenario, repeat, out);
  const auto m = measure_process({bin, "sweep", file.string(), "-j", "1", "--out", (out / fmt::format("sweep_{}", repeat)).string()}, timeout_s);
  if (m.status != 0) throw IoError(fmt::format("bench small: {} sweep failed (exit {})", bin, m.status));
  return m;
}

void small(const ScenarioBenchArgs& a, const std::filesystem::path& out) {
  const std::string scenario = a.scenario.empty() ? "scenarios/examples/quickstart.toml" : a.scenario;
  fmt::print("Small scenario ({}), {} evaluations per binary, two ways:\n", scenario, a.repeat);
  fmt::print("  run  : `moesim run` once per evaluation (process start and every output file included)\n");
  fmt::print("  sweep: `moesim sweep -j 1` over {} seeds (one forked child per point, as sweeps and plans run),\n"
             "        minus a 1-point sweep: the first process start is not counted\n", a.repeat);
  fmt::print("{:>10} {:>16} {:>18} {:>18} {:>20}\n", "binary", "run_cpu_s_each", "run_evals_per_min", "sweep_cpu_s_each",
             "sweep_evals_per_min");
  std::vector<std::pair<std::string, std::string>> bins = {{"this", self_binary()}};
  if (!a.baseline.empty()) bins.emplace_back("baseline", a.baseline);
  for (const auto& [name, bin] : bins) {
    double cpu = 0;
    for (int i = 0; i < a.repeat; ++i) {
      const auto m = measure_process(run_argv(bin, scenario, {}, out / name), a.timeout_s);
      if (m.status != 0) throw IoError(fmt::format("bench small: {} run failed (exit {})", name, m.status));
      cpu += m.cpu_s / a.repeat;
    }
    const auto one = sweep_cpu(bin, scenario, 1, out / name, a.timeout_s);
    const auto many = sweep_cpu(bin, scenario, a.repeat + 1, out / name, a.timeout_s);
    const double each = std::max(1e-9, (many.cpu_s - one.cpu_s) / a.repeat);
    fmt::print("{:>10} {:>16.4f} {:>18.0f} {:>18.4f} {:>20.0f}\n", name, cpu, 60.0 / cpu, each, 60.0 / each);
    std::fflush(stdout);
  }
}

using Bench = void (*)(const ScenarioBenchArgs&, const std::filesystem::path&);
const std::map<std::string, Bench>& benches() {
  static const std::map<std::string, Bench> t = {{"deepseek", deepseek}, {"decode", decode}, {"small", small}};
  return t;
}

}  // namespace

bool is_scenario_bench(const std::string& what) { return benches().count(what) > 0; }

void bench_scenarios(const ScenarioBenchArgs& a) {
  const auto out = scratch_dir();
  try {
    benches().at(a.what)(a, out);
  } catch (...) {
    std::filesystem::remove_all(out);
    throw;
  }
  std::filesystem::remove_all(out);
}

}  // namespace moesim::app
