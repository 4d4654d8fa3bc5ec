// TOML text of calibrated presets: every fitted key preceded by a comment saying which CSV rows it
// came from and the fit's residual (design rule 6).
#include <fmt/format.h>

#include "validate/calibrate/calibrate.hpp"

namespace moesim::calibrate {
namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += (ch == '\n' ? ' ' : ch);
  }
  return out + "\"";
}

std::string rate(double bps) { return fmt::format("\"{:.6g}MBps\"", bps / 1e6); }
std::string flops(double f) { return fmt::format("\"{:.6g}GFlops\"", f / 1e9); }
std::string secs(double s) { return fmt::format("\"{:.6g}us\"", s * 1e6); }
std::string bytes(double b) { return fmt::format("\"{:.0f}B\"", b); }

std::string comment(const std::map<std::string, std::string>& why, const std::string& key) {
  auto it = why.find(key);
  return it == why.end() || it->second.empty() ? "" : "# " + it->second + "\n";
}

std::string header(const Calibration& c, const DataSet& d, const std::string& what, const std::string& split) {
  std::string h = fmt::format("# {}: calibrated by `moesim calibrate --data {}` from microbenchmarks of host '{}' ({}).\n",
                              what, d.dir, c.host, c.date);
  for (const auto& [file, p] : d.provenance) {
    auto get = [&](const char* k) { return p.get(k).value_or("?"); };
    h += fmt::format("# {}: cpu {}, loadavg_start {}, mode {}, git_rev {}\n", file, get("cpu_model"), get("loadavg_start"),
                     get("mode"), get("git_rev"));
    break;  // one machine: the first file's facts stand for all
  }
  h += "# split (fitted / held out for `moesim validate`; the rule in parentheses): " + split + "\n";
  return h;
}

std::string source(const Calibration& c, const DataSet& d) {
  return "source = " + quoted(fmt::format("calibrated by moesim calibrate from {} (host {}, {}); per-key provenance in the comments",
                                          d.dir, c.host, c.date)) + "\n";
}

}  // namespace

std::string device_toml(const Calibration& c, const DataSet& d) {
  const auto& f = *c.device;
  const auto& s = f.spec;
  std::string t = header(c, d, "compute device (the host CPU)", f.split) + source(c, d);
  t += "kind = \"cpu\"\n";
  t += comment(f.why, "memory_capacity") + "memory_capacity = " + bytes(s.memory_capacity.value) + "\n";
  t += comment(f.why, "memory_bandwidth") + "memory_bandwidth = " + rate(s.memory_bandwidth.value) + "\n";
  t += comment(f.why, "memory_efficiency") + fmt::format("memory_efficiency = {:.6g}\n", s.memory_efficiency);
  t += comment(f.why, "kernel_launch") + "kernel_launch = " + secs(s.kernel_launch.value) + "\n";
  t += "\n[peak]\n" + comment(f.why, "peak");
  for (const auto& [dt, p] : s.peak) t += fmt::format("{} = {}\n", hw::dtype_name(dt), flops(p.value));
  t += "\n[gemm]\n" + comment(f.why, "gemm");
  t += fmt::format("eff_max = {:.6g}\nm_half = {:.6g}\n", s.gemm.eff_max, s.gemm.m_half);
  if (s.gemm.tile_rows > 0) t += comment(f.why, "tile_rows") + fmt::format("tile_rows = {}\n", s.gemm.tile_rows);
  if (!s.gemm.shapes.empty()) t += "\n" + comment(f.why, "shapes");
  for (const auto& p : s.gemm.shapes) {
    t += fmt::format("[[gemm.shapes]]\nm = {}\nnk = {:.0f}\neff = {:.6g}\n", p.m, p.nk, p.eff);
    if (p.align > 0) t += "align = " + bytes(p.align) + "\n";
  }
  if (!s.gemm.remainder.empty()) t += "\n" + comment(f.why, "remainder");
  for (const auto& x : s.gemm.remainder)
    t += fmt::format("[[gemm.remainder]]\nrows = {}\nper_weight = \"{:.6g}ns\"\n", x.rows, x.per_weight.value * 1e9);
  return t;
}

