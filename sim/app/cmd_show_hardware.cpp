// `moesim show device|link|storage|memory <name>`: one hardware preset, resolved (inheritance
// applied), with units and its source.
#include <fmt/format.h>

#include "hardware/compute_model.hpp"
#include "hardware/readers.hpp"
#include "sim/app/show.hpp"
#include "sim/core/config.hpp"

namespace moesim::app {
namespace {

// Reads preset `name` of a catalog through the same reader a scenario uses.
template <class Reader>
auto read_preset(const std::string& name, Reader reader) {
  auto doc = config::Document::parse(fmt::format("preset = \"{}\"\n", name), "moesim show");
  return reader(config::Table::root(doc));
}

void row(std::string_view key, const std::string& value) { fmt::print("  {:<22} {}\n", key, value); }

void print_source(const std::string& source) { fmt::print("  {:<22} {}\n", "source", source.empty() ? "(none)" : source); }

void show_device(const std::string& name) {
  auto d = read_preset(name, hw::read_device);
  fmt::print("device {} ({})\n", d.name, d.kind);
  for (const auto& [dtype, rate] : d.peak) row(fmt::format("peak.{}", hw::dtype_name(dtype)), format_flops_rate(rate));
  row("memory_capacity", format_bytes(d.memory_capacity));
  row("reserved_memory", format_bytes(d.reserved_memory));
  row("memory_bandwidth", format_rate(d.memory_bandwidth));
  row("memory_efficiency", fmt::format("{:.2f} (-> {})", d.memory_efficiency, format_rate(d.memory_bandwidth * d.memory_efficiency)));
  row("gemm.eff_max", fmt::format("{:.2f}", d.gemm.eff_max));
  row("gemm.m_half", fmt::format("{:g} rows", d.gemm.m_half));
  if (!d.gemm.shapes.empty()) row("gemm.shapes", fmt::format("{} measured (m, n*k) points (replace the ramp for GEMMs)", d.gemm.shapes.size()));
  row("kernel_launch", format_seconds(d.kernel_launch));
  // Ridge point of the roofline: arithmetic intensity above which large GEMMs are compute-bound.
  for (hw::Dtype dt : {hw::Dtype::bf16, hw::Dtype::fp32}) {
    double ridge = hw::effective_peak(d, dt).value * d.gemm.eff_max / (d.memory_bandwidth.value * d.memory_efficiency);
    row(fmt::format("ridge.{}", hw::dtype_name(dt)),
        fmt::format("{:.0f} Flop/B (runs as {})", ridge, hw::dtype_name(hw::effective_dtype(d, dt))));
  }
  print_source(d.source);
}

void show_link(const std::string& name) {
  auto l = read_preset(name, hw::read_link);
  fmt::print("link {}\n", l.name);
  row("bandwidth", format_rate(l.bandwidth) + " per direction");
  row("latency", format_seconds(l.latency));
  if (l.message_overhead.value > 0) row("message_overhead", format_seconds(l.message_overhead));
  row("efficiency", fmt::format("{:.2f} (-> {})", l.efficiency, format_rate(l.bandwidth * l.efficiency)));
  row("links_per_device", fmt::format("{}", l.links_per_device));
  for (const auto& g : l.regimes)
    row(fmt::format("regime >= {}", format_bytes(g.from)),
        fmt::format("message_overhead {}, efficiency {:.3f}", format_seconds(g.message_overhead), g.efficiency));
  print_source(l.source);
}

void show_storage(const std::string& name) {
  auto s = read_preset(name, hw::read_storage);
  fmt::print("storage {}\n", s.name);
  row("seq_read_bandwidth", format_rate(s.seq_read_bandwidth));
  row("rand_read_bandwidth", format_rate(s.rand_read_bandwidth));
  row("write_bandwidth", format_rate(s.write_bandwidth));
  row("read_latency", format_seconds(s.read_latency));
  row("sequential_threshold", format_bytes(s.sequential_threshold));
  row("capacity", s.capacity.value > 0 ? format_bytes(s.capacity) : "(not stated)");
  for (const auto& g : s.regimes)
    row(fmt::format("regime >= {}", format_bytes(g.from)), fmt::format("latency {}, bandwidth {}", format_seconds(g.latency), format_rate(g.bandwidth)));
  print_source(s.source);
}

void show_memory(const std::string& name) {
  auto m = read_preset(name, hw::read_memory);
  fmt::print("memory {}\n", m.name);
  row("capacity", format_bytes(m.capacity));
  row("bandwidth", format_rate(m.bandwidth));
  row("efficiency", fmt::format("{:.2f} (-> {})", m.efficiency, format_rate(m.bandwidth * m.efficiency)));
  print_source(m.source);
}

std::function<std::vector<std::string>()> names_of(const char* catalog) {
  return [catalog] { return config::preset_names(catalog); };
}

MOESIM_SHOW_TARGET(ShowTarget{"device", "compute devices (GPU, NPU, CPU, SoC)", names_of(hw::kDeviceCatalog), show_device});
MOESIM_SHOW_TARGET(ShowTarget{"link", "interconnect links (NVLink, PCIe, IB, RoCE, Ethernet)", names_of(hw::kLinkCatalog), show_link});
MOESIM_SHOW_TARGET(ShowTarget{"storage", "storage devices (NVMe, SATA, HDD, UFS, SD)", names_of(hw::kStorageCatalog), show_storage});
MOESIM_SHOW_TARGET(ShowTarget{"memory", "host memory tiers (DDR4/5, LPDDR4/5)", names_of(hw::kMemoryCatalog), show_memory});

}  // namespace
}  // namespace moesim::app
