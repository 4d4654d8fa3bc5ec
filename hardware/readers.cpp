// Readers of hardware presets and scenario overrides (schema: docs/hardware.md).
#include "hardware/readers.hpp"

#include <fmt/format.h>

#include "hardware/compute_model.hpp"
#include "sim/core/suggest.hpp"

#include <algorithm>

namespace moesim::hw {
namespace {

// The entry's name: the preset the table named (before inheritance resolves it further), or an
// explicit `name`, or "custom".
std::string resolve_named(config::Table& t, const char* catalog) {
  std::optional<std::string> preset = t.string_opt("preset");
  t.resolve_preset(catalog);
  return t.string_or("name", preset.value_or("custom"));
}

// A fraction of a peak: in (0, 1].
double fraction_or(const config::Table& t, std::string_view key, double def) {
  double v = t.number_or(key, def);
  if (!(v > 0.0 && v <= 1.0)) t.fail(key, fmt::format("{} is out of range: expected a fraction in (0, 1]", v));
  return v;
}

template <class Q>
Q positive(const config::Table& t, std::string_view key, Q q) {
  if (!(q.value > 0.0)) t.fail(key, "must be greater than zero");
  return q;
}

std::map<Dtype, FlopsPerSecond> read_peaks(const config::Table& device) {
  config::Table peak = device.table("peak");
  std::map<Dtype, FlopsPerSecond> out;
  for (const auto& name : dtype_names()) {
    if (!peak.has(name)) continue;
    out[*dtype_from_name(name)] = positive(peak, name, peak.flops_rate(name));
  }
  peak.finish();
  if (out.empty()) device.fail("peak", fmt::format("needs at least one dtype (valid keys: {})", join(dtype_names())));
  return out;
}

GemmEfficiency read_gemm(const config::Table& device) {
  GemmEfficiency g;
  config::Table t = device.table_or_empty("gemm");
  g.eff_max = fraction_or(t, "eff_max", g.eff_max);
  g.m_half = t.number_in_or("m_half", 0.0, 1e9, g.m_half);
  for (const config::Table& p : t.tables("shapes")) {
    GemmShapePoint s{p.integer_in("m", 1, int64_t{1} << 40), p.number_in("nk", 1.0, 1e18), 0};
    s.eff = fraction_or(p, "eff", 1.0);
    if (p.has("align")) s.align = positive(p, "align", p.bytes("align")).value;
    p.finish();
    g.shapes.push_back(s);
  }
  if (std::string why = gemm_grid_problem(g.shapes); !why.empty()) t.fail("shapes", why);
  sort_gemm_shapes(g.shapes);
  g.tile_rows = t.integer_in_or("tile_rows", 0, 1 << 20, 0);
  for (const config::Table& p : t.tables("remainder")) {
    GemmRemainder x{p.integer_in("rows", 1, 1 << 20), p.seconds("per_weight")};
    if (x.per_weight.value < 0) p.fail("per_weight", "must not be negative");
    p.finish();
    g.remainder.push_back(x);
  }
  std::sort(g.remainder.begin(), g.remainder.end(), [](const auto& a, const auto& b) { return a.rows < b.rows; });
  if (std::string why = gemm_tile_problem(g); !why.empty()) t.fail(g.remainder.empty() ? "tile_rows" : "remainder", why);
  t.finish();
  return g;
}

// `from` of a regime read after `before`: 0 B for the first (every `sizes` size needs a regime),
// strictly above the previous regime's after that.
template <class Regime>
void check_regime_from(const config::Table& t, const Regime& r, const std::vector<Regime>& before, const char* sizes) {
  if (before.empty() && r.from.value != 0)
    t.fail("from", fmt::format("the first regime must start at 0B (every {} size needs a regime)", sizes));
  if (!before.empty() && !(r.from > before.back().from))
    t.fail("from", fmt::format("{} does not exceed the previous regime's from ({}): regimes are listed by increasing size",
                               format_bytes(r.from), format_bytes(before.back().from)));
}

// [[regimes]] of a storage device: `from` strictly increasing from 0 B, latency >= 0, bandwidth > 0.
std::vector<StorageRegime> read_storage_regimes(const config::Table& storage) {
  std::vector<StorageRegime> out;
  for (const config::Table& t : storage.tables("regimes")) {
    StorageRegime r;
    r.from = t.bytes("from");
    r.latency = t.seconds("latency");
    r.bandwidth = positive(t, "bandwidth", t.bandwidth("bandwidth"));
    if (r.latency.value < 0) t.fail("latency", "must not be negative");
    check_regime_from(t, r, out, "request");
    t.finish();
    out.push_back(r);
  }
  return out;
}

// [[regimes]] of a link: `from` strictly increasing from 0 B, message_overhead >= 0, efficiency in (0, 1].
std::vector<LinkRegime> read_link_regimes(const config::Table& link) {
  std::vector<LinkRegime> out;
  for (const config::Table& t : link.tables("regimes")) {
    LinkRegime r;
    r.from = t.bytes("from");
    r.message_overhead = t.seconds("message_overhead");
    r.efficiency = fraction_or(t, "efficiency", 1.0);
    if (r.message_overhead.value < 0) t.fail("message_overhead", "must not be negative");
    check_regime_from(t, r, out, "message");
    t.finish();
    out.push_back(r);
  }
  return out;
}

}  // namespace

const std::vector<std::string>& device_kinds() {
  static const std::vector<std::string> k = {"gpu", "npu", "cpu", "soc"};
  return k;
}

DeviceSpec read_device(config::Table t) {
  DeviceSpec d;
  d.name = resolve_named(t, kDeviceCatalog);
  d.kind = t.choice("kind", device_kinds());
  d.peak = read_peaks(t);
  d.memory_capacity = positive(t, "memory_capacity", t.bytes("memory_capacity"));
  d.memory_bandwidth = positive(t, "memory_bandwidth", t.bandwidth("memory_bandwidth"));
  d.memory_efficiency = fraction_or(t, "memory_efficiency", d.memory_efficiency);
  d.gemm = read_gemm(t);
  d.kernel_launch = t.seconds_or("kernel_launch", d.kernel_launch);
  d.operator_overhead = t.seconds_or("operator_overhead", d.operator_overhead);
  if (d.operator_overhead.value < 0) t.fail("operator_overhead", "must not be negative");
  d.sm_count = static_cast<int32_t>(t.integer_in_or("sm_count", 0, 1 << 20, 0));
  d.sm_copy_bandwidth = t.bandwidth_or("sm_copy_bandwidth", d.sm_copy_bandwidth);
  if (d.sm_copy_bandwidth.value < 0) t.fail("sm_copy_bandwidth", "must not be negative");
  d.reserved_memory = t.bytes_or("reserved_memory", d.reserved_memory);
  if (d.reserved_memory >= d.memory_capacity) {
    t.fail("reserved_memory", fmt::format("{} leaves no memory: it must be below memory_capacity ({})",
                                          format_bytes(d.reserved_memory), format_bytes(d.memory_capacity)));
  }
  d.source = t.string_or("source", "");
  t.finish();
  return d;
}

LinkSpec read_link(config::Table t) {
  LinkSpec l;
  l.name = resolve_named(t, kLinkCatalog);
  l.bandwidth = positive(t, "bandwidth", t.bandwidth("bandwidth"));
  l.latency = t.seconds("latency");
  l.efficiency = fraction_or(t, "efficiency", l.efficiency);
  l.links_per_device = static_cast<int32_t>(t.integer_in_or("links_per_device", 1, 1024, l.links_per_device));
  l.message_overhead = t.seconds_or("message_overhead", l.message_overhead);
  l.regimes = read_link_regimes(t);
  l.source = t.string_or("source", "");
  t.finish();
  return l;
}

StorageSpec read_storage(config::Table t) {
  StorageSpec s;
  s.name = resolve_named(t, kStorageCatalog);
  s.seq_read_bandwidth = positive(t, "seq_read_bandwidth", t.bandwidth("seq_read_bandwidth"));
  s.rand_read_bandwidth = positive(t, "rand_read_bandwidth", t.bandwidth_or("rand_read_bandwidth", s.seq_read_bandwidth));
  s.write_bandwidth = positive(t, "write_bandwidth", t.bandwidth("write_bandwidth"));
  s.read_latency = t.seconds("read_latency");
  s.sequential_threshold = t.bytes_or("sequential_threshold", Bytes(128.0 * 1024.0));
  s.capacity = t.bytes_or("capacity", s.capacity);
  s.regimes = read_storage_regimes(t);
  s.source = t.string_or("source", "");
  t.finish();
  return s;
}

MemorySpec read_memory(config::Table t) {
  MemorySpec m;
  m.name = resolve_named(t, kMemoryCatalog);
  m.capacity = positive(t, "capacity", t.bytes("capacity"));
  m.bandwidth = positive(t, "bandwidth", t.bandwidth("bandwidth"));
  m.efficiency = fraction_or(t, "efficiency", m.efficiency);
  m.source = t.string_or("source", "");
  t.finish();
  return m;
}

}  // namespace moesim::hw
