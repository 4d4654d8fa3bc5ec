// `moesim validate --data DIR --preset NAME [--results DIR]`: predicts every row that
// `moesim calibrate` held out of the fit (odd-indexed sizes) through the engine with the presets
// NAME (device, storage) and NAME_ipc_<transport> (links), prints the median, p90 and max absolute
// percentage error per component, and writes <results>/<host>-<date>.md with every point.
// Predictions more than kOffPercent off are marked OFF, not hidden.
#if defined(MOESIM_HAVE_CALIBRATE)
#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>

#include "hardware/readers.hpp"
#include "sim/app/command.hpp"
#include "sim/core/registry.hpp"
#include "sim/core/config.hpp"
#include "validate/calibrate/calibrate.hpp"
#include "validate/calibrate/predict.hpp"

namespace moesim::app {
namespace {
namespace fs = std::filesystem;

struct ValidateArgs {
  std::string data, preset, results;
  int64_t gemm_threads = 0;
};

template <class Reader>
auto load(const char* catalog, const std::string& name, Reader read) {
  auto doc = config::Document::parse(fmt::format("preset = \"{}\"\n", name), "--preset");
  return read(config::Table::root(doc));
}

bool has_preset(const char* catalog, const std::string& name) {
  auto names = config::preset_names(catalog);
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string describe(const calibrate::Row& r) {
  const auto& x = r.r;
  if (x.kernel == "gemm") return fmt::format("gemm m={} n={} k={} {} t={} {}", x.m, x.n, x.k, x.dtype, x.threads, x.pattern);
  if (x.kernel == "grouped_gemm")
    return fmt::format("grouped {} experts n={} k={} {} {} t={}", x.groups, x.n, x.k, x.pattern, x.note.substr(0, x.note.find(' ')), x.threads);
  if (x.kernel == "storage_read") return fmt::format("read {} B {} {} qd{}", x.size_bytes, x.pattern, x.mode, x.queue_depth);
  return fmt::format("{} {} B/pair P={} {}", x.kernel, x.size_bytes, x.ranks, x.transport);
}

// The machine load recorded by the scripts (LOAD.txt, validate/scripts/load_guard.sh), if any.
std::string load_line(const std::string& dir) {
  std::ifstream in(fs::path(dir) / "LOAD.txt");
  if (!in) return "Machine load: not recorded (no LOAD.txt in the data folder).\n\n";
  std::string line, md = "Machine load (LOAD.txt, one line per measurement run):\n\n";
  std::string start, end;
  while (std::getline(in, line)) {
    if (line.starts_with("loadavg_start: ")) start = line.substr(15);
    if (line.starts_with("loadavg_end: ")) end = line.substr(13);
    if (line.starts_with("verdict: ")) {
      md += fmt::format("- **{}**; /proc/loadavg at start {}, at end {}\n", line.substr(9), start, end.empty() ? "-" : end);
      start.clear(), end.clear();
    }
  }
  return md + "\n";
}

// The spread of a row's own repeats, (p90 − p10) / 2 over the median, percent; < 0 if unknown.
double repeat_spread(const calibrate::Row& row) {
  const auto& r = row.r;
  return r.p90_s > 0 && r.p10_s > 0 && r.median_s > 0 ? (r.p90_s - r.p10_s) / 2 / r.median_s * 100.0 : -1;
}

// "N of M": the component's points whose error is within their own repeats' spread (noise, not model).
std::string within_noise(const std::vector<calibrate::Prediction>& preds, const std::string& comp) {
  int n = 0, known = 0;
  std::vector<double> spreads;
  for (const auto& p : preds) {
    if (p.component != comp) continue;
    const double s = repeat_spread(*p.row);
    if (s < 0) continue;
    ++known, spreads.push_back(s);
    if (p.ape <= s) ++n;
  }
  if (known == 0) return "— | —";
  std::nth_element(spreads.begin(), spreads.begin() + static_cast<std::ptrdiff_t>(spreads.size() / 2), spreads.end());
  return fmt::format("{} of {} | {:.1f}", n, known, spreads[spreads.size() / 2]);
}

// The five worst points of each component, worst first (where a model misses and by how much).
std::string worst_points(const std::vector<calibrate::Prediction>& preds,
                         const std::vector<std::pair<std::string, calibrate::ErrorStats>>& stats) {
  std::string md = "\n## Worst five points per component\n\nWith what the model used for each (regime, tile split) and the spread of the "
                   "point's own repeats ((p90 - p10) / 2 of its samples, relative to their median: an error within it is noise, "
                   "not the model).\n\n| component | row | point | measured s | predicted s | error % | model used | repeats ± |\n"
                   "|---|---|---|---|---|---|---|---|\n";
  for (const auto& [comp, s] : stats) {
    std::vector<const calibrate::Prediction*> mine;
    for (const auto& p : preds)
      if (p.component == comp) mine.push_back(&p);
    std::stable_sort(mine.begin(), mine.end(), [](const auto* a, const auto* b) { return a->ape > b->ape; });
    for (size_t i = 0; i < std::min<size_t>(5, mine.size()); ++i) {
      const auto& p = *mine[i];
      const double sp = repeat_spread(*p.row);
      const std::string spread = sp >= 0 ? fmt::format("{:.1f}%", sp) : "—";
      md += fmt::format("| {} | {}:{} | {} | {:.4g} | {:.4g} | {:+.1f} | {} | {} |\n", comp, p.row->file, p.row->line, describe(*p.row),
                        p.measured_s, p.predicted_s, (p.predicted_s - p.measured_s) / p.measured_s * 100.0,
                        p.basis.empty() ? "—" : p.basis, spread);
    }
  }
  return md;
}

std::string report_md(const calibrate::Calibration& c, const calibrate::DataSet& d, const std::string& preset,
                      const std::vector<calibrate::Prediction>& preds,
                      const std::vector<std::pair<std::string, calibrate::ErrorStats>>& stats) {
  std::string md = fmt::format("# Validation: host {} ({}), presets `{}`\n\n", c.host, c.date, preset);
  md += fmt::format("Generated by `moesim validate --data {} --preset {}`. Each held-out row (an off-grid size or random "
                    "GEMM shape, or, in data without those, an odd-indexed size of its series; never used by `moesim calibrate`; "
                    "grouped GEMMs are never fitted) is predicted by a one-task StepGraph run through the "
                    "SimGrid engine with the calibrated presets. Error = |predicted - measured| / measured (median_s). "
                    "Points more than {:.0f}% off are marked OFF.\n\n", d.dir, preset, calibrate::kOffPercent);
  for (const auto& [file, p] : d.provenance) {
    md += fmt::format("Measured on: {} ({} logical cores), loadavg at start {}, mode {}.\n\n", p.get("cpu_model").value_or("?"),
                      p.get("cpu_logical_cores").value_or("?"), p.get("loadavg_start").value_or("?"), p.get("mode").value_or("?"));
    break;
  }
  md += load_line(d.dir);
  md += "| component | points | median APE % | p90 APE % | max APE % | off (> 25%) | error within own repeats' spread | median spread % |\n"
        "|---|---|---|---|---|---|---|---|\n";
  for (const auto& [comp, s] : stats) {
    const auto off = std::count_if(preds.begin(), preds.end(), [&](const auto& p) { return p.component == comp && p.ape > calibrate::kOffPercent; });
    md += fmt::format("| {} | {} | {:.1f} | {:.1f} | {:.1f} | {} | {} |\n", comp, s.count, s.median, s.p90, s.max, off, within_noise(preds, comp));
  }
  md += "\n(Spread of a point's repeats = (p90 − p10) / 2 of its samples over their median; `link_<t>_shared`: rank counts above the "
        "host's cores, predicted by the fit over every rank count: the host's scheduler as much as the link.)\n";
  md += worst_points(preds, stats);
  md += "\n## Every point\n\n| component | row | point | measured s | predicted s | APE % | |\n|---|---|---|---|---|---|---|\n";
  for (const auto& p : preds)
    md += fmt::format("| {} | {}:{} | {} | {:.4g} | {:.4g} | {:.1f} | {} |\n", p.component, p.row->file, p.row->line,
                      describe(*p.row), p.measured_s, p.predicted_s, p.ape, p.ape > calibrate::kOffPercent ? "OFF" : "");
  if (!c.notes.empty()) {
    md += "\nNotes:\n\n";
    for (const auto& n : c.notes) md += "- " + n + "\n";
  }
  return md;
}

void validate_cmd(const ValidateArgs& a) {
  // What `moesim calibrate --data DIR` wrote by default (<DIR>/presets) is found without MOESIM_PRESETS.
  if (fs::is_directory(fs::path(a.data) / "presets")) config::add_user_preset_root(fs::path(a.data) / "presets");
  auto data = calibrate::read_data_dir(a.data);
  auto c = calibrate::calibrate(data, a.preset, a.gemm_threads);  // the same deterministic split as at calibration
  const hw::DeviceSpec dev = load(hw::kDeviceCatalog, a.preset, hw::read_device);
  std::vector<calibrate::Prediction> preds = calibrate::predict_gemm(dev, c.device->held_out);
  auto grouped = calibrate::predict_grouped(dev, c.gemm_grouped);
  preds.insert(preds.end(), grouped.begin(), grouped.end());
  if (c.storage) {
    if (!has_preset(hw::kStorageCatalog, a.preset)) throw IoError(fmt::format("no storage preset '{}' (run moesim calibrate)", a.preset));
    auto part = calibrate::predict_storage(dev, load(hw::kStorageCatalog, a.preset, hw::read_storage), c.storage->held_out);
    preds.insert(preds.end(), part.begin(), part.end());
  }
  for (const auto& l : c.links) {
    const std::string name = calibrate::link_preset_name(a.preset, l.transport);
    if (!has_preset(hw::kLinkCatalog, name)) throw IoError(fmt::format("no link preset '{}' (run moesim calibrate)", name));
    const std::string bus = calibrate::bus_preset_name(a.preset, l.transport);
    if (!has_preset(hw::kLinkCatalog, bus)) throw IoError(fmt::format("no link preset '{}' (run moesim calibrate)", bus));
    auto part = calibrate::predict_link(dev, load(hw::kLinkCatalog, name, hw::read_link), load(hw::kLinkCatalog, bus, hw::read_link),
                                        l.cores, l.shared, l.transport, l.held_out);
    preds.insert(preds.end(), part.begin(), part.end());
  }
  std::vector<std::pair<std::string, calibrate::ErrorStats>> stats;
  for (const auto& p : preds) {
    if (std::none_of(stats.begin(), stats.end(), [&](const auto& s) { return s.first == p.component; })) {
      std::vector<double> e;
      for (const auto& q : preds) if (q.component == p.component) e.push_back(q.ape);
      stats.emplace_back(p.component, calibrate::error_stats(e));
    }
  }
  fmt::print("{:<12} {:>6} {:>13} {:>10} {:>10} {:>5}\n", "component", "points", "median APE %", "p90 APE %", "max APE %", "off");
  for (const auto& [comp, s] : stats) {
    const auto off = std::count_if(preds.begin(), preds.end(), [&](const auto& p) { return p.component == comp && p.ape > calibrate::kOffPercent; });
    fmt::print("{:<12} {:>6} {:>13.1f} {:>10.1f} {:>10.1f} {:>5}\n", comp, s.count, s.median, s.p90, s.max, off);
  }
  const fs::path dir = a.results.empty() ? config::data_dir() / "validate/results" : fs::path(a.results);
  std::error_code ec;
  fs::create_directories(dir, ec);
  const fs::path file = dir / fmt::format("{}-{}.md", c.host.empty() ? "unknown" : c.host, c.date);
  std::ofstream out(file);
  if (!(out << report_md(c, data, a.preset, preds, stats))) throw IoError(fmt::format("{}: cannot write", file.string()));
  fmt::print("wrote {}\n", file.string());
}

MOESIM_COMMAND(71, [](CLI::App& app) {
  auto* cmd = app.add_subcommand("validate", "Predict held-out microbenchmark points with calibrated presets; report errors");
  auto a = std::make_shared<ValidateArgs>();
  cmd->add_option("--data", a->data, "Folder of result CSVs (the one given to moesim calibrate)")->required();
  cmd->add_option("--preset", a->preset, "Name given to moesim calibrate (device/storage preset; links NAME_ipc_<transport>)")->required();
  cmd->add_option("--results", a->results, "Folder for <host>-<date>.md (default <data dir>/validate/results)");
  cmd->add_option("--gemm-threads", a->gemm_threads, "the --gemm-threads given to moesim calibrate (default: the most measured)");
  cmd->callback([a] { validate_cmd(*a); });
});

}  // namespace
}  // namespace moesim::app
#endif
