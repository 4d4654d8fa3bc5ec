// `moesim bench deepseek | decode | small`: whole scenarios, see bench.hpp.
// `moesim bench engine [--devices 8,64,256,1024] [--exact-up-to 64] [--layers 2]`: wall time and
// peak RSS of simulating ONE synthetic MoE training step under skewed routing, per cluster size,
// each in a forked child (one SimGrid engine per process). Where P <= --exact-up-to, the same step
// also runs with per-pair flows (network = "exact") and the fast mode's difference is reported.
//
// The step (not a model of any published system; a load generator with MoE shape): per layer
// forward attention compute -> dispatch alltoallv -> expert compute -> combine alltoallv, then the
// backward pass in reverse (compute x 2, two alltoallv), then a ring all-reduce of the dense
// gradients. Each rank holds one expert; expert popularity ~ Gamma(0.5) per layer (a few hot
// experts, as in published MoE load statistics), +-50% noise per (source, expert) pair.
#include <fmt/format.h>
#include <sys/resource.h>

#include <chrono>
#include <sstream>

#include "hardware/topology/fabrics.hpp"
#include "sim/app/bench.hpp"
#include "sim/app/bench_serving.hpp"
#include "sim/app/command.hpp"
#include "sim/core/resources.hpp"
#include "sim/core/rng.hpp"
#include "sim/engine/engine.hpp"

namespace moesim::app {
namespace {

struct BenchArgs {
  std::string what = "engine";
  std::vector<int> devices = {8, 64, 256, 1024};
  int exact_up_to = 16;  // exact at P = 64 took 460 s on the 2-core build machine
  int layers = 2;
  int tokens = 4096;     // tokens per device per step
  int hidden = 4096;     // d_model; bf16 activations
  int top_k = 2;
  uint64_t seed = 1;
  std::string max_memory;
};

hw::LinkSpec spec(const char* name, double gbps, double us, double eff) {
  hw::LinkSpec l;
  l.name = name;
  l.bandwidth = BytesPerSecond(gbps * 1e9);
  l.latency = Seconds(us * 1e-6);
  l.efficiency = eff;
  return l;
}

// DGX-A100-like nodes of 8 (NVLink3 12 x 25 GB/s, one 200 Gb/s HDR NIC per GPU, PCIe 4 x16),
// 4 nodes per leaf, non-blocking spine. Numbers: NVIDIA DGX A100 datasheet; latencies assumed.
hw::Topology bench_cluster(int p) {
  hw::TopologyParams t;
  t.devices_per_node = std::min(p, 8);
  t.nodes = p / t.devices_per_node;
  t.device.name = "a100_like";
  t.host_link = spec("pcie4_x16", 31.5, 1, 0.8);
  t.intra = std::make_shared<hw::NvSwitchFabric>(hw::NvSwitchFabric::Params{spec("nvlink3", 25, 1, 0.9), 12, std::nullopt});
  if (t.nodes > 1) {
    t.nic = spec("ib_hdr", 25, 2, 0.95);
    t.nics_per_node = t.devices_per_node;
    t.inter = std::make_shared<hw::FatTreeFabric>(hw::FatTreeFabric::Params{4, 1.0});
  }
  return hw::build_topology(t);
}

std::vector<double> dispatch_matrix(int p, double bytes_per_rank, Rng& rng) {
  std::vector<double> pop(static_cast<size_t>(p));
  double total = 0;
  for (auto& x : pop) total += (x = rng.gamma(0.5) + 1e-3);
  std::vector<double> m(static_cast<size_t>(p) * static_cast<size_t>(p), 0.0);
  for (int i = 0; i < p; ++i)
    for (int j = 0; j < p; ++j)
      m[static_cast<size_t>(i) * static_cast<size_t>(p) + static_cast<size_t>(j)] =
          i == j ? 0.0 : bytes_per_rank * pop[static_cast<size_t>(j)] / total * rng.uniform(0.5, 1.5);
  return m;
}

std::vector<double> transpose(const std::vector<double>& m, int p) {
  std::vector<double> t(m.size());
  for (size_t i = 0; i < static_cast<size_t>(p); ++i)
    for (size_t j = 0; j < static_cast<size_t>(p); ++j) t[j * static_cast<size_t>(p) + i] = m[i * static_cast<size_t>(p) + j];
  return t;
}

struct StepBuilder {
  graph::StepGraph g;
  std::vector<graph::TaskId> last;  // per device: its last task
  std::vector<graph::DeviceId> all;

