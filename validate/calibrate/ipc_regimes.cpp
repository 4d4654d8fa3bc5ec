// IPC All-to-All with message-size regimes: model and fit (equations in ipc_regimes.hpp).
#include "validate/calibrate/ipc_regimes.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "validate/calibrate/segments.hpp"

namespace moesim::calibrate {
namespace {

constexpr double kPort = 1e9;  // the port rate while searching: only e_r·B is identified

double oversub(double ranks, double cores) { return std::max(1.0, ranks / cores); }

double transfer(double port, double bus, double p, double s) {
  return std::max((p - 1) * s / port, p * (p - 1) * s / bus);
}

// o and u = 1/e of one regime for fixed rates: T = a·o + x·u, weights 1/T².
struct RegimeSolve {
  double o = 0, u = 0, sse = 0;
};
RegimeSolve solve_regime(const std::vector<const IpcPoint*>& pts, double cores, double port, double bus) {
  double saa = 0, sax = 0, sxx = 0, sat = 0, sxt = 0;
  for (const IpcPoint* q : pts) {
    const double a = (q->ranks - 1) * oversub(q->ranks, cores), x = transfer(port, bus, q->ranks, q->size);
    const double w = 1.0 / (q->seconds * q->seconds);
    saa += w * a * a, sax += w * a * x, sxx += w * x * x, sat += w * a * q->seconds, sxt += w * x * q->seconds;
  }
  RegimeSolve r;
  const double det = saa * sxx - sax * sax;
  if (det > 1e-12 * saa * sxx) {
    r.o = (sat * sxx - sxt * sax) / det;
    r.u = (saa * sxt - sax * sat) / det;
  }
  if (!(det > 1e-12 * saa * sxx) || r.o < 0) r.o = 0, r.u = sxx > 0 ? sxt / sxx : 0;  // through the origin
  if (!(r.u > 0)) {  // no positive rate: the transfer term cannot explain the times
    r.sse = std::numeric_limits<double>::infinity();
    return r;
  }
  for (const IpcPoint* q : pts) {
    const double a = (q->ranks - 1) * oversub(q->ranks, cores), x = transfer(port, bus, q->ranks, q->size);
    const double e = (a * r.o + x * r.u - q->seconds) / q->seconds;
    r.sse += e * e;
  }
  return r;
}

struct Candidate {
  double ratio = 0, sse = std::numeric_limits<double>::infinity();
  std::vector<RegimeSolve> regimes;
};

Candidate at_ratio(const std::vector<std::vector<const IpcPoint*>>& parts, double cores, double ratio) {
  Candidate c;
  c.ratio = ratio;
  c.sse = 0;
  for (const auto& part : parts) {
    c.regimes.push_back(solve_regime(part, cores, kPort, kPort * ratio));
    c.sse += c.regimes.back().sse;
  }
  return c;
}

// Best bus/port ratio for one cut: log grid over [1e-3, 1e4] (B_bus above 1e4·B_port never
// binds), then finer grids around the best point; `fixed` > 0: that ratio only.
Candidate best_ratio(const std::vector<std::vector<const IpcPoint*>>& parts, double cores, double fixed) {
  if (fixed > 0) return at_ratio(parts, cores, fixed);
  Candidate best;
  for (double lg = -3; lg <= 4.0001; lg += 0.05) {
    Candidate c = at_ratio(parts, cores, std::pow(10.0, lg));
    if (c.sse < best.sse) best = std::move(c);
  }
  for (double step = 0.025; step > 1e-5 && std::isfinite(best.sse); step /= 4) {
    const double centre = std::log10(best.ratio);
    for (int i = -4; i <= 4; ++i) {
      Candidate c = at_ratio(parts, cores, std::pow(10.0, std::clamp(centre + i * step / 4, -3.0, 4.0)));
      if (c.sse < best.sse) best = std::move(c);
    }
  }
  return best;
}

}  // namespace

double ipc_time(const IpcRegimeFit& m, double ranks, double size, double cores) {
  const IpcRegime* r = nullptr;
  for (const auto& g : m.regimes)
    if (!r || size >= g.from) r = &g;
  const double o = r ? r->overhead : 0, e = r ? r->efficiency : 1;
  return (ranks - 1) * o * oversub(ranks, cores) + transfer(m.port_bw, m.bus_bw, ranks, size) / e;
}

IpcRegimeFit fit_ipc_regimes(const std::vector<IpcPoint>& pts, double cores, int max_regimes) {
  std::vector<double> sizes, ranks;
  for (const auto& q : pts) sizes.push_back(q.size), ranks.push_back(q.ranks);
  for (auto* v : {&sizes, &ranks}) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }
  // One rank count: the ratio is not identified (see the header).
  const bool unidentified = ranks.size() == 1;
  IpcRegimeFit out;
  out.ratio_identified = !unidentified;
  out.points = static_cast<int>(pts.size());
  double best_score = std::numeric_limits<double>::infinity();
  auto cuts = contiguous_partitions(sizes.size(), max_regimes, 2);
  if (cuts.empty()) cuts = contiguous_partitions(sizes.size(), 1, 1);  // a single fitted size
  for (const auto& starts : cuts) {
    std::vector<std::vector<const IpcPoint*>> parts(starts.size());
    for (const auto& q : pts) {
      const size_t idx = static_cast<size_t>(std::lower_bound(sizes.begin(), sizes.end(), q.size) - sizes.begin());
      const size_t part = static_cast<size_t>(std::upper_bound(starts.begin(), starts.end(), idx) - starts.begin()) - 1;
      parts[part].push_back(&q);
    }
    const Candidate c = best_ratio(parts, cores, unidentified ? kUnidentifiedBusRatio : 0);
    if (!std::isfinite(c.sse)) continue;
    const double score = bic(c.sse, out.points, 3 * static_cast<int>(starts.size()));  // o, e per regime; ratio; boundaries
    if (!(score < best_score - 1e-9)) continue;
    best_score = score;
    double u_min = std::numeric_limits<double>::infinity();
    for (const auto& r : c.regimes) u_min = std::min(u_min, r.u);
    out.port_bw = kPort / u_min;
    out.bus_bw = kPort * c.ratio / u_min;
    out.regimes.clear();
    for (size_t i = 0; i < starts.size(); ++i) {
      IpcRegime g;
      g.from = i == 0 ? 0.0 : regime_boundary(sizes[starts[i] - 1], sizes[starts[i]]);
      g.overhead = c.regimes[i].o;
      g.efficiency = u_min / c.regimes[i].u;
      g.points = static_cast<int>(parts[i].size());
      g.rms_rel = std::sqrt(c.regimes[i].sse / std::max<double>(1.0, g.points));
      out.regimes.push_back(g);
    }
    out.rms_rel = std::sqrt(c.sse / std::max(1, out.points));
  }
  return out;
}

}  // namespace moesim::calibrate
