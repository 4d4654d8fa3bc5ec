// Least-squares fits (equations in fit.hpp).
#include "validate/calibrate/fit.hpp"

#include <algorithm>
#include <cmath>

#include "validate/common/stats.hpp"

namespace moesim::calibrate {
namespace {

double rms_rel(const std::vector<double>& xs, const std::vector<double>& ys, double a, double b) {
  double s = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double r = (a + b * xs[i] - ys[i]) / ys[i];
    s += r * r;
  }
  return std::sqrt(s / static_cast<double>(xs.size()));
}

// Slope of y = b·x through the origin, weights 1/y².
double slope_through_origin(const std::vector<double>& xs, const std::vector<double>& ys) {
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double w = 1.0 / (ys[i] * ys[i]);
    sxy += w * xs[i] * ys[i];
    sxx += w * xs[i] * xs[i];
  }
  return sxx > 0 ? sxy / sxx : 0.0;
}

// For a fixed m_half: eff = eff_max · u, u = m/(m+m_half); eff_max = Σ u·y / Σ u².
double best_eff_max(const std::vector<double>& ms, const std::vector<double>& effs, double m_half) {
  double suy = 0, suu = 0;
  for (size_t i = 0; i < ms.size(); ++i) {
    const double u = ms[i] / (ms[i] + m_half);
    suy += u * effs[i];
    suu += u * u;
  }
  return std::clamp(suu > 0 ? suy / suu : 0.0, 1e-9, 1.0);
}

double ramp_sse(const std::vector<double>& ms, const std::vector<double>& effs, double m_half) {
  const double e = best_eff_max(ms, effs, m_half);
  double s = 0;
  for (size_t i = 0; i < ms.size(); ++i) {
    const double r = e * ms[i] / (ms[i] + m_half) - effs[i];
    s += r * r;
  }
  return s;
}

}  // namespace

LineFit fit_line_relative(const std::vector<double>& xs, const std::vector<double>& ys) {
  LineFit f;
  f.points = static_cast<int>(xs.size());
  double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double w = 1.0 / (ys[i] * ys[i]);
    sw += w;
    sx += w * xs[i];
    sy += w * ys[i];
    sxx += w * xs[i] * xs[i];
    sxy += w * xs[i] * ys[i];
  }
  const double det = sw * sxx - sx * sx;
  if (xs.size() >= 2 && std::fabs(det) > 1e-300 * std::max(1.0, sw * sxx)) {
    f.slope = (sw * sxy - sx * sy) / det;
    f.intercept = (sy - f.slope * sx) / sw;
  }
  if (xs.size() < 2 || !(det > 0) || f.intercept < 0) {
    f.clamped = f.intercept < 0;
    f.intercept = 0;
    f.slope = slope_through_origin(xs, ys);
  }
  f.rms_rel = rms_rel(xs, ys, f.intercept, f.slope);
  return f;
}

RampFit fit_ramp(const std::vector<double>& ms, const std::vector<double>& effs) {
  RampFit f;
  f.points = static_cast<int>(ms.size());
  // Log grid over m_half in [1e-3, 1e6], then golden-section refinement in log space.
  double best_lg = 0, best_sse = ramp_sse(ms, effs, 0.0);
  bool found = false;
  for (double lg = -3; lg <= 6.0001; lg += 0.05) {
    const double s = ramp_sse(ms, effs, std::pow(10.0, lg));
    if (s < best_sse) best_sse = s, best_lg = lg, found = true;
  }
  if (found) {
    double lo = best_lg - 0.05, hi = best_lg + 0.05;
    const double g = (std::sqrt(5.0) - 1) / 2;
    for (int it = 0; it < 60; ++it) {
      const double a = hi - g * (hi - lo), b = lo + g * (hi - lo);
      if (ramp_sse(ms, effs, std::pow(10.0, a)) < ramp_sse(ms, effs, std::pow(10.0, b))) hi = b;
      else lo = a;
    }
    f.m_half = std::pow(10.0, (lo + hi) / 2);
  }
  if (ramp_sse(ms, effs, 0.0) <= ramp_sse(ms, effs, f.m_half)) f.m_half = 0;
  f.m_half = std::clamp(f.m_half, 0.0, 1e6);
  f.eff_max = best_eff_max(ms, effs, f.m_half);
  f.rms = std::sqrt(ramp_sse(ms, effs, f.m_half) / static_cast<double>(std::max<size_t>(ms.size(), 1)));
  return f;
}

