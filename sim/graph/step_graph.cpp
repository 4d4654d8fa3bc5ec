// StepGraph helpers: names, the devices a task occupies, and validation.
#include "sim/graph/step_graph.hpp"

#include <stdexcept>
#include <string>

namespace moesim::graph {

std::string_view stream_name(Stream s) {
  switch (s) {
    case Stream::compute: return "compute";
    case Stream::comm: return "comm";
    case Stream::io: return "io";
  }
  return "?";
}

std::string_view mem_category_name(MemCategory c) {
  static constexpr std::string_view names[kMemCategories] = {
      "weights", "gradients", "optimizer_state", "activations", "kv_cache", "a2a_buffers", "workspace", "expert_cache"};
  return names[static_cast<int>(c)];
}

std::string_view collective_name(CollectiveKind k) {
  static constexpr std::string_view names[] = {"alltoallv", "all_gather", "reduce_scatter", "all_reduce",
                                               "broadcast", "reduce", "send_recv"};
  return names[static_cast<int>(k)];
}

namespace {

struct DevicesOf {
  std::vector<DeviceId> operator()(const ComputeWork& w) const { return {w.device}; }
  std::vector<DeviceId> operator()(const CollectiveWork& w) const { return w.group; }
  std::vector<DeviceId> operator()(const CopyWork& w) const { return {w.device}; }
  std::vector<DeviceId> operator()(const StorageReadWork& w) const { return {w.device}; }
  std::vector<DeviceId> operator()(const DelayWork& w) const { return {w.device}; }
};

[[noreturn]] void invalid(const Task& t, TaskId id, const std::string& what) {
  throw std::invalid_argument("task " + std::to_string(id) + " '" + t.name + "': " + what);
}

void validate_work(const Task& t, TaskId id) {
  if (const auto* c = std::get_if<ComputeWork>(&t.work)) {
    if (!(c->duration.value >= 0.0)) invalid(t, id, "compute task without a duration (set ComputeWork::duration)");
  } else if (const auto* d = std::get_if<DelayWork>(&t.work)) {
    if (!(d->duration.value >= 0.0)) invalid(t, id, "negative delay");
  } else if (const auto* w = std::get_if<CollectiveWork>(&t.work)) {
    const size_t n = w->group.size();
    if (n == 0) invalid(t, id, "collective with an empty group");
    const bool matrix_kind = w->kind == CollectiveKind::alltoallv || w->kind == CollectiveKind::send_recv;
    if (matrix_kind && w->matrix.size() != n * n)
      invalid(t, id, "matrix has " + std::to_string(w->matrix.size()) + " entries, group of " + std::to_string(n) +
                         " needs " + std::to_string(n * n));
    for (double b : w->matrix)
      if (!(b >= 0.0)) invalid(t, id, "negative or NaN bytes in the matrix");
    if (!(w->bytes.value >= 0.0)) invalid(t, id, "negative bytes");
  }
}

}  // namespace

std::vector<DeviceId> StepGraph::devices_of(const Task& t) { return std::visit(DevicesOf{}, t.work); }

void StepGraph::validate() const {
  const auto n = static_cast<TaskId>(tasks.size());
  for (TaskId i = 0; i < n; ++i) {
    const Task& t = tasks[static_cast<size_t>(i)];
    for (TaskId d : t.deps) {
      if (d < 0 || d >= n) invalid(t, i, "depends on missing task " + std::to_string(d));
      if (d == i) invalid(t, i, "depends on itself");
    }
    validate_work(t, i);
  }
  // Cycle check: iterative DFS with colours.
  std::vector<uint8_t> colour(tasks.size(), 0);
  std::vector<std::pair<TaskId, size_t>> stack;
  for (TaskId root = 0; root < n; ++root) {
    if (colour[static_cast<size_t>(root)] != 0) continue;
    stack.push_back({root, 0});
    colour[static_cast<size_t>(root)] = 1;
    while (!stack.empty()) {
      auto& [v, next] = stack.back();
      const auto& deps = tasks[static_cast<size_t>(v)].deps;
      if (next == deps.size()) {
        colour[static_cast<size_t>(v)] = 2;
        stack.pop_back();
        continue;
      }
      TaskId w = deps[next++];
      if (colour[static_cast<size_t>(w)] == 1)
        invalid(tasks[static_cast<size_t>(w)], w, "dependency cycle through task " + std::to_string(v));
      if (colour[static_cast<size_t>(w)] == 0) {
        colour[static_cast<size_t>(w)] = 1;
        stack.push_back({w, 0});
      }
    }
  }
}

}  // namespace moesim::graph
