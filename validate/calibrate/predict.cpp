// Held-out rows predicted through the engine (see predict.hpp).
#include "validate/calibrate/predict.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <sstream>

#include "hardware/compute_model.hpp"
#include "hardware/storage_model.hpp"
#include "hardware/topology/fabrics.hpp"
#include "sim/core/errors.hpp"
#include "sim/engine/engine.hpp"
#include "validate/common/lists.hpp"

namespace moesim::calibrate {
namespace {

// The CPU is its own host: an ideal host link (no latency, no bandwidth limit) so storage reads
// and copies are timed by the storage model alone.
hw::LinkSpec ideal_link() {
  hw::LinkSpec l;
  l.name = "in_process";
  l.bandwidth = BytesPerSecond(1e15);
  l.latency = Seconds(0);
  return l;
}

hw::Topology star(const hw::DeviceSpec& dev, int32_t devices, const hw::LinkSpec& link,
                  std::optional<hw::StorageSpec> storage, std::optional<hw::LinkSpec> backplane = std::nullopt) {
  hw::TopologyParams p;
  p.devices_per_node = devices;
  p.device = dev;
  p.host_link = ideal_link();
  p.nic = ideal_link();
  p.storage = std::move(storage);
  p.intra = std::make_shared<hw::NvSwitchFabric>(hw::NvSwitchFabric::Params{link, 1, std::move(backplane)});
  return hw::build_topology(std::move(p));
}

// Runs one step per graph in a child process and returns each step's first task duration.
std::vector<double> run_steps(const hw::Topology& topo, const std::vector<graph::StepGraph>& graphs) {
  const std::string out = engine::run_in_child([&] {
    engine::EngineOptions opt;
    opt.network = "exact";
    graph::Timeline tl = engine::run_graphs(topo, graphs, opt);
    std::string s;
    for (const auto& step : tl.steps) s += fmt::format("{:.17g}\n", step.tasks.at(0).end - step.tasks.at(0).start);
    return s;
  });
  std::vector<double> v;
  std::istringstream in(out);
  for (double x; in >> x;) v.push_back(x);
  if (v.size() != graphs.size()) throw std::runtime_error("engine returned a wrong number of steps");
  return v;
}

graph::StepGraph one_task(int64_t step, std::string name, std::string op, graph::Stream stream, graph::Work work) {
  graph::Task t;
  t.name = std::move(name);
  t.op = std::move(op);
  t.stream = stream;
  t.work = std::move(work);
  graph::StepGraph g;
  g.step = step;
  g.add(std::move(t));
  return g;
}

std::vector<Prediction> finish(const std::string& component, const std::vector<const Row*>& rows,
                               const std::vector<double>& predicted) {
  std::vector<Prediction> out;
  for (size_t i = 0; i < rows.size(); ++i) {
    Prediction p{component, rows[i], predicted[i], rows[i]->r.median_s, 0, {}};
    p.ape = abs_pct_error(p.predicted_s, p.measured_s);
    out.push_back(p);
  }
  return out;
}

std::string gemm_basis(const hw::DeviceSpec& dev, int64_t m) {
  if (dev.gemm.shapes.empty()) return "efficiency ramp";
  const int64_t u = dev.gemm.tile_rows;
  if (u > 0 && m > u && m % u != 0) return fmt::format("table at m = {} + remainder of {} rows (tile {})", m - m % u, m % u, u);
  return u > 0 && m < u ? fmt::format("table (m below the tile of {})", u) : "table";
}

}  // namespace

std::vector<Prediction> predict_gemm(const hw::DeviceSpec& dev, const std::vector<const Row*>& rows) {
  if (rows.empty()) return {};
  std::vector<graph::StepGraph> graphs;
  for (const Row* r : rows) {
    auto dtype = hw::dtype_from_name(r->r.dtype);
    if (!dtype) throw InfeasibleError(fmt::format("{}:{}: dtype {} has no simulator dtype", r->file, r->line, r->r.dtype));
    graph::ComputeWork w;
    w.flops = Flops(r->r.flops);
    w.bytes = Bytes(r->r.traffic_bytes);
    w.dtype = *dtype;
    w.gemm_m = r->r.m;
    w.duration = hw::op_time(dev, w.flops, w.bytes, w.dtype, w.gemm_m, w.kernels, r->r.n);
    graphs.push_back(one_task(static_cast<int64_t>(graphs.size()), "gemm", "expert_ffn", graph::Stream::compute, w));
  }
  auto out = finish("gemm", rows, run_steps(star(dev, 1, ideal_link(), std::nullopt), graphs));
  for (auto& p : out) p.basis = gemm_basis(dev, p.row->r.m);
  return out;
}

std::vector<Prediction> predict_grouped(const hw::DeviceSpec& dev, const std::vector<const Row*>& rows) {
  if (rows.empty()) return {};
  std::vector<graph::StepGraph> graphs;
  std::vector<std::string> bases;  // per row: its calls' rows, for the report
  for (const Row* r : rows) {
    const auto tokens_at = r->r.note.find("tokens=");
    if (tokens_at == std::string::npos)
      throw InfeasibleError(fmt::format("{}:{}: grouped_gemm row without tokens= in its note", r->file, r->line));
    const int64_t tokens = std::stoll(r->r.note.substr(tokens_at + 7));
    const double skew = r->r.pattern == "uniform" ? 0.0 : std::stod(r->r.pattern.substr(4));  // "zipf1", "zipf0.5"
    auto dtype = hw::dtype_from_name(r->r.dtype);
    if (!dtype) throw InfeasibleError(fmt::format("{}:{}: dtype {} has no simulator dtype", r->file, r->line, r->r.dtype));
    // The loop of one OpenBLAS call per expert (mb_gemm): each call at its own shape, in sequence.
    graph::ComputeWork w;
    w.dtype = *dtype;
    const double n = static_cast<double>(r->r.n), k = static_cast<double>(r->r.k);
    const double elem = r->r.dtype == "fp64" ? 8.0 : r->r.dtype == "bf16" ? 2.0 : 4.0;  // bytes of one operand element
    double seconds = 0;
    const std::vector<int64_t> split = bench::zipf_split(tokens, r->r.groups, skew);
    const auto [lo, hi] = std::minmax_element(split.begin(), split.end());
    bases.push_back(fmt::format("{} calls of {}-{} rows", r->r.groups, *lo, *hi));
    for (int64_t m : split) {
      if (m == 0) continue;
      const double md = static_cast<double>(m);
      const Flops flops(2.0 * md * n * k);
      const Bytes bytes((md * k + k * n + md * n) * elem);
      seconds += hw::op_time(dev, flops, bytes, w.dtype, m, 1, r->r.n).value;
      w.flops += flops;
      w.bytes += bytes;
      w.gemm_m = std::max(w.gemm_m, m);
      ++w.kernels;
    }
    w.duration = Seconds(seconds);
    graphs.push_back(one_task(static_cast<int64_t>(graphs.size()), "grouped_gemm", "expert_ffn", graph::Stream::compute, w));
  }
  auto out = finish("grouped_gemm", rows, run_steps(star(dev, 1, ideal_link(), std::nullopt), graphs));
  for (size_t i = 0; i < out.size(); ++i) out[i].basis = bases[i];
  return out;
}

std::vector<Prediction> predict_storage(const hw::DeviceSpec& dev, const hw::StorageSpec& st,
                                        const std::vector<const Row*>& rows) {
  if (rows.empty()) return {};
  std::vector<graph::StepGraph> graphs;
  for (const Row* r : rows) {
    graph::StorageReadWork w{0, Bytes(static_cast<double>(r->r.size_bytes)), 1};
    graphs.push_back(one_task(static_cast<int64_t>(graphs.size()),
                              "read", "expert_load", graph::Stream::io, w));
  }
  auto out = finish("storage", rows, run_steps(star(dev, 1, ideal_link(), st), graphs));
  for (auto& p : out)
    if (const auto* g = hw::regime_of(st, Bytes(static_cast<double>(p.row->r.size_bytes))))
      p.basis = fmt::format("regime from {}: {} + s / {}", format_bytes(g->from), format_seconds(g->latency), format_rate(g->bandwidth));
  return out;
}

std::vector<Prediction> predict_link(const hw::DeviceSpec& dev, const hw::LinkSpec& link, const hw::LinkSpec& bus, double cores,
                                     const std::optional<SharedCoresFit>& shared, const std::string& transport,
                                     const std::vector<const Row*>& rows) {
  std::map<int64_t, std::vector<const Row*>> by_ranks;
  for (const Row* r : rows) by_ranks[r->r.ranks].push_back(r);
  std::vector<Prediction> out;
  for (const auto& [p, series] : by_ranks) {
    std::vector<graph::StepGraph> graphs;
    const auto n = static_cast<size_t>(p);
    for (const Row* r : series) {
      graph::CollectiveWork w;
      w.kind = graph::CollectiveKind::alltoallv;
      for (int32_t i = 0; i < static_cast<int32_t>(p); ++i) w.group.push_back(i);
      w.matrix.assign(n * n, static_cast<double>(r->r.size_bytes));
      for (size_t i = 0; i < n; ++i) w.matrix[i * n + i] = 0;
      graphs.push_back(one_task(static_cast<int64_t>(graphs.size()),
                                "alltoall", "dispatch", graph::Stream::comm, w));
    }
    const bool own = static_cast<double>(p) <= cores;
    const double f = own ? 1.0 : static_cast<double>(p) / cores;
    hw::LinkSpec port = !own && shared ? shared->port : link;
    const hw::LinkSpec& backplane = !own && shared ? shared->bus : bus;
    port.message_overhead = Seconds(port.message_overhead.value * f);
    for (auto& g : port.regimes) g.message_overhead = Seconds(g.message_overhead.value * f);
    // Ranks sharing the cores are their own component: the host's scheduler, not the link.
    const std::string component = "link_" + transport + (own ? "" : "_shared");
    auto part = finish(component, series, run_steps(star(dev, static_cast<int32_t>(p), port, std::nullopt, backplane), graphs));
    const std::string how = own ? "own cores" : fmt::format("overhead x {:.3g}{}", f, shared ? ", the fit over all rank counts" : "");
    for (auto& q : part) {
      const auto* g = hw::regime_of(port, Bytes(static_cast<double>(q.row->r.size_bytes)));
      q.basis = fmt::format("{}{} ranks on {:g} cores ({})", g ? fmt::format("regime from {}; ", format_bytes(g->from)) : "", p, cores, how);
    }
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

}  // namespace moesim::calibrate