  explicit StepBuilder(int p) : last(static_cast<size_t>(p), -1) {
    for (int d = 0; d < p; ++d) all.push_back(d);
  }
  std::vector<graph::TaskId> after(int d) const {
    return last[static_cast<size_t>(d)] < 0 ? std::vector<graph::TaskId>{} : std::vector<graph::TaskId>{last[static_cast<size_t>(d)]};
  }
  void compute(const std::string& name, const std::vector<double>& seconds) {
    for (int d = 0; d < static_cast<int>(all.size()); ++d) {
      graph::Task t;
      t.name = name;
      graph::ComputeWork w;
      w.device = d;
      w.duration = Seconds(seconds[static_cast<size_t>(d)]);
      t.work = w;
      t.deps = after(d);
      last[static_cast<size_t>(d)] = g.add(t);
    }
  }
  void collective(const std::string& name, graph::CollectiveWork w) {
    graph::Task t;
    t.name = name;
    t.stream = graph::Stream::comm;
    for (int d : w.group)
      if (last[static_cast<size_t>(d)] >= 0) t.deps.push_back(last[static_cast<size_t>(d)]);
    t.work = std::move(w);
    const auto id = g.add(t);
    for (auto& l : last) l = id;
  }
};

// Expert compute time ~ tokens received: 2 GEMMs of hidden x 4 hidden at 150 TFLOP/s effective.
std::vector<double> expert_seconds(const std::vector<double>& m, int p, double token_bytes, int hidden, double factor) {
  std::vector<double> s(static_cast<size_t>(p), 0.0);
  for (size_t i = 0; i < static_cast<size_t>(p); ++i)
    for (size_t j = 0; j < static_cast<size_t>(p); ++j) s[j] += m[i * static_cast<size_t>(p) + j] / token_bytes;
  for (auto& x : s) x = factor * x * 2 * 2 * hidden * 4.0 * hidden / 150e12;
  return s;
}

graph::StepGraph training_step(const BenchArgs& a, int p) {
  Rng rng(a.seed, "bench.routing");
  StepBuilder b(p);
  const double token_bytes = 2.0 * a.hidden;
  const double per_rank = static_cast<double>(a.tokens) * a.top_k * token_bytes;
  const double attn = 4.0 * a.tokens * 4.0 * a.hidden * a.hidden / 150e12;
  std::vector<std::vector<double>> dispatch;
  auto a2a = [&](const std::string& name, std::vector<double> m) {
    graph::CollectiveWork w;
    w.kind = graph::CollectiveKind::alltoallv;
    w.group = b.all;
    w.matrix = std::move(m);
    b.collective(name, std::move(w));
  };
  for (int l = 0; l < a.layers; ++l) {
    dispatch.push_back(dispatch_matrix(p, per_rank, rng));
    b.compute(fmt::format("L{}.attention", l), std::vector<double>(static_cast<size_t>(p), attn));
    a2a(fmt::format("L{}.dispatch", l), dispatch.back());
    b.compute(fmt::format("L{}.expert_ffn", l), expert_seconds(dispatch.back(), p, token_bytes, a.hidden, 1.0));
    a2a(fmt::format("L{}.combine", l), transpose(dispatch.back(), p));
  }
  for (int l = a.layers - 1; l >= 0; --l) {
    const auto& m = dispatch[static_cast<size_t>(l)];
    a2a(fmt::format("L{}.combine_grad", l), m);
    b.compute(fmt::format("L{}.expert_ffn_grad", l), expert_seconds(m, p, token_bytes, a.hidden, 2.0));
    a2a(fmt::format("L{}.dispatch_grad", l), transpose(m, p));
    b.compute(fmt::format("L{}.attention_grad", l), std::vector<double>(static_cast<size_t>(p), 2 * attn));
  }
  graph::CollectiveWork ar;
  ar.kind = graph::CollectiveKind::all_reduce;
  ar.group = b.all;
  ar.bytes = Bytes(2.0 * a.layers * 4.0 * a.hidden * a.hidden);  // dense attention grads, bf16
  b.collective("dense_grad_allreduce", std::move(ar));
  return std::move(b.g);
}

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux: KiB
}

struct Measure {
  double wall = 0, rss = 0, step = 0;
};

Measure measure(const BenchArgs& a, int p, const std::string& network) {
  const std::string out = engine::run_in_child([&] {
    const auto t0 = std::chrono::steady_clock::now();
    const auto topo = bench_cluster(p);
    const auto g = training_step(a, p);
    engine::EngineOptions o;
    o.network = network;
    const auto tl = engine::run_graphs(topo, {g}, o);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return fmt::format("{:.17g} {:.17g} {:.17g}", wall, peak_rss_mib(), tl.steps.at(0).end - tl.steps.at(0).start);
  });
  std::istringstream in(out);
  Measure m;
  in >> m.wall >> m.rss >> m.step;
  return m;
}

void bench(const BenchArgs& a) {
  if (a.what == "serving") return bench_serving(a.seed);
  if (a.what != "engine")
    throw ConfigError(Location{"moesim bench"}, "",
                      fmt::format("unknown benchmark '{}' (valid values: engine, serving, deepseek, decode, small)", a.what));
  fmt::print("one training step, {} MoE layers, {} tokens/device, top-{}, hidden {}, skewed routing (Gamma(0.5) popularity)\n",
             a.layers, a.tokens, a.top_k, a.hidden);
  fmt::print("{:>6} {:>8} {:>12} {:>12} {:>14} {:>12} {:>12} {:>10}\n", "P", "network", "wall_s", "peak_rss_MiB",
             "step_sim_ms", "exact_ms", "exact_wall_s", "fast_diff");
  std::fflush(stdout);
  // Every size is checked before the first one runs: a bad one at the end fails in seconds.
  const double limit = memory_limit(a.max_memory);
  if (a.layers < 1 || a.layers > 1024) throw ConfigError(Location{"moesim bench"}, "layers", fmt::format("{} is outside [1, 1024]", a.layers));
  if (a.tokens < 1 || a.tokens > (1 << 24)) throw ConfigError(Location{"moesim bench"}, "tokens", fmt::format("{} is outside [1, 2^24]", a.tokens));
  for (int p : a.devices) {
    if (p < 1 || (p > 8 && p % 8 != 0) || p > (1 << 17))
      throw ConfigError(Location{"moesim bench"}, "devices", fmt::format("{}: use 1..8 or a multiple of 8, at most 131072", p));
    // 4 All-to-All matrices per layer (P x P doubles), kept with the step graph; per-pair flows when exact.
    const double pp = static_cast<double>(p) * p;
    require_memory(4.0 * a.layers * pp * 8.0 + (p <= a.exact_up_to ? pp * 256.0 : 0.0), limit, fmt::format("bench engine at P = {}", p),
                   fmt::format("{} All-to-All matrices of {} x {} doubles", 4 * a.layers, p, p));
  }
  for (int p : a.devices) {
    const Measure fast = measure(a, p, "fast");
    std::string exact_ms = "-", exact_wall = "-", diff = "-";
    if (p <= a.exact_up_to) {
      const Measure ex = measure(a, p, "exact");
      exact_ms = fmt::format("{:.4f}", ex.step * 1e3);
      exact_wall = fmt::format("{:.2f}", ex.wall);
      diff = fmt::format("{:+.3f}%", (fast.step - ex.step) / ex.step * 100);
    }
    fmt::print("{:>6} {:>8} {:>12.2f} {:>12.1f} {:>14.4f} {:>12} {:>12} {:>10}\n", p, "fast", fast.wall, fast.rss,
               fast.step * 1e3, exact_ms, exact_wall, diff);
    std::fflush(stdout);
  }
}

MOESIM_COMMAND(80, [](CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  auto* cmd = app.add_subcommand("bench", "Benchmark the simulator itself (wall time, peak RSS): bench engine | serving | deepseek | decode | small");
  auto scen = std::make_shared<ScenarioBenchArgs>();
  cmd->add_option("what", args->what, "What to benchmark: engine | serving | deepseek | decode | small (docs/performance.md)")->required();
  auto* devices = cmd->add_option("--devices", args->devices, "Cluster sizes P (8 per node)")->delimiter(',');
  cmd->add_option("--baseline", scen->baseline, "deepseek/decode/small: also measure this moesim binary (before column)");
  cmd->add_option("--baseline-up-to", scen->baseline_up_to, "deepseek: run the baseline only up to this many GPUs");
  cmd->add_option("--timeout", scen->timeout_s, "deepseek/decode/small: stop a run after this many seconds");
  cmd->add_option("--repeat", scen->repeat, "small: runs of the scenario");
  cmd->add_option("--scenario", scen->scenario, "deepseek/decode/small: scenario file instead of the default");
  cmd->add_option("--exact-up-to", args->exact_up_to, "Also run per-pair flows (exact) for P up to this");
  cmd->add_option("--layers", args->layers, "MoE layers in the step");
  cmd->add_option("--tokens", args->tokens, "Tokens per device per step");
  cmd->add_option("--seed", args->seed, "Routing seed");
  cmd->add_option("--max-memory", args->max_memory, "Refuse sizes estimated to need more memory (default: physical memory)");
  cmd->callback([args, scen, devices] {
    if (!is_scenario_bench(args->what)) return bench(*args);
    scen->what = args->what;
    if (devices->count() > 0) scen->devices = args->devices;
    bench_scenarios(*scen);
  });
});

}  // namespace
}  // namespace moesim::app