std::string storage_toml(const Calibration& c, const DataSet& d) {
  const auto& f = *c.storage;
  const auto& s = f.spec;
  std::string t = header(c, d, "storage (the disk holding the scratch file, read with O_DIRECT)", f.split) + source(c, d);
  t += comment(f.why, "seq_read_bandwidth") + "seq_read_bandwidth = " + rate(s.seq_read_bandwidth.value) + "\n";
  t += comment(f.why, "rand_read_bandwidth") + "rand_read_bandwidth = " + rate(s.rand_read_bandwidth.value) + "\n";
  t += comment(f.why, "write_bandwidth") + "write_bandwidth = " + rate(s.write_bandwidth.value) + "\n";
  t += comment(f.why, "read_latency") + "read_latency = " + secs(s.read_latency.value) + "\n";
  t += comment(f.why, "sequential_threshold") + "sequential_threshold = " + bytes(s.sequential_threshold.value) + "\n";
  if (!s.regimes.empty()) t += "\n# Request-size regimes, t = latency + size / bandwidth each: " + f.why.at("regimes") + "\n";
  for (size_t i = 0; i < s.regimes.size(); ++i) {
    const auto& g = s.regimes[i];
    t += "[[regimes]]\n" + (i < f.regime_why.size() ? "# " + f.regime_why[i] + "\n" : std::string());
    t += "from = " + bytes(g.from.value) + "\nlatency = " + secs(g.latency.value) + "\nbandwidth = " + rate(g.bandwidth.value) + "\n";
  }
  return t;
}

std::string link_toml(const Calibration& c, const LinkFitted& l, const DataSet& d) {
  const auto& s = l.spec;
  std::string t = header(c, d, fmt::format("inter-process link (MPI over {})", l.transport), l.split) + source(c, d);
  if (l.shared)
    t += fmt::format("# fitted from the rank counts on their own {:g} cores; those sharing the cores are predicted (by `moesim validate` "
                     "only; the host's scheduler as much as the link, docs/validation.md \"Ranks sharing cores\") by {}\n", l.cores, l.shared->why);
  t += comment(l.why, "bandwidth") + "bandwidth = " + rate(s.bandwidth.value) + "\n";
  t += comment(l.why, "latency") + "latency = " + secs(s.latency.value) + "\n";
  t += comment(l.why, "message_overhead") + "message_overhead = " + secs(s.message_overhead.value) + "\n";
  t += comment(l.why, "efficiency") + fmt::format("efficiency = {:.6g}\n", s.efficiency);
  if (!s.regimes.empty()) t += "\n# Message-size regimes (per-pair message bytes): " + l.why.at("regimes") + "\n";
  for (size_t i = 0; i < s.regimes.size(); ++i) {
    const auto& g = s.regimes[i];
    t += "[[regimes]]\n" + (i < l.regime_why.size() ? "# " + l.regime_why[i] + "\n" : std::string());
    t += "from = " + bytes(g.from.value) + "\nmessage_overhead = " + secs(g.message_overhead.value) +
         fmt::format("\nefficiency = {:.6g}\n", g.efficiency);
  }
  return t;
}

std::string bus_toml(const Calibration& c, const LinkFitted& l, const DataSet& d) {
  std::string t = header(c, d, fmt::format("shared memory system under MPI over {} (the backplane of the IPC star; "
                                           "every message crosses it)", l.transport), l.split) + source(c, d);
  t += "# " + l.bus_why + "\n" + "bandwidth = " + rate(l.bus.bandwidth.value) + "\n";
  t += "# 0: the per-message cost is the port's message_overhead\nlatency = " + secs(0) + "\n";
  return t;
}

}  // namespace moesim::calibrate
