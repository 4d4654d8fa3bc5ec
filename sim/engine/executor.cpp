// The graph executor: stream queues, dependencies, phases of flows as SimGrid parallel tasks.
#include "sim/engine/executor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>

namespace moesim::engine {

namespace sg4 = simgrid::s4u;
using graph::Stream;

namespace {

constexpr double kTimeTolerance = 1e-12;  // seconds: timers this close to now are due

int32_t queue_id(int32_t device, Stream s) { return device * 3 + static_cast<int32_t>(s); }

struct Duration {
  double operator()(const graph::ComputeWork& w) const { return w.duration.value; }
  double operator()(const graph::DelayWork& w) const { return w.duration.value; }
  template <class T>
  double operator()(const T&) const { return -1.0; }  // not a fixed-duration task
};

}  // namespace

StepExecutor::StepExecutor(const hw::Topology& topo, const Platform& platform, const EngineOptions& opt)
    : topo_(topo), platform_(platform), opt_(opt), exact_(opt.network == "exact"), routes_(topo),
      edge_bytes_(static_cast<size_t>(topo.edge_count()), 0.0),
      vertex_slot_(static_cast<size_t>(topo.vertex_count()), -1), edge_load_(edge_bytes_.size(), 0.0),
      vertex_sm_(static_cast<size_t>(topo.vertex_count()), 0.0) {}

// SM budget of a flow (decompose.cpp apply_sm_budget): its SM seconds on its source and
// destination device become work on their hosts in the parallel task that carries the flow.
void StepExecutor::add_sm(const Flow& f) {
  if (f.kind != Endpoints::device_to_device) return;
  auto add = [&](int32_t device, double s) {
    if (!(s > 0)) return;
    double& w = vertex_sm_[static_cast<size_t>(topo_.device_vertex(device))];
    if (w == 0.0) sm_touched_.push_back(topo_.device_vertex(device));
    w += s;
  };
  add(f.src, f.sm_src_s);
  add(f.dst, f.sm_dst_s);
}

void StepExecutor::clear_sm() {
  for (hw::VertexId v : sm_touched_) vertex_sm_[static_cast<size_t>(v)] = 0.0;
  sm_touched_.clear();
}

void StepExecutor::prepare(const graph::StepGraph& g) {
  g.validate();
  g_ = &g;
  const size_t n = g.tasks.size();
  state_.assign(n, TaskState{});
  dependents_.assign(n, {});
  queue_tasks_.assign(static_cast<size_t>(topo_.device_count()) * 3, {});
  queue_head_.assign(queue_tasks_.size(), 0);
  held_sms_.assign(static_cast<size_t>(topo_.device_count()), 0);
  running_compute_.assign(static_cast<size_t>(topo_.device_count()), {});
  for (size_t t = 0; t < n; ++t) {
    const auto& task = g.tasks[t];
    auto& s = state_[t];
    for (int32_t d : task.deps) dependents_[static_cast<size_t>(d)].push_back(static_cast<int32_t>(t));
    s.waiting_deps = static_cast<int32_t>(task.deps.size());
    for (int32_t dev : graph::StepGraph::devices_of(task)) {
      if (dev < 0 || dev >= topo_.device_count())
        throw std::invalid_argument(fmt::format("task {} '{}': device {} outside the cluster's {} devices", t,
                                                task.name, dev, topo_.device_count()));
      s.queues.push_back(queue_id(dev, task.stream));
    }
    std::sort(s.queues.begin(), s.queues.end());
    s.queues.erase(std::unique(s.queues.begin(), s.queues.end()), s.queues.end());
    s.waiting_heads = static_cast<int32_t>(s.queues.size());
    for (int32_t q : s.queues) queue_tasks_[static_cast<size_t>(q)].push_back(static_cast<int32_t>(t));
  }
  timeline_ = graph::StepTimeline{};
  timeline_.step = g.step;
  timeline_.start = sg4::Engine::get_clock();
  timeline_.tasks.assign(n, graph::TaskTiming{});
  for (size_t t = 0; t < n; ++t) timeline_.tasks[t].task = static_cast<graph::TaskId>(t);
  finished_ = 0;
  ready_.clear();
  for (const auto& q : queue_tasks_)
    if (!q.empty() && --state_[static_cast<size_t>(q.front())].waiting_heads == 0 &&
        state_[static_cast<size_t>(q.front())].waiting_deps == 0)
      ready_.push_back(q.front());
  for (size_t t = 0; t < n; ++t)
    if (state_[t].queues.empty() && state_[t].waiting_deps == 0) ready_.push_back(static_cast<int32_t>(t));
}

graph::StepTimeline StepExecutor::execute(const graph::StepGraph& g) {
  prepare(g);
  const size_t n = g.tasks.size();
  while (finished_ < n) {
    while (!ready_.empty()) {
      const int32_t t = ready_.back();
      ready_.pop_back();
      start_task(t);
    }
    const double now = sg4::Engine::get_clock();
    if (!timers_.empty() && timers_.top().time <= now + kTimeTolerance) {
      const Timer tm = timers_.top();
      timers_.pop();
      on_timer(tm);
      continue;
    }
    if (finished_ == n) break;
    if (execs_.empty() && timers_.empty()) deadlock();
    const double timeout = timers_.empty() ? -1.0 : std::max(0.0, timers_.top().time - now);
    if (execs_.empty()) {
      sg4::this_actor::sleep_for(timeout);
      continue;
    }
    const ssize_t i = sg4::Exec::wait_any_for(execs_, timeout);
    if (i < 0) continue;
    const int32_t t = exec_task_[static_cast<size_t>(i)];
    execs_[static_cast<size_t>(i)] = execs_.back();
    execs_.pop_back();
    exec_task_[static_cast<size_t>(i)] = exec_task_.back();
    exec_task_.pop_back();
    part_done(t);
  }
  timeline_.end = timeline_.start;
  for (const auto& tt : timeline_.tasks) timeline_.end = std::max(timeline_.end, tt.end);
  g_ = nullptr;
  return std::move(timeline_);
}

void StepExecutor::add_timer(double time, int32_t task, int32_t flow, uint64_t gen) {
  timers_.push({time, seq_++, task, flow, gen});
}

// Compute rate of a device while collectives hold some of its SMs: (sm_count - held) / sm_count;
// 1 for devices without an SM count or with nothing held.
double StepExecutor::compute_rate(int32_t device) const {
  const int32_t total = topo_.device(device).sm_count;
  const int32_t held = held_sms_[static_cast<size_t>(device)];
  if (total <= 0 || held <= 0) return 1.0;
  return static_cast<double>(std::max(total - held, 0)) / total;
}

// Re-times the compute tasks running on a device after its held SMs changed: the work done so far
// at the old rate is kept, the rest runs at the new one (rate 0: paused until SMs come back).
void StepExecutor::rescale_compute(int32_t device) {
  const double now = sg4::Engine::get_clock(), rate = compute_rate(device);
  for (int32_t t : running_compute_[static_cast<size_t>(device)]) {
    auto& s = state_[static_cast<size_t>(t)];
    s.remaining = std::max(0.0, s.remaining - (now - s.since) * s.rate);
    s.since = now;
    s.rate = rate;
    ++s.gen;
    if (rate > 0) add_timer(now + s.remaining / rate, t, kEnd, s.gen);
  }
}

// A collective with comm_sms takes (sign +1) or gives back (-1) that many SMs on each member.
void StepExecutor::hold_sms(int32_t t, int32_t sign) {
  const auto* c = std::get_if<graph::CollectiveWork>(&g_->tasks[static_cast<size_t>(t)].work);
  if (!c || c->comm_sms <= 0 || c->group.size() <= 1) return;
  std::vector<int32_t> members = c->group;
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  for (int32_t d : members) {
    if (topo_.device(d).sm_count <= 0) continue;
    held_sms_[static_cast<size_t>(d)] += sign * c->comm_sms;
    rescale_compute(d);
  }
}

void StepExecutor::start_task(int32_t t) {
  const auto& task = g_->tasks[static_cast<size_t>(t)];
  auto& s = state_[static_cast<size_t>(t)];
  const double now = sg4::Engine::get_clock();
  timeline_.tasks[static_cast<size_t>(t)].start = now;
  const double duration = std::visit(Duration{}, task.work);
  if (const auto* w = std::get_if<graph::ComputeWork>(&task.work)) {  // at the device's current rate
    s.remaining = duration;
    s.since = now;
    s.rate = compute_rate(w->device);
    running_compute_[static_cast<size_t>(w->device)].push_back(t);
    if (s.rate > 0) add_timer(now + duration / s.rate, t, kEnd, s.gen);
    return;
  }
  if (duration >= 0) {
    add_timer(now + duration, t, kEnd);
    return;
  }
  hold_sms(t, +1);
  if (const auto* c = std::get_if<graph::CollectiveWork>(&task.work))
    s.phases = decompose_collective(*c, topo_, opt_.alltoall, opt_.ring);
  else if (const auto* c = std::get_if<graph::CopyWork>(&task.work))
    s.phases = decompose_copy(*c);
  else if (const auto* r = std::get_if<graph::StorageReadWork>(&task.work))
    s.phases = decompose_storage_read(*r, topo_);
  s.phase = 0;
  start_phase(t);
}

void StepExecutor::start_phase(int32_t t) {
  auto& s = state_[static_cast<size_t>(t)];
  while (s.phase < s.phases.size() && s.phases[s.phase].flows.empty()) ++s.phase;
  if (s.phase == s.phases.size()) {
    finish_task(t);
    return;
  }
  const Phase& p = s.phases[s.phase];
  const double now = sg4::Engine::get_clock();
  if (exact_) {
    s.outstanding = static_cast<int64_t>(p.flows.size());
    for (size_t i = 0; i < p.flows.size(); ++i) {
      const Flow& f = p.flows[i];
      const double lat = p.latency_steps * routes_.latency(f) + f.fixed_latency;
      if (lat > 0) add_timer(now + lat, t, static_cast<int32_t>(i));
      else launch_flow(t, f);
    }
    return;
  }
  double lat = 0;
  for (const Flow& f : p.flows) lat = std::max(lat, p.latency_steps * routes_.latency(f) + f.fixed_latency);
  s.outstanding = 1;
  if (lat > 0) add_timer(now + lat, t, kPhase);
  else launch_phase(t, p);
}

void StepExecutor::on_timer(const Timer& tm) {
  auto& s = state_[static_cast<size_t>(tm.task)];
  if (tm.flow == kEnd) {
    if (tm.gen == s.gen && !s.done) finish_task(tm.task);  // else stale: the task was re-timed
  }
  else if (tm.flow == kPhase) launch_phase(tm.task, s.phases[s.phase]);
  else launch_flow(tm.task, s.phases[s.phase].flows[static_cast<size_t>(tm.flow)]);
}

void StepExecutor::launch_flow(int32_t t, const Flow& f) {
  loads_.clear();
  for (hw::EdgeId e : routes_.route(f)) loads_.emplace_back(e, f.bytes);
  add_sm(f);
  // Exact mode: a flow is one parallel task over its whole route, never split.
  const size_t launched = launch_ptasks(t, loads_, SIZE_MAX);
  clear_sm();
  if (launched == 0) part_done(t);
}

void StepExecutor::launch_phase(int32_t t, const Phase& p) {
  // Per-link load of the whole phase: the parallel task ends when its bottleneck link has
  // carried its load (all pairs progress at one rate), sharing links fairly with other tasks.
  std::vector<double>& load = edge_load_;  // all zero between calls
  std::vector<hw::EdgeId>& touched = touched_;
  touched.clear();
  for (const Flow& f : p.flows) {
    if (f.bytes <= 0) continue;
    add_sm(f);
    auto add = [&](hw::EdgeId e) {
      if (load[static_cast<size_t>(e)] == 0.0) touched.push_back(e);
      load[static_cast<size_t>(e)] += f.bytes;
    };
    if (f.kind == Endpoints::device_to_device)
      for (hw::EdgeId e : routes_.device_route(f.src, f.dst)) add(e);
    else
      for (hw::EdgeId e : routes_.route(f)) add(e);
  }
  std::sort(touched.begin(), touched.end());
  loads_.clear();
  for (hw::EdgeId e : touched) {
    loads_.emplace_back(e, load[static_cast<size_t>(e)]);
    load[static_cast<size_t>(e)] = 0.0;
  }
  auto& s = state_[static_cast<size_t>(t)];
  const size_t launched = launch_ptasks(t, loads_, static_cast<size_t>(opt_.ptask_max_vertices));
  clear_sm();
  if (launched == 0) part_done(t);  // nothing to carry (outstanding is 1)
  else s.outstanding = static_cast<int64_t>(launched);
}

// Launches per-edge loads as SimGrid parallel tasks: consecutive edges of `loads` (edge order,
// i.e. topology locality) are gathered into one task until the next edge would bring its host
// count above max_vertices; then that task is launched and the next begins. Returns how many.
size_t StepExecutor::launch_ptasks(int32_t t, const Loads& loads, size_t max_vertices) {
  size_t launched = 0;
  auto is_new = [&](hw::VertexId v) { return vertex_slot_[static_cast<size_t>(v)] < 0; };
  auto slot = [&](hw::VertexId v) {
    int32_t& s = vertex_slot_[static_cast<size_t>(v)];
    if (s < 0) {
      s = static_cast<int32_t>(chunk_hosts_.size());
      chunk_hosts_.push_back(platform_.hosts[static_cast<size_t>(v)]);
      chunk_vertices_.push_back(v);
    }
    return static_cast<size_t>(s);
  };
  for (const auto& [e, b] : loads) {
    if (b <= 0) continue;
    edge_bytes_[static_cast<size_t>(e)] += b;
    const hw::VertexId from = topo_.source(e), to = topo_.target(e);
    const size_t extra = static_cast<size_t>(is_new(from)) + static_cast<size_t>(is_new(to));
    if (!chunk_cells_.empty() && chunk_hosts_.size() + extra > max_vertices) {
      launch_chunk(t);
      ++launched;
    }
    const size_t i = slot(from), j = slot(to);
    chunk_cells_.push_back({i, j, b});
  }
  if (!chunk_cells_.empty()) {
    launch_chunk(t);
    ++launched;
  }
  return launched;
}

// Starts the assembled parallel task (chunk_*) and clears the scratch for the next one.
void StepExecutor::launch_chunk(int32_t t) {
  const size_t n = chunk_hosts_.size();
  matrix_.assign(n * n, 0.0);
  flops_.assign(n, 0.0);
  for (const Cell& c : chunk_cells_) matrix_[c.from * n + c.to] += c.bytes;
  for (size_t i = 0; i < n; ++i) {  // SM budget: the host's work, in the first task holding it
    double& sm = vertex_sm_[static_cast<size_t>(chunk_vertices_[i])];
    flops_[i] = sm * kHostSpeed;
    sm = 0.0;
  }
  auto exec = sg4::this_actor::exec_init(chunk_hosts_, flops_, matrix_);
  exec->start();
  execs_.push_back(exec);
  exec_task_.push_back(t);
  for (hw::VertexId v : chunk_vertices_) vertex_slot_[static_cast<size_t>(v)] = -1;
  chunk_hosts_.clear();
  chunk_vertices_.clear();
  chunk_cells_.clear();
}

void StepExecutor::part_done(int32_t t) {
  auto& s = state_[static_cast<size_t>(t)];
  if (--s.outstanding > 0) return;
  ++s.phase;
  start_phase(t);
}

void StepExecutor::finish_task(int32_t t) {
  auto& s = state_[static_cast<size_t>(t)];
  s.done = true;
  if (const auto* w = std::get_if<graph::ComputeWork>(&g_->tasks[static_cast<size_t>(t)].work)) {
    auto& run = running_compute_[static_cast<size_t>(w->device)];
    run.erase(std::find(run.begin(), run.end(), t));
  } else {
    hold_sms(t, -1);
  }
  s.phases.clear();
  s.phases.shrink_to_fit();
  timeline_.tasks[static_cast<size_t>(t)].end = sg4::Engine::get_clock();
  ++finished_;
  if (opt_.progress && (finished_ % EngineOptions::kProgressEvery == 0 || finished_ == state_.size()))
    opt_.progress(Progress{g_->step, finished_, state_.size(), sg4::Engine::get_clock(), &g_->tasks[static_cast<size_t>(t)].name});
  for (int32_t d : dependents_[static_cast<size_t>(t)])
    if (--state_[static_cast<size_t>(d)].waiting_deps == 0 && state_[static_cast<size_t>(d)].waiting_heads == 0)
      ready_.push_back(d);
  for (int32_t q : s.queues) {
    auto& head = queue_head_[static_cast<size_t>(q)];
    const auto& tasks = queue_tasks_[static_cast<size_t>(q)];
    ++head;
    if (head < tasks.size()) {
      auto& next = state_[static_cast<size_t>(tasks[head])];
      if (--next.waiting_heads == 0 && next.waiting_deps == 0) ready_.push_back(tasks[head]);
    }
  }
}

void StepExecutor::deadlock() const {
  std::string stuck;
  int shown = 0;
  for (size_t t = 0; t < state_.size() && shown < 5; ++t)
    if (!state_[t].done) {
      stuck += fmt::format("{}'{}' (waits on {} deps, {} stream queues)", shown ? ", " : "", g_->tasks[t].name,
                           state_[t].waiting_deps, state_[t].waiting_heads);
      ++shown;
    }
  throw std::invalid_argument(fmt::format(
      "step {}: tasks can never start: a task depends on a task queued after it on the same stream: {}", g_->step, stuck));
}

void StepExecutor::cancel_all() {
  for (auto& e : execs_) e->cancel();
  execs_.clear();
  exec_task_.clear();
}

}  // namespace moesim::engine
