#pragma once
// Least-squares fits used by the calibrator (pure math, no I/O).
//
//  - fit_line_relative: y = a + b·x minimizing the sum of squared RELATIVE residuals
//    Σ((a + b·x_i − y_i) / y_i)², i.e. weighted least squares with w_i = 1/y_i², so a 1 KiB
//    message and a 64 MiB one count alike (timings span six decades). Used for the alpha-beta
//    (Hockney 1994) link fit T = α + x/B and the storage access-time fit t = L + s/bw
//    (Ruemmler & Wilkes 1994). A negative intercept is unphysical: it is clamped to 0 and the
//    slope refitted through the origin (reported by `clamped`).
//  - fit_ramp: eff(m) = eff_max · m / (m + m_half) (hardware/spec.hpp GemmEfficiency) by least
//    squares on eff: for a fixed m_half the model is linear in eff_max (closed form), so m_half
//    is searched on a log grid and refined by golden-section search.
#include <vector>

namespace moesim::calibrate {

struct LineFit {
  double intercept = 0;
  double slope = 0;
  double rms_rel = 0;    // root mean square of the relative residuals over the fitted points
  int points = 0;
  bool clamped = false;  // intercept forced to 0
};
// xs, ys of equal size >= 1 and ys > 0. One point (or all x equal) fits a line through the origin.
LineFit fit_line_relative(const std::vector<double>& xs, const std::vector<double>& ys);

struct RampFit {
  double eff_max = 0;
  double m_half = 0;
  double rms = 0;  // root mean square residual of eff (absolute, fraction of peak)
  int points = 0;
};
// ms > 0, effs > 0, equal size >= 1. eff_max is clamped to (0, 1], m_half to [0, 1e6].
RampFit fit_ramp(const std::vector<double>& ms, const std::vector<double>& effs);

// Absolute percentage error |predicted − measured| / measured · 100.
double abs_pct_error(double predicted, double measured);

struct ErrorStats {
  int count = 0;
  double median = 0, p90 = 0, max = 0;  // percent
};
// Median and p90 by linear interpolation between order statistics (numpy's default).
ErrorStats error_stats(std::vector<double> pct_errors);

}  // namespace moesim::calibrate

namespace moesim::calibrate {

// Inter-process All-to-All on one multi-core host (docs/validation.md, "Links"): P ranks on C
// cores, each rank sends s bytes to each of the P − 1 others:
//   T(P, s) = (P−1)·o·f + max((P−1)·s / B_port, P·(P−1)·s / B_bus),   f = max(1, P/C)
// o: LogP per-message overhead, paid serially by each sender (Culler et al. 1993); B_port: one
// rank's copy rate; B_bus: the aggregate rate all copies share (the memory system, and the C
// cores that run the copies: time-sharing the cores caps the sum, not each rank). With more
// ranks than cores each rank's per-message CPU work stretches by f. When one of the two rates
// never binds in the data it is not identifiable: the fit leaves it at the search bound (1 TB/s)
// and the calibrator says so. Fitted by relative least squares: a log
// grid over (B_port, B_bus), o in closed form (clamped at 0) for each, then a finer grid around
// the best point.
struct IpcPoint {
  double ranks = 0, size = 0, seconds = 0;
};
struct IpcFit {
  double overhead = 0;   // o, s
  double port_bw = 0;    // B_port, B/s
  double bus_bw = 0;     // B_bus, B/s
  double rms_rel = 0;
  int points = 0;
};
double ipc_time(const IpcFit& m, double ranks, double size, double cores);
IpcFit fit_ipc(const std::vector<IpcPoint>& pts, double cores);

}  // namespace moesim::calibrate
