// Fitting presets from result rows (equations in calibrate.hpp, docs/validation.md).
#include "validate/calibrate/calibrate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "sim/core/errors.hpp"
#include "validate/calibrate/fit.hpp"
#include "validate/calibrate/series.hpp"

namespace moesim::calibrate {
namespace {

int64_t max_threads(const Rows& rows) {
  int64_t t = 0;
  for (const Row* r : rows) t = std::max(t, r->r.threads);
  return t;
}

// ---- device ----

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

}  // namespace

std::string provenance_get(const DataSet& d, const std::string& key) {
  for (const auto& [file, p] : d.provenance)
    if (auto v = p.get(key)) return *v;
  return "";
}

namespace {

std::string snake(std::string s) {
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

}  // namespace

bool on_grid(double size) {
  if (!(size >= 1)) return false;
  for (const double base : {1.0, 3.0}) {
    const double l = std::log2(size / base);
    if (std::fabs(l - std::round(l)) < 1e-9) return true;
  }
  return false;
}

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

Calibration calibrate(const DataSet& data, const std::string& name, int64_t gemm_threads) {
  Calibration c;
  c.name = name;
  c.gemm_threads = gemm_threads;
  c.host = provenance_get(data, "host");
  c.date = provenance_get(data, "date_utc").substr(0, 10);
  c.notes.insert(c.notes.end(), data.notes.begin(), data.notes.end());
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
