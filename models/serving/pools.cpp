#include "models/serving/pools.hpp"

#include <fmt/format.h>

#include "sim/core/errors.hpp"

namespace moesim::serving {

workload::WorkloadContext pool_context(const workload::WorkloadContext& ctx, int32_t offset, int32_t devices) {
  if (offset == 0 && devices == ctx.cluster.devices) return ctx;
  workload::WorkloadContext c = ctx;
  c.cluster.devices = devices;
  c.cluster.node_of.assign(ctx.cluster.node_of.begin() + offset, ctx.cluster.node_of.begin() + offset + devices);
  if (!ctx.cluster.memory_bytes.empty())
    c.cluster.memory_bytes.assign(ctx.cluster.memory_bytes.begin() + offset, ctx.cluster.memory_bytes.begin() + offset + devices);
  c.compute_time = [timer = ctx.compute_time, offset](const graph::ComputeWork& w) {
    graph::ComputeWork g = w;
    g.device += offset;
    return timer(g);
  };
  const auto place = ctx.sharding->place(workload::PlacementRequest{0, 0, 0});
  for (const auto& holders : place.holders)
    for (int32_t d : holders)
      if (d >= devices)
        throw InfeasibleError(fmt::format("serving: a pool of {} devices (from device {}) does not hold a whole expert-parallel group "
                                          "(expert on device {}): make each pool a multiple of the EP degree",
                                          devices, offset, d));
  return c;
}

namespace {

void shift(graph::MemDelta& m, int32_t offset) { m.device += offset; }

struct ShiftWork {
  int32_t offset;
  void operator()(graph::ComputeWork& w) const { w.device += offset; }
  void operator()(graph::CollectiveWork& w) const {
    for (auto& d : w.group) d += offset;
    w.root += offset;
    w.node_bytes.clear();  // node ids are not shifted; node_dedup falls back to plain bytes
  }
  void operator()(graph::CopyWork& w) const { w.device += offset; }
  void operator()(graph::StorageReadWork& w) const { w.device += offset; }
  void operator()(graph::DelayWork& w) const { w.device += offset; }
};

}  // namespace

void merge_graph(graph::StepGraph& whole, graph::StepGraph part, int32_t offset) {
  const auto base = static_cast<graph::TaskId>(whole.tasks.size());
  for (auto& t : part.tasks) {
    std::visit(ShiftWork{offset}, t.work);
    for (auto& d : t.deps) d += base;
    for (auto& m : t.on_start) shift(m, offset);
    for (auto& m : t.on_end) shift(m, offset);
    whole.tasks.push_back(std::move(t));
  }
  for (auto& m : part.resident) {
    shift(m, offset);
    whole.resident.push_back(m);
  }
}

}  // namespace moesim::serving