double abs_pct_error(double predicted, double measured) {
  return std::fabs(predicted - measured) / measured * 100.0;
}

ErrorStats error_stats(std::vector<double> e) {
  ErrorStats s;
  s.count = static_cast<int>(e.size());
  if (e.empty()) return s;
  std::sort(e.begin(), e.end());
  s.median = bench::percentile_sorted(e, 0.5);
  s.p90 = bench::percentile_sorted(e, 0.9);
  s.max = e.back();
  return s;
}

}  // namespace moesim::calibrate

namespace moesim::calibrate {
namespace {

double oversubscription(double ranks, double cores) { return std::max(1.0, ranks / cores); }

// The bandwidth part of ipc_time (o = 0).
double ipc_transfer(double port, double bus, double p, double s) {
  return std::max((p - 1) * s / port, p * (p - 1) * s / bus);
}

// For fixed bandwidths, o by relative least squares of y − transfer = o·(P−1)·f, clamped at 0.
IpcFit best_overhead(const std::vector<IpcPoint>& pts, double cores, double port, double bus) {
  double num = 0, den = 0;
  for (const auto& q : pts) {
    const double f = oversubscription(q.ranks, cores), a = (q.ranks - 1) * f;
    const double w = 1.0 / (q.seconds * q.seconds);
    num += w * a * (q.seconds - ipc_transfer(port, bus, q.ranks, q.size));
    den += w * a * a;
  }
  IpcFit m{std::max(0.0, den > 0 ? num / den : 0.0), port, bus, 0, static_cast<int>(pts.size())};
  double s = 0;
  for (const auto& q : pts) {
    const double r = (ipc_time(m, q.ranks, q.size, cores) - q.seconds) / q.seconds;
    s += r * r;
  }
  m.rms_rel = std::sqrt(s / static_cast<double>(std::max<size_t>(1, pts.size())));
  return m;
}

// Best fit over a log grid of n x n bandwidths in [lo, hi] (log10 of B/s).
IpcFit grid(const std::vector<IpcPoint>& pts, double cores, double lo_port, double hi_port, double lo_bus,
            double hi_bus, int n) {
  IpcFit best;
  best.rms_rel = 1e300;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      const double port = std::pow(10.0, lo_port + (hi_port - lo_port) * i / (n - 1));
      const double bus = std::pow(10.0, lo_bus + (hi_bus - lo_bus) * j / (n - 1));
      IpcFit m = best_overhead(pts, cores, port, bus);
      if (m.rms_rel < best.rms_rel) best = m;
    }
  return best;
}

}  // namespace

double ipc_time(const IpcFit& m, double ranks, double size, double cores) {
  const double f = oversubscription(ranks, cores);
  return (ranks - 1) * m.overhead * f + ipc_transfer(m.port_bw, m.bus_bw, ranks, size);
}

IpcFit fit_ipc(const std::vector<IpcPoint>& pts, double cores) {
  IpcFit m = grid(pts, cores, 6, 12, 6, 12, 49);  // 1 MB/s .. 1 TB/s, 1/8 decade
  for (double step = 0.125; step > 1e-4; step /= 4) {
    const double p = std::log10(m.port_bw), b = std::log10(m.bus_bw);
    m = grid(pts, cores, std::max(6.0, p - step), std::min(12.0, p + step), std::max(6.0, b - step),
             std::min(12.0, b + step), 9);
  }
  return m;
}

}  // namespace moesim::calibrate
