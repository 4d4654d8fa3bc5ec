// run(): one SimGrid engine, one controller actor executing the steps one after another.
#include "sim/engine/engine.hpp"

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <exception>
#include <simgrid/s4u.hpp>

#include "sim/core/errors.hpp"
#include "sim/engine/executor.hpp"
#include "sim/engine/input_guard.hpp"
#include "sim/engine/platform.hpp"

namespace moesim::engine {

namespace sg4 = simgrid::s4u;

namespace {

std::atomic<bool> g_engine_used{false};

// The network model (docs/engine.md): ptask_L07 with no TCP window cap. Every link is
// latency-free inside SimGrid (latencies are paid by the executor), so a flow of s bytes over a
// route of latency L and bottleneck bandwidth B takes exactly L + s / B, and flows sharing a link
// share it max-min fairly (no RTT unfairness, no LV08 factors).
std::vector<std::string> engine_args(const EngineOptions& opt) {
  std::vector<std::string> a = {"moesim"};
  if (!opt.simgrid_log) a.push_back("--log=root.thresh:critical");
  a.push_back("--cfg=host/model:ptask_L07");
  a.push_back("--cfg=network/TCP-gamma:0");
#ifdef MOESIM_SANITIZER_BUILD
  // Debian's SimGrid switches actor stacks without telling AddressSanitizer (no
  // __sanitizer_start_switch_fiber annotations), so an exception thrown inside an actor can raise a
  // false stack-use-after-scope report ("ASan is ignoring requested __asan_handle_no_return",
  // google/sanitizers#189). Thread contexts give every actor a real thread stack ASan knows; the
  // simulated results are the same (SimGrid runs one actor at a time in every factory).
  a.push_back("--cfg=contexts/factory:thread");
#endif
  return a;
}

graph::LinkUsage usage_of(const hw::Topology& topo, hw::EdgeId e, double bytes) {
  const auto& edge = topo.edge(e);
  return {edge.name, bytes, bytes / edge.capacity(), edge.capacity()};
}

// The bytes each edge carried in the step just executed: the executor's running totals minus
// their values before the step (`before` is advanced to the totals).
void record_link_bytes(const std::vector<double>& totals, std::vector<double>& before, graph::StepTimeline& st) {
  for (size_t i = 0; i < totals.size(); ++i) {
    const double carried = totals[i] - before[i];
    if (carried > 0) st.link_bytes.emplace_back(static_cast<int64_t>(i), carried);
    before[i] = totals[i];
  }
}

}  // namespace

const std::vector<std::string>& network_modes() {
  static const std::vector<std::string> v = {"exact", "fast"};
  return v;
}
const std::vector<std::string>& alltoall_algorithms() {
  static const std::vector<std::string> v = {"direct", "hierarchical", "node_dedup"};
  return v;
}
const std::vector<std::string>& ring_algorithms() {
  static const std::vector<std::string> v = {"ring", "direct"};
  return v;
}

EngineOptions read_engine_options(config::Table t) {
  EngineOptions o;
  o.network = t.choice_or("network", network_modes(), o.network);
  o.alltoall = t.choice_or("alltoall", alltoall_algorithms(), o.alltoall);
  o.ring = t.choice_or("ring", ring_algorithms(), o.ring);
  o.simgrid_log = t.boolean_or("simgrid_log", o.simgrid_log);
  o.ptask_max_vertices = t.integer_in_or("ptask_max_vertices", 2, int64_t{1} << 20, o.ptask_max_vertices);
  t.finish();
  return o;
}

graph::Timeline run(const hw::Topology& topo, const StepSource& next_step, const EngineOptions& opt) {
  std::optional<graph::StepGraph> held;
  return run_refs(topo, [&](int64_t step, const graph::Timeline& so_far) -> const graph::StepGraph* {
    held = next_step(step, so_far);
    return held ? &*held : nullptr;
  }, opt);
}

graph::Timeline run_refs(const hw::Topology& topo, const StepRefSource& next_step, const EngineOptions& opt) {
  if (g_engine_used.exchange(true))
    throw InfeasibleError("engine::run: one SimGrid simulation per process (run sweeps in forked children: "
                          "engine::run_in_child)");
  check_topology(topo);  // before SimGrid sees a number it would abort on
  auto args = engine_args(opt);
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  int argc = static_cast<int>(argv.size());
  sg4::Engine e(&argc, argv.data());
  const Platform platform = build_platform(topo);

  graph::Timeline timeline;
  std::exception_ptr error;
  sg4::Actor::create("moesim-controller", platform.hosts.front(), [&] {
    StepExecutor exec(topo, platform, opt);
    std::vector<double> before(exec.edge_bytes().size(), 0.0);
    try {
      for (int64_t step = 0;; ++step) {
        const graph::StepGraph* g = next_step(step, timeline);
        if (!g) break;
        check_step_graph(*g, topo.device_count());
        timeline.steps.push_back(exec.execute(*g));
        timeline.end = sg4::Engine::get_clock();
        record_link_bytes(exec.edge_bytes(), before, timeline.steps.back());
      }
    } catch (...) {
      error = std::current_exception();
      exec.cancel_all();
    }
    const auto& bytes = exec.edge_bytes();
    for (hw::EdgeId i = 0; i < topo.edge_count(); ++i)
      if (bytes[static_cast<size_t>(i)] > 0) timeline.links.push_back(usage_of(topo, i, bytes[static_cast<size_t>(i)]));
  });
  e.run();
  if (error) std::rethrow_exception(error);
  return timeline;
}

graph::Timeline run_graphs(const hw::Topology& topo, const std::vector<graph::StepGraph>& graphs,
                           const EngineOptions& opt) {
  return run(topo, [&](int64_t step, const graph::Timeline&) -> std::optional<graph::StepGraph> {
    if (step >= static_cast<int64_t>(graphs.size())) return std::nullopt;
    return graphs[static_cast<size_t>(step)];
  }, opt);
}

std::string run_in_child(const std::function<std::string()>& fn) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("run_in_child: pipe failed");
  std::fflush(nullptr);  // buffered output would otherwise be written by both processes
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("run_in_child: fork failed");
  if (pid == 0) {
    close(fds[0]);
    std::string out;
    int code = 0;
    try {
      out = "0" + fn();
    } catch (const std::exception& ex) {
      out = std::string("1") + ex.what();
      code = 1;
    }
    size_t off = 0;
    while (off < out.size()) {
      const ssize_t w = write(fds[1], out.data() + off, out.size() - off);
      if (w <= 0) break;
      off += static_cast<size_t>(w);
    }
    close(fds[1]);
    _exit(code);
  }
  close(fds[1]);
  std::string got;
  char buf[65536];
  ssize_t r;
  while ((r = read(fds[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(r));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (got.empty()) throw std::runtime_error(fmt::format("run_in_child: child ended without a result (status {})", status));
  if (got[0] != '0') throw std::runtime_error(got.substr(1));
  return got.substr(1);
}

}  // namespace moesim::engine
