// Link and bus presets of one MPI transport from MPI_Alltoall rows (model and fit in
// ipc_regimes.hpp; docs/validation.md, "Link regimes").
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <map>

#include "validate/calibrate/calibrate.hpp"
#include "validate/calibrate/ipc_regimes.hpp"
#include "validate/calibrate/series.hpp"

namespace moesim::calibrate {
namespace {

std::string model_text(double cores) {
  return fmt::format("T = (P-1)*o_r*f + max((P-1)*s/B_port, P*(P-1)*s/B_bus)/e_r, f = max(1, P/{:g} cores)", cores);
}

void describe(LinkFitted& f, const IpcRegimeFit& m, const Rows& fit) {
  const std::string model = model_text(f.cores);
  const std::string how = fmt::format("relative least squares over {} MPI_Alltoall rows ({}), {} message-size regime(s) chosen by BIC; "
                                      "rms relative residual {:.3f}", m.points, row_list(fit), m.regimes.size(), m.rms_rel);
  const bool port_free = m.ratio_identified && m.bus_bw <= m.port_bw * 1.0001e-3, bus_free = m.bus_bw >= m.port_bw * 0.9999e4;
  f.why["bandwidth"] = fmt::format("B_port of {}, {}{}", model, how,
                                   port_free ? " (at the search bound: the bus always binds, B_port is not identifiable)" : "");
  f.why["latency"] = "0: the fixed cost of a message is its regime's message_overhead (per message, serial per sender)";
  f.why["message_overhead"] = "the first regime's o (summary; the [[regimes]] below are what the simulator uses)";
  f.why["efficiency"] = "1: the fitted bandwidth is already the achieved one (per-regime efficiency below)";
  f.why["regimes"] = fmt::format("o_r (LogP overhead, Culler et al. 1993) and e_r (LogGP-style per-regime rate, Alexandrov et al. 1995) of {}", model);
  for (size_t i = 0; i < m.regimes.size(); ++i)
    f.regime_why.push_back(fmt::format("regime {}: {} fitted rows, rms relative residual {:.3f}", i + 1, m.regimes[i].points, m.regimes[i].rms_rel));
  f.bus_why = fmt::format("B_bus of {}, {}{}", model, how,
                          !m.ratio_identified ? fmt::format(" (one rank count: B_bus/B_port is not identified; B_bus = {:g} B_port, so both bind "
                                                            "at P = 2 and the memory system binds above)", kUnidentifiedBusRatio)
                          : bus_free ? " (at the search bound: the ports always bind, B_bus is not identifiable)" : "");
}

// One rank count's fitted rows.
struct Series {
  Rows rows;
  std::vector<IpcPoint> pts;
  void add(const Series& o) {
    rows.insert(rows.end(), o.rows.begin(), o.rows.end());
    pts.insert(pts.end(), o.pts.begin(), o.pts.end());
  }
};

void to_specs(const IpcRegimeFit& m, hw::LinkSpec& port, hw::LinkSpec& bus) {
  port.bandwidth = BytesPerSecond(m.port_bw);
  port.latency = Seconds(0);
  port.message_overhead = Seconds(m.regimes.front().overhead);
  port.efficiency = 1.0;
  for (const auto& g : m.regimes) port.regimes.push_back({Bytes(g.from), Seconds(g.overhead), g.efficiency});
  bus.bandwidth = BytesPerSecond(m.bus_bw);
  bus.latency = Seconds(0);
  bus.efficiency = 1.0;
}

// Every rank count under the rule f = P/C: what predicts the rank counts above the cores.
void fit_shared(LinkFitted& f, const Series& all) {
  const IpcRegimeFit m = fit_ipc_regimes(all.pts, f.cores, kMaxLinkRegimes);
  if (m.regimes.empty()) return;
  SharedCoresFit g;
  to_specs(m, g.port, g.bus);
  std::string regimes;
  for (const auto& r : m.regimes)
    regimes += fmt::format("{}from {:g} B: o {:.4g} us, e {:.4g}", regimes.empty() ? "" : "; ", r.from, r.overhead * 1e6, r.efficiency);
  g.why = fmt::format("{} over all {} rows ({}): B_port {:.4g} MB/s, B_bus {:.4g} MB/s, {} regime(s): {}; rms relative residual {:.3f}",
                      model_text(f.cores), all.pts.size(), row_list(all.rows), m.port_bw / 1e6, m.bus_bw / 1e6, m.regimes.size(),
                      regimes, m.rms_rel);
  f.shared = std::move(g);
}

}  // namespace

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
  std::map<int64_t, Series> by_ranks;
  for (int64_t p : ranks) {
    Rows series;
    for (const Row* r : rows) if (r->r.ranks == p) series.push_back(r);
    SplitRows s = split_by_size(series, [](const Row& r) { return r.r.size_bytes; });
    for (const Row* r : s.fit) {
      by_ranks[p].rows.push_back(r);
      by_ranks[p].pts.push_back({static_cast<double>(p), static_cast<double>(r->r.size_bytes), r->r.median_s});
    }
    f.held_out.insert(f.held_out.end(), s.held_out.begin(), s.held_out.end());
    f.split += fmt::format("{}P={}: fitted {} held out {} ({})", f.split.empty() ? "" : "; ", p, sizes_text(s.fit_sizes),
                           sizes_text(s.held_sizes), s.rule);
  }
  // The link from the rank counts on their own cores when there are any (ipc_regimes.hpp), else
  // from all under the rule f = P/C.
  Series own, all;
  for (const auto& [p, s] : by_ranks) {
    if (static_cast<double>(p) <= f.cores) own.add(s);
    all.add(s);
  }
  const bool split_sharing = own.pts.size() >= 3 && own.pts.size() < all.pts.size();
  const Series& main = own.pts.size() >= 3 ? own : all;
  if (main.pts.size() < 3) {
    c.notes.push_back(fmt::format("alltoall over {}: {} fitted rows, need 3 for o, B_port, B_bus: no link preset", transport, main.pts.size()));
    return;
  }
  const IpcRegimeFit m = fit_ipc_regimes(main.pts, f.cores, kMaxLinkRegimes);
  if (m.regimes.empty()) {
    c.notes.push_back(fmt::format("alltoall over {}: no positive rate fits the rows: no link preset", transport));
    return;
  }
  to_specs(m, f.spec, f.bus);
  describe(f, m, main.rows);
  if (split_sharing) fit_shared(f, all);
  c.links.push_back(std::move(f));
}

}  // namespace moesim::calibrate
