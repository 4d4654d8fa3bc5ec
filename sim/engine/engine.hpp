#pragma once
// The engine: executes StepGraphs on a topology with SimGrid and returns a Timeline. This header
// has no SimGrid types; sim/engine/*.cpp is the only code that includes <simgrid/...>.
//
// Semantics (docs/engine.md):
//  - Steps run one after another; step s+1 starts when every task of step s has ended.
//  - Streams are CUDA-like: on each (device, stream) tasks run one at a time in graph order (task
//    index), and a task starts when its dependencies have ended and every earlier task of each of
//    its (device, stream) queues has ended. A collective occupies the stream of every member.
//  - Compute and delay tasks take their given duration. Transfers share links max-min fairly
//    (SimGrid ptask_L07 host model, exact alpha-beta: latency + bytes / bandwidth for one flow).
//  - network = "exact": every (src, dst) pair of a collective is its own flow.
//    network = "fast" : each phase of a collective is ONE SimGrid parallel task carrying the
//    per-link loads of all its pairs; it ends when its bottleneck link has carried its load.
//
// One SimGrid engine per process: run() may be called once per process. For sweeps, call it in a
// forked child (run_in_child below).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hardware/topology/topology.hpp"
#include "sim/core/config.hpp"
#include "sim/graph/step_graph.hpp"
#include "sim/graph/timeline.hpp"

namespace moesim::engine {

// Where a run is, for a progress display (the app decides whether and how to show it).
struct Progress {
  int64_t step = 0;                  // step being executed (0-based)
  size_t tasks_done = 0;             // of that step
  size_t tasks_total = 0;
  double simulated_s = 0;            // simulated clock
  const std::string* last_task = nullptr;  // name of the task that ended last
};

struct EngineOptions {
  std::string network = "fast";      // "exact" = per-pair flows
  std::string alltoall = "direct";   // "hierarchical" | "node_dedup"
  std::string ring = "ring";         // all_gather / reduce_scatter / all_reduce: "ring" | "direct"
  bool simgrid_log = false;          // let SimGrid print its INFO logs
  // Fast mode: a phase whose parallel task would span more topology vertices (SimGrid hosts) than
  // this is launched as several parallel tasks of at most this many vertices each (SimGrid's
  // ptask byte matrix is dense: hosts^2 doubles). docs/engine.md, "Split phases".
  int64_t ptask_max_vertices = 1024;
  // Called every kProgressEvery finished tasks and when a step ends; empty = no reports.
  std::function<void(const Progress&)> progress;
  static constexpr size_t kProgressEvery = 2048;
};

const std::vector<std::string>& network_modes();        // exact, fast
const std::vector<std::string>& alltoall_algorithms();  // direct, hierarchical, node_dedup
const std::vector<std::string>& ring_algorithms();      // ring, direct

EngineOptions read_engine_options(config::Table engine);  // the [engine] table (may be empty)

// Called before each step with the step index (0, 1, ...) and everything that ran so far; returns
// the next step's graph, or nullopt to stop. Exceptions thrown here propagate out of run().
using StepSource =
    std::function<std::optional<graph::StepGraph>(int64_t step, const graph::Timeline& so_far)>;

// Runs every step the source gives. Throws std::invalid_argument for an invalid graph,
// InfeasibleError for an impossible collective (e.g. hierarchical on uneven nodes) or a second
// call in the same process.
graph::Timeline run(const hw::Topology& topo, const StepSource& next_step, const EngineOptions& opt);

// As run(), for a source that keeps its graphs (no copy): the graph it returns must stay valid
// until the next call; nullptr stops.
using StepRefSource = std::function<const graph::StepGraph*(int64_t step, const graph::Timeline& so_far)>;
graph::Timeline run_refs(const hw::Topology& topo, const StepRefSource& next_step, const EngineOptions& opt);

// Convenience: runs a fixed list of graphs.
graph::Timeline run_graphs(const hw::Topology& topo, const std::vector<graph::StepGraph>& graphs,
                           const EngineOptions& opt);

// Runs fn in a forked child process (its own SimGrid engine) and returns the string it returned.
// Throws std::runtime_error carrying the child's exception message if it failed.
std::string run_in_child(const std::function<std::string()>& fn);

}  // namespace moesim::engine
