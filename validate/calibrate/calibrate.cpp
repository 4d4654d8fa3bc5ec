// Fitting presets from result rows (equations in calibrate.hpp, docs/validation.md).
#include "validate/calibrate/calibrate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "sim/core/errors.hpp"
#include "validate/calibrate/fit.hpp"

namespace moesim::calibrate {
namespace {

using Rows = std::vector<const Row*>;

template <class Pred>
Rows select(const DataSet& d, Pred p) {
  Rows out;
  for (const Row& r : d.rows)
    if (p(r.r)) out.push_back(&r);
  return out;
}

std::string sizes_text(const std::vector<double>& v) {
  std::string out;
  for (double x : v) out += (out.empty() ? "" : ",") + fmt::format("{:g}", x);
  return out;
}

int64_t max_threads(const Rows& rows) {
  int64_t t = 0;
  for (const Row* r : rows) t = std::max(t, r->r.threads);
  return t;
}

// ---- device ----

void fit_gemm(const DataSet& d, Calibration& c, Fitted<hw::DeviceSpec>& f) {
  Rows gemm = select(d, [](const bench::Record& r) { return r.kernel == "gemm" && r.median_s > 0; });
  if (gemm.empty()) throw InfeasibleError("no gemm rows: cannot fit the device's peak");
  // fp32 when measured (the CPU's native GEMM dtype), else the first dtype met.
  c.gemm_dtype = gemm.front()->r.dtype;
  for (const Row* r : gemm) if (r->r.dtype == "fp32") c.gemm_dtype = "fp32";
  auto dtype = hw::dtype_from_name(c.gemm_dtype);
  if (!dtype) throw InfeasibleError(fmt::format("gemm dtype {} has no simulator dtype", c.gemm_dtype));
  std::erase_if(gemm, [&](const Row* r) { return r->r.dtype != c.gemm_dtype; });
  c.gemm_threads = max_threads(gemm);
  std::erase_if(gemm, [&](const Row* r) { return r->r.threads != c.gemm_threads; });

  Rows square, skinny;
  for (const Row* r : gemm) (r->r.pattern == "expert_ffn" ? skinny : square).push_back(r);
  SplitRows split = split_by_size(skinny, [](const Row& r) { return r.r.m; });
  const Rows& peak_rows = square.empty() ? split.fit : square;
  const Row* best = *std::max_element(peak_rows.begin(), peak_rows.end(),
                                      [](const Row* a, const Row* b) { return a->r.flops_per_s < b->r.flops_per_s; });
  const double peak = best->r.flops_per_s;
  f.spec.peak[*dtype] = FlopsPerSecond(peak);
  f.why["peak"] = fmt::format("{}: best of {} {} GEMMs at {} threads: {}:{} (m={} n={} k={})", c.gemm_dtype,
                              peak_rows.size(), square.empty() ? "fitted expert_ffn" : "square", c.gemm_threads,
                              best->file, best->line, best->r.m, best->r.n, best->r.k);
  if (split.fit.empty()) {
    c.notes.push_back("no expert_ffn GEMM rows: gemm efficiency ramp left at its defaults");
    return;
  }
  std::vector<double> ms, effs;
  for (const Row* r : split.fit) ms.push_back(static_cast<double>(r->r.m)), effs.push_back(r->r.flops_per_s / peak);
  RampFit ramp = fit_ramp(ms, effs);
  f.spec.gemm.eff_max = ramp.eff_max;
  f.spec.gemm.m_half = ramp.m_half;
  f.why["gemm"] = fmt::format("least squares of flops_per_s/peak over {} expert_ffn rows (m = {}): {}; rms residual {:.4f} of peak",
                              ramp.points, sizes_text(split.fit_sizes), row_list(split.fit), ramp.rms);
  f.held_out = split.held_out;
  f.split = fmt::format("gemm expert_ffn m fitted: {}; held out: {}", sizes_text(split.fit_sizes), sizes_text(split.held_sizes));
}

void fit_memory(const DataSet& d, Fitted<hw::DeviceSpec>& f) {
  Rows stream = select(d, [](const bench::Record& r) {
    return (r.kernel == "stream_copy" || r.kernel == "stream_triad") && r.bytes_per_s > 0;
  });
  if (stream.empty()) throw InfeasibleError("no stream_copy/stream_triad rows: cannot fit the memory bandwidth");
  const int64_t threads = max_threads(stream);
  std::erase_if(stream, [&](const Row* r) { return r->r.threads != threads; });
  int64_t largest = 0;
  for (const Row* r : stream) largest = std::max(largest, r->r.size_bytes);
  const Row *copy = nullptr, *triad = nullptr;
  for (const Row* r : stream) {
    if (r->r.size_bytes != largest) continue;
    (r->r.kernel == "stream_copy" ? copy : triad) = r;
  }
  const double copy_bw = copy ? copy->r.bytes_per_s : 0, triad_bw = triad ? triad->r.bytes_per_s : copy_bw;
  const double bw = std::max(copy_bw, triad_bw);
  f.spec.memory_bandwidth = BytesPerSecond(bw);
  f.spec.memory_efficiency = std::clamp(triad_bw / bw, 1e-6, 1.0);
  auto at = [](const Row* r) { return r ? fmt::format("{}:{}", r->file, r->line) : std::string("absent"); };
  f.why["memory_bandwidth"] = fmt::format("max(STREAM copy {}, triad {}) of the largest array ({} B) at {} threads",
                                          at(copy), at(triad), largest, threads);
  f.why["memory_efficiency"] = "triad / memory_bandwidth (bandwidth x efficiency = measured triad rate)";
  // Capacity: the machine's RAM from the provenance of the file the STREAM rows came from.
  auto it = d.provenance.find(stream.front()->file);
  double total = 0;
  if (it != d.provenance.end())
    if (auto v = it->second.get("memory_total_bytes")) total = std::atof(v->c_str());
  if (!(total > 0)) total = 16.0 * 1073741824.0;
  f.spec.memory_capacity = Bytes(total);
  f.why["memory_capacity"] = total > 0 ? fmt::format("memory_total_bytes of {}'s provenance", stream.front()->file) : "";
}

// ---- storage ----

struct RegimeFit {
  double inv_bw = 0, sse = 0;
};
// t − L = s · x by relative least squares (weights 1/t²), L given.
RegimeFit fit_regime(const Rows& rows, double latency) {
  double num = 0, den = 0;
  for (const Row* r : rows) {
    const double s = static_cast<double>(r->r.size_bytes), t = r->r.median_s;
    num += s * (t - latency) / (t * t);
    den += s * s / (t * t);
  }
  RegimeFit f;
  f.inv_bw = den > 0 ? num / den : 0;
  for (const Row* r : rows) {
    const double e = (latency + static_cast<double>(r->r.size_bytes) * f.inv_bw - r->r.median_s) / r->r.median_s;
    f.sse += e * e;
  }
  return f;
}

// Joint relative least squares of t = L + s·x_small (s < T) + s·x_large (s >= T): the 3x3 (or
// 2x2 without small rows) normal equations by Cramer's rule. nullopt when singular (a regime with
// one distinct size cannot separate L from its slope) or L < 0.
std::optional<double> joint_latency(const Rows& small, const Rows& large) {
  double a[3][3] = {}, b[3] = {};
  auto add = [&](const Row* r, int col) {
    const double s = static_cast<double>(r->r.size_bytes), t = r->r.median_s, w = 1.0 / (t * t);
    const double f[3] = {1.0, col == 1 ? s : 0.0, col == 2 ? s : 0.0};
    for (int i = 0; i < 3; ++i) {
      b[i] += w * f[i] * t;
      for (int j = 0; j < 3; ++j) a[i][j] += w * f[i] * f[j];
    }
  };
  for (const Row* r : small) add(r, 1);
  for (const Row* r : large) add(r, 2);
  if (small.empty()) a[1][1] = 1;  // x_small unused: keep the system regular
  auto det3 = [](const double m[3][3]) {
    return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
           m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  };
  const double d = det3(a);
  double scale = 1;
  for (int i = 0; i < 3; ++i) scale *= a[i][i];
  if (!(std::fabs(d) > 1e-9 * std::fabs(scale))) return std::nullopt;
  double m0[3][3];
  for (int i = 0; i < 3; ++i) {
    m0[i][0] = b[i];
    m0[i][1] = a[i][1];
    m0[i][2] = a[i][2];
  }
  const double latency = det3(m0) / d;
  if (!(latency >= 0)) return std::nullopt;
  return latency;
}

void fit_storage(const DataSet& d, Calibration& c) {
  Rows reads = select(d, [](const bench::Record& r) {
    return r.kernel == "storage_read" && r.mode == "direct" && r.queue_depth <= 1 && r.median_s > 0;
  });
  if (reads.empty()) {
    c.notes.push_back("no O_DIRECT queue-depth-1 storage_read rows: no storage preset");
    return;
  }
  Fitted<hw::StorageSpec> f;
  SplitRows split = split_by_size(reads, [](const Row& r) { return r.r.size_bytes; });
  const double smallest = split.fit_sizes.front();
  const Row* lat = nullptr;
  for (const Row* r : split.fit)
    if (r->r.size_bytes == smallest && (!lat || r->r.pattern == "rand")) lat = r;
  // Threshold among the fitted sizes: rows below it read at the random rate, the others
  // sequential. L jointly fitted when the rows allow it, else the smallest random read's median.
  double best_sse = std::numeric_limits<double>::infinity(), best_t = smallest, latency = lat->r.median_s;
  bool joint = false;
  RegimeFit best_small, best_large;
  for (double t : split.fit_sizes) {
    Rows small, large;
    for (const Row* r : split.fit) (static_cast<double>(r->r.size_bytes) < t ? small : large).push_back(r);
    const std::optional<double> jl = joint_latency(small, large);
    const double l = jl.value_or(lat->r.median_s);
    RegimeFit fs = small.empty() ? RegimeFit{} : fit_regime(small, l), fl = fit_regime(large, l);
    if (fl.inv_bw <= 0 || (!small.empty() && fs.inv_bw <= 0)) continue;
    // Small requests cannot stream faster than large ones: such a split only fits noise.
    if (!small.empty() && fs.inv_bw < fl.inv_bw) continue;
    if (fs.sse + fl.sse < best_sse * (1 - 1e-9))
      best_sse = fs.sse + fl.sse, best_t = t, best_small = fs, best_large = fl, latency = l, joint = jl.has_value();
  }
  if (!std::isfinite(best_sse)) {
    c.notes.push_back("storage reads give no positive bandwidth above the latency: no storage preset");
    return;
  }
  f.spec.read_latency = Seconds(latency);
  f.spec.seq_read_bandwidth = BytesPerSecond(1.0 / best_large.inv_bw);
  f.spec.rand_read_bandwidth = BytesPerSecond(best_small.inv_bw > 0 ? 1.0 / best_small.inv_bw : 1.0 / best_large.inv_bw);
  f.spec.sequential_threshold = Bytes(best_t);
  const double rms = std::sqrt(best_sse / static_cast<double>(split.fit.size()));
  const std::string rows = row_list(split.fit);
  f.why["read_latency"] = joint ? fmt::format("intercept of the joint relative least squares t = L + s/bw(s) over the fitted rows below")
                                : fmt::format("median of the smallest fitted {} O_DIRECT read ({} B): {}:{} (too few sizes for a joint fit)",
                                              lat->r.pattern, lat->r.size_bytes, lat->file, lat->line);
  f.why["seq_read_bandwidth"] = fmt::format("relative least squares of t - read_latency = s / bw over fitted reads >= threshold; "
                                            "fitted rows {}; rms relative residual (whole model) {:.3f}", rows, rms);
  f.why["rand_read_bandwidth"] = best_small.inv_bw > 0 ? "same fit over fitted reads below the threshold"
                                                       : "no fitted read below the threshold: equal to seq_read_bandwidth";
  f.why["sequential_threshold"] = fmt::format("fitted size with the smallest total residual (candidates {})", sizes_text(split.fit_sizes));
  Rows writes = select(d, [](const bench::Record& r) { return r.kernel == "storage_write" && r.bytes_per_s > 0; });
  if (!writes.empty()) {
    f.spec.write_bandwidth = BytesPerSecond(writes.front()->r.bytes_per_s);
    f.why["write_bandwidth"] = fmt::format("storage_write {}:{} ({} {})", writes.front()->file, writes.front()->line,
                                           writes.front()->r.pattern, writes.front()->r.mode);
  } else {
    f.spec.write_bandwidth = f.spec.seq_read_bandwidth;
    f.why["write_bandwidth"] = "no storage_write row: equal to seq_read_bandwidth (assumption)";
  }
  f.held_out = split.held_out;
  f.split = fmt::format("O_DIRECT qd1 block sizes fitted: {}; held out: {}", sizes_text(split.fit_sizes), sizes_text(split.held_sizes));
  c.storage = f;
}

// ---- links ----

std::string provenance_get(const DataSet& d, const std::string& key);

void fit_link(const DataSet& d, const std::string& transport, Calibration& c) {
  Rows rows = select(d, [&](const bench::Record& r) {
    return r.kernel == "alltoall" && r.transport == transport && r.ranks >= 2 && r.median_s > 0 && r.size_bytes > 0;
  });
  LinkFitted f;
  f.transport = transport;
  f.cores = std::atof(provenance_get(d, "cpu_logical_cores").c_str());
  if (!(f.cores >= 1)) {
    c.notes.push_back(fmt::format("alltoall over {}: no cpu_logical_cores in the provenance: no link preset", transport));
    return;
  }
  std::vector<int64_t> ranks;
  for (const Row* r : rows) ranks.push_back(r->r.ranks);
  std::sort(ranks.begin(), ranks.end());
  ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
  Rows fit;
  std::vector<IpcPoint> pts;
  for (int64_t p : ranks) {
    Rows series;
    for (const Row* r : rows) if (r->r.ranks == p) series.push_back(r);
    SplitRows s = split_by_size(series, [](const Row& r) { return r.r.size_bytes; });
    for (const Row* r : s.fit) {
      fit.push_back(r);
      pts.push_back({static_cast<double>(p), static_cast<double>(r->r.size_bytes), r->r.median_s});
    }
    f.held_out.insert(f.held_out.end(), s.held_out.begin(), s.held_out.end());
    f.split += fmt::format("{}P={}: fitted {} held out {}", f.split.empty() ? "" : "; ", p, sizes_text(s.fit_sizes), sizes_text(s.held_sizes));
  }
  if (pts.size() < 3) {
    c.notes.push_back(fmt::format("alltoall over {}: {} fitted rows, need 3 for o, B_port, B_bus: no link preset", transport, pts.size()));
    return;
  }
  const IpcFit m = fit_ipc(pts, f.cores);
  const std::string model = fmt::format("T = (P-1)*o*f + max((P-1)*s/B_port, P*(P-1)*s/B_bus), f = max(1, P/{:g} cores)", f.cores);
  const std::string how = fmt::format("relative least squares over {} MPI_Alltoall rows ({}); rms relative residual {:.3f}",
                                      m.points, row_list(fit), m.rms_rel);
  f.spec.bandwidth = BytesPerSecond(m.port_bw);
  f.spec.latency = Seconds(0);
  f.spec.message_overhead = Seconds(m.overhead);
  f.spec.efficiency = 1.0;
  f.why["bandwidth"] = fmt::format("B_port of {}, {}{}", model, how,
                                   m.port_bw >= 0.99e12 ? " (at the 1 TB/s bound of the search: the bus always binds, B_port is not identifiable)" : "");
  f.why["latency"] = "0: the fixed cost of a message is message_overhead (per message, serial per sender)";
  f.why["message_overhead"] = fmt::format("o of {} (LogP overhead, Culler et al. 1993)", model);
  f.why["efficiency"] = "1: the fitted bandwidth is already the achieved one";
  f.bus.bandwidth = BytesPerSecond(m.bus_bw);
  f.bus.latency = Seconds(0);
  f.bus.efficiency = 1.0;
  f.bus_why = fmt::format("B_bus of {}, {}{}", model, how,
                          m.bus_bw >= 0.99e12 ? " (at the 1 TB/s bound of the search: the ports always bind, B_bus is not identifiable)" : "");
  c.links.push_back(std::move(f));
}

std::string provenance_get(const DataSet& d, const std::string& key) {
  for (const auto& [file, p] : d.provenance)
    if (auto v = p.get(key)) return *v;
  return "";
}

std::string snake(std::string s) {
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

}  // namespace

std::string default_name(const DataSet& d) {
  const std::string date = provenance_get(d, "date_utc").substr(0, 10);
  return snake(fmt::format("calibrated_{}_{}", provenance_get(d, "host"), date));
}

std::string link_preset_name(const std::string& name, const std::string& transport) {
  return name + "_ipc_" + transport;
}

std::string bus_preset_name(const std::string& name, const std::string& transport) {
  return link_preset_name(name, transport) + "_bus";
}

Calibration calibrate(const DataSet& data, const std::string& name) {
  Calibration c;
  c.name = name;
  c.host = provenance_get(data, "host");
  c.date = provenance_get(data, "date_utc").substr(0, 10);
  Fitted<hw::DeviceSpec> dev;
  dev.spec.name = name;
  dev.spec.kind = "cpu";
  fit_gemm(data, c, dev);
  fit_memory(data, dev);
  dev.spec.kernel_launch = Seconds(1e-6);
  dev.why["kernel_launch"] = "not fitted: assumption (~1 us per BLAS call)";
  c.device = dev;
  fit_storage(data, c);
  std::vector<std::string> transports;
  for (const Row& r : data.rows)
    if (r.r.kernel == "alltoall" && !r.r.transport.empty() &&
        std::find(transports.begin(), transports.end(), r.r.transport) == transports.end())
      transports.push_back(r.r.transport);
  std::sort(transports.begin(), transports.end());
  for (const auto& t : transports) fit_link(data, t, c);
  if (transports.empty()) c.notes.push_back("no alltoall rows: no link preset");
  return c;
}

}  // namespace moesim::calibrate
