#include "sim/engine/input_guard.hpp"

#include <fmt/format.h>

#include <cmath>

#include "sim/core/errors.hpp"
#include "sim/core/units.hpp"

namespace moesim::engine {
namespace {

bool within(double v, Dimension d) {
  const auto lim = quantity_limits(d);
  return std::isfinite(v) && v >= 0 && v <= lim.max && (v == 0 || v >= lim.min_nonzero);
}

[[noreturn]] void refuse(const std::string& what, const std::string& detail) {
  throw InfeasibleError(fmt::format("{}: {} (the engine cannot simulate it; check the inputs that produce it)", what, detail));
}

void check_seconds(const graph::Task& t, double s) {
  if (!within(s, Dimension::seconds)) refuse(fmt::format("task {}", t.name), fmt::format("duration {} s is not a finite time in [0, 1e7 s]", s));
}
void check_bytes(const graph::Task& t, double b) {
  if (!within(b, Dimension::bytes)) refuse(fmt::format("task {}", t.name), fmt::format("{} bytes is not a finite size in [0, 2^70 B]", b));
}
void check_device(const graph::Task& t, int32_t d, int32_t devices) {
  if (d < 0 || d >= devices) refuse(fmt::format("task {}", t.name), fmt::format("device {} outside [0, {})", d, devices));
}

}  // namespace

void check_topology(const hw::Topology& topo) {
  for (hw::EdgeId e = 0; e < topo.edge_count(); ++e) {
    const auto& edge = topo.edge(e);
    const double cap = edge.capacity();
    if (!(std::isfinite(cap) && cap >= quantity_limits(Dimension::bytes_per_second).min_nonzero &&
          cap <= quantity_limits(Dimension::bytes_per_second).max))
      refuse(fmt::format("link {}", edge.name), fmt::format("capacity {} B/s (bandwidth x lanes x efficiency) is outside [1 kB/s, 1 EB/s]", cap));
    if (!within(edge.latency(), Dimension::seconds) || !within(edge.link.message_overhead.value, Dimension::seconds))
      refuse(fmt::format("link {}", edge.name), "latency or message overhead is not a finite time in [0, 1e7 s]");
  }
}

void check_step_graph(const graph::StepGraph& g, int32_t devices) {
  for (const auto& t : g.tasks) {
    if (auto* c = std::get_if<graph::ComputeWork>(&t.work)) {
      check_device(t, c->device, devices);
      check_seconds(t, c->duration.value);
    } else if (auto* d = std::get_if<graph::DelayWork>(&t.work)) {
      check_device(t, d->device, devices);
      check_seconds(t, d->duration.value);
    } else if (auto* cp = std::get_if<graph::CopyWork>(&t.work)) {
      check_device(t, cp->device, devices);
      check_bytes(t, cp->bytes.value);
    } else if (auto* r = std::get_if<graph::StorageReadWork>(&t.work)) {
      check_device(t, r->device, devices);
      check_bytes(t, r->bytes.value);
    } else if (auto* col = std::get_if<graph::CollectiveWork>(&t.work)) {
      for (auto m : col->group) check_device(t, m, devices);
      check_bytes(t, col->bytes.value);
      for (double b : col->matrix) check_bytes(t, b);
      for (double b : col->node_bytes) check_bytes(t, b);
    }
  }
}

}  // namespace moesim::engine
