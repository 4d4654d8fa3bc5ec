#pragma once
// Regimes by size: a series of measurements split into contiguous ranges of its sorted distinct
// sizes, each range fitted by its own line (segmented regression), the number of ranges chosen by
// the Bayesian information criterion (Schwarz, "Estimating the dimension of a model", Annals of
// Statistics 6(2), 1978) on the relative residuals, so a regime is added only when it pays for
// its parameters. Used by the storage fit (latency + size/bandwidth per request-size regime) and
// the link fit (per-message overhead and rate per message-size regime: eager vs rendezvous).
#include <cstddef>
#include <vector>

namespace moesim::calibrate {

// Every way to cut n sorted items into 1..max_parts contiguous parts of at least min_len items:
// each partition is the list of its parts' first indices (the first is always 0).
std::vector<std::vector<size_t>> contiguous_partitions(size_t n, int max_parts, size_t min_len);

// BIC = n·ln(sse/n) + params·ln(n), sse/n floored at 1e-12 (exact synthetic data ties, and the
// penalty then picks the fewest parameters).
double bic(double sse, int points, int params);

// The boundary between two regimes: the smallest size of the upper regime, so the sizes between
// the two regimes' measured ones belong to the lower. Protocol and cache thresholds sit at or just
// below powers of two (eager limits of 4 or 64 KiB; a cache of 2^k bytes is already overflowed by a
// 2^k-byte message and its neighbours), so a power-of-two grid size is the first past the switch
// more often than the last before it. Measured on the held-out sizes of three
// machines (docs/validation.md, "Regime boundary"): against the geometric mean of the two sizes,
// storage p90 16.6% -> 10.5% (Xeon VM) and 61.0% -> 43.6% (2026-11-23 EPYC), TCP max 96.9% ->
// 29.8% (62 KB pairs below the 64 KiB eager limit, 2026-12-06 EPYC); no p90 got worse.
double regime_boundary(double last_of_lower, double first_of_upper);

}  // namespace moesim::calibrate
