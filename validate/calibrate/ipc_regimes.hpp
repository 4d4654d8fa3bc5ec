#pragma once
// The IPC All-to-All model with message-size regimes (docs/validation.md, "Link regimes"):
//
//   T(P, s) = (P−1)·o_r·f + max((P−1)·s / B_port, P·(P−1)·s / B_bus) / e_r,   f = max(1, P/C)
//
// for a per-pair message of s bytes in regime r (from_r <= s < from_{r+1}): o_r the regime's LogP
// overhead per message (Culler et al. 1993), e_r the fraction of the port and bus rates its copies
// reach (LogGP's per-regime gap, Alexandrov et al. 1995): MPI's eager protocol copies small
// messages through a shared buffer and announces large ones with a rendezvous handshake, so o
// jumps at the eager limit; copies of messages that stay in cache run faster than those from DRAM,
// so e drops for large messages. With one regime this is fit.hpp's ipc_time (e = 1).
//
// Fit: for a given cut of the fitted sizes into regimes and a given ratio B_bus/B_port, each
// regime is linear in (o_r, 1/e_r): T = a·o_r + x·(1/e_r), a = (P−1)·f, x the transfer time at
// e = 1, so both come from 2x2 weighted normal equations (weights 1/T², o_r clamped at 0). The
// ratio is searched on a log grid refined around the best point; the cut (at most max_regimes
// contiguous ranges of >= 2 sizes) by BIC (segments.hpp). Only the products e_r·B are identified:
// the rates are normalised so that the fastest regime has e = 1. With a single rank count P
// B_bus/B_port is not identified either: max((P−1)s/B_port, P(P−1)s/B_bus) is one rate. The fit
// then takes B_bus = 2·B_port (both bind at P = 2, the shared memory system binds above it) and
// says so (ratio_identified = false).
//
// Ranks sharing cores (link_fit.cpp): the rule f = P/C stretches each rank's CPU work, but
// busy-polling MPI over shared memory waits for descheduled peers far longer (3-20x the rule at
// small messages on three VMs, docs/validation.md, "Ranks sharing cores"). So where rank counts on
// their own cores were measured, the link is fitted from those alone; the rule fit over every rank
// count predicts the oversubscribed ones (`moesim validate` only, reported apart): it was more
// robust there than a fit per rank count (docs/validation.md).
#include <vector>

#include "validate/calibrate/fit.hpp"

namespace moesim::calibrate {

inline constexpr double kUnidentifiedBusRatio = 2.0;

struct IpcRegime {
  double from = 0;        // smallest per-pair message of the regime, bytes
  double overhead = 0;    // o_r, s
  double efficiency = 1;  // e_r in (0, 1]
  int points = 0;
  double rms_rel = 0;     // over the regime's points
};

struct IpcRegimeFit {
  double port_bw = 0, bus_bw = 0;  // B/s at e = 1
  std::vector<IpcRegime> regimes;  // by increasing from; the first from = 0
  bool ratio_identified = true;    // false: B_bus = kUnidentifiedBusRatio·B_port (see above)
  double rms_rel = 0;
  int points = 0;
};

double ipc_time(const IpcRegimeFit& m, double ranks, double size, double cores);
IpcRegimeFit fit_ipc_regimes(const std::vector<IpcPoint>& pts, double cores, int max_regimes);

}  // namespace moesim::calibrate
