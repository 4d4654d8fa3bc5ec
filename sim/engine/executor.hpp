#pragma once
// Executes one StepGraph inside a running SimGrid actor (see engine.hpp for the semantics).
#include <memory>
#include <queue>
#include <vector>

#include "sim/engine/decompose.hpp"
#include "sim/engine/engine.hpp"
#include "sim/engine/platform.hpp"
#include "sim/engine/route_cache.hpp"

namespace moesim::engine {

class StepExecutor {
 public:
  StepExecutor(const hw::Topology& topo, const Platform& platform, const EngineOptions& opt);
  // Runs the graph from the current simulated time until its last task ends.
  graph::StepTimeline execute(const graph::StepGraph& g);
  // Bytes carried per topology edge so far.
  const std::vector<double>& edge_bytes() const { return edge_bytes_; }
  void cancel_all();  // after an error: cancel the activities still running

 private:
  struct TaskState {
    int32_t waiting_deps = 0;
    int32_t waiting_heads = 0;
    std::vector<int32_t> queues;  // (device, stream) queues the task is in
    std::vector<Phase> phases;
    size_t phase = 0;
    int64_t outstanding = 0;
    bool done = false;
    // Compute tasks under the SM budget: work left (seconds at the full rate), the rate since
    // `since`, and the generation of its end timer (a rate change makes older timers stale).
    double remaining = 0, rate = 1, since = 0;
    uint64_t gen = 0;
  };
  struct Timer {
    double time;
    uint64_t seq;
    int32_t task;
    int32_t flow;  // >= 0: start that flow (exact); kPhase: start the phase (fast); kEnd: task ends
    uint64_t gen = 0;  // kEnd of a compute task: the task's generation when it was set
    bool operator>(const Timer& o) const { return time != o.time ? time > o.time : seq > o.seq; }
  };
  static constexpr int32_t kPhase = -1;
  static constexpr int32_t kEnd = -2;

  void prepare(const graph::StepGraph& g);
  void start_task(int32_t t);
  void start_phase(int32_t t);
  void on_timer(const Timer& tm);
  void launch_flow(int32_t t, const Flow& f);
  void launch_phase(int32_t t, const Phase& p);
  using Loads = std::vector<std::pair<hw::EdgeId, double>>;
  size_t launch_ptasks(int32_t t, const Loads& loads, size_t max_vertices);
  void launch_chunk(int32_t t);
  void part_done(int32_t t);
  void finish_task(int32_t t);
  void make_ready(int32_t t);
  void add_timer(double time, int32_t task, int32_t flow, uint64_t gen = 0);
  // SM budget on the compute side: a device's compute runs at (sm_count - held) / sm_count while
  // collectives holding `held` of its SMs run (docs/engine.md "SM budget").
  void hold_sms(int32_t t, int32_t sign);
  double compute_rate(int32_t device) const;
  void rescale_compute(int32_t device);
  [[noreturn]] void deadlock() const;

  const hw::Topology& topo_;
  const Platform& platform_;
  EngineOptions opt_;
  bool exact_ = false;
  RouteCache routes_;
  std::vector<double> edge_bytes_;
  std::vector<int32_t> vertex_slot_;  // scratch: vertex -> index in a ptask's host list
  std::vector<int32_t> held_sms_;                   // per device: SMs held by running collectives
  std::vector<std::vector<int32_t>> running_compute_;  // per device: compute tasks running on it
  std::vector<double> edge_load_;     // scratch: per-edge load of the phase being launched (zero between uses)
  std::vector<hw::EdgeId> touched_;   // scratch: edges with a load in edge_load_
  Loads loads_;                       // scratch: the sorted per-edge loads of a phase or flow
  // Scratch: SM-budget seconds per vertex of the phase or flow being launched (zero between
  // uses), taken by the first parallel task holding the vertex; and the vertices that have some.
  std::vector<double> vertex_sm_;
  std::vector<hw::VertexId> sm_touched_;
  void add_sm(const Flow& f);
  void clear_sm();
  // Scratch of the parallel task being assembled (launch_ptasks): its hosts, the topology vertex
  // of each, its (source slot, target slot, bytes) cells, and the dense byte matrix SimGrid takes.
  struct Cell {
    size_t from, to;
    double bytes;
  };
  std::vector<simgrid::s4u::Host*> chunk_hosts_;
  std::vector<hw::VertexId> chunk_vertices_;
  std::vector<Cell> chunk_cells_;
  std::vector<double> matrix_, flops_;

  const graph::StepGraph* g_ = nullptr;
  std::vector<TaskState> state_;
  std::vector<std::vector<int32_t>> dependents_;
  std::vector<std::vector<int32_t>> queue_tasks_;
  std::vector<size_t> queue_head_;
  std::vector<int32_t> ready_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  uint64_t seq_ = 0;
  std::vector<simgrid::s4u::ExecPtr> execs_;
  std::vector<int32_t> exec_task_;
  graph::StepTimeline timeline_;
  size_t finished_ = 0;
};

}  // namespace moesim::engine
