// `moesim calibrate --data DIR [--name NAME] [--out DIR]`: fits a device preset (peak, GEMM
// efficiency ramp, memory bandwidth), a storage preset and one link preset per MPI transport from
// the microbenchmark CSVs of DIR (validate/calibrate/calibrate.hpp has the equations) and writes
// them, each fitted key with its provenance, to <out>/{devices,storage,links}/ (default
// <DIR>/presets: beside the measurements, never the built-in catalog of the source tree). Runs
// find them through MOESIM_PRESETS=<out> (sim/core/config.hpp user_preset_roots); `moesim
// validate --data DIR` adds <DIR>/presets itself. Everything is fitted and rendered before the
// first file is written (no half-written set).
#if defined(MOESIM_HAVE_CALIBRATE)
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "sim/app/command.hpp"
#include "sim/core/registry.hpp"
#include "sim/core/config.hpp"
#include "validate/calibrate/calibrate.hpp"

namespace moesim::app {
namespace {
namespace fs = std::filesystem;

struct CalibrateArgs {
  std::string data, name, out;
  int64_t gemm_threads = 0;
};

void write_file(const fs::path& path, const std::string& text) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream f(tmp);
    if (!(f << text)) throw IoError(fmt::format("{}: cannot write", tmp.string()));
  }
  fs::rename(tmp, path, ec);
  if (ec) throw IoError(fmt::format("{}: cannot write: {}", path.string(), ec.message()));
}

void calibrate_cmd(const CalibrateArgs& a) {
  auto data = calibrate::read_data_dir(a.data);
  const std::string name = a.name.empty() ? calibrate::default_name(data) : a.name;
  auto c = calibrate::calibrate(data, name, a.gemm_threads);
  const fs::path out = a.out.empty() ? fs::path(a.data) / "presets" : fs::path(a.out);
  std::vector<std::pair<fs::path, std::string>> files;
  files.emplace_back(out / "devices" / (name + ".toml"), calibrate::device_toml(c, data));
  if (c.storage) files.emplace_back(out / "storage" / (name + ".toml"), calibrate::storage_toml(c, data));
  for (const auto& l : c.links)
  {
    files.emplace_back(out / "links" / (calibrate::link_preset_name(name, l.transport) + ".toml"), calibrate::link_toml(c, l, data));
    files.emplace_back(out / "links" / (calibrate::bus_preset_name(name, l.transport) + ".toml"), calibrate::bus_toml(c, l, data));
  }
  for (const auto& [path, text] : files) write_file(path, text);

  const auto& d = c.device->spec;
  fmt::print("device  {}: peak {} {}, gemm eff_max {:.3f} m_half {:.3g}, shape table {} points, memory {} x {:.3f}\n", name,
             c.gemm_dtype, format_flops_rate(d.peak.begin()->second), d.gemm.eff_max, d.gemm.m_half, d.gemm.shapes.size(),
             format_rate(d.memory_bandwidth), d.memory_efficiency);
  if (c.storage)
    fmt::print("storage {}: latency {}, seq {}, rand {}, threshold {}, write {}\n", name, format_seconds(c.storage->spec.read_latency),
               format_rate(c.storage->spec.seq_read_bandwidth), format_rate(c.storage->spec.rand_read_bandwidth),
               format_bytes(c.storage->spec.sequential_threshold), format_rate(c.storage->spec.write_bandwidth));
  if (c.storage)
    for (const auto& g : c.storage->spec.regimes)
      fmt::print("        regime from {}: latency {}, bandwidth {}\n", format_bytes(g.from), format_seconds(g.latency), format_rate(g.bandwidth));
  for (const auto& l : c.links) {
    fmt::print("link    {}: port {}, bus {} (ranks share {:g} cores)\n", calibrate::link_preset_name(name, l.transport),
               format_rate(l.spec.bandwidth), format_rate(l.bus.bandwidth), l.cores);
    for (const auto& g : l.spec.regimes)
      fmt::print("        regime from {}: message overhead {}, efficiency {:.3f}\n", format_bytes(g.from),
                 format_seconds(g.message_overhead), g.efficiency);
  }
  for (const auto& n : c.notes) fmt::print("note: {}\n", n);
  for (const auto& [path, text] : files) fmt::print("wrote {}\n", path.string());
  fmt::print("use them with: MOESIM_PRESETS={} moesim ... (moesim validate --data {} finds them itself)\n", out.string(), a.data);
}

MOESIM_COMMAND(70, [](CLI::App& app) {
  auto* cmd = app.add_subcommand("calibrate", "Fit device/storage/link presets from microbenchmark CSVs (validate/)");
  auto a = std::make_shared<CalibrateArgs>();
  cmd->add_option("--data", a->data, "Folder of result CSVs (validate/data/<host>-<date>)")->required();
  cmd->add_option("--name", a->name, "Preset name (default calibrated_<host>_<date>)");
  cmd->add_option("--out", a->out, "Preset root to write devices/, storage/, links/ under (default <--data>/presets; use with MOESIM_PRESETS)");
  cmd->add_option("--gemm-threads", a->gemm_threads, "OpenBLAS threads of the GEMM rows to fit (default: the most measured)");
  cmd->callback([a] { calibrate_cmd(*a); });
});

}  // namespace
}  // namespace moesim::app
#endif
