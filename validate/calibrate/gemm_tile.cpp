// Register-tile period and remainder costs of the GEMM (equations in gemm_tile.hpp).
#include "validate/calibrate/gemm_tile.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

#include "validate/common/stats.hpp"

namespace moesim::calibrate {
namespace {

// Per weight shape (n, k): n·k and the median time of each measured m (duplicates averaged).
struct Shape {
  double nk = 0;
  std::map<int64_t, double> t;  // m -> seconds
};

// One Shape per (file, pattern, n, k): a pair t(q·u + r) - t(q·u) is only ever taken within one
// run, so drift between runs (minutes apart on a shared VM) never enters rho.
std::vector<Shape> shapes_of(const std::vector<const Row*>& rows) {
  using Key = std::tuple<std::string, std::string, int64_t, int64_t>;
  std::map<Key, std::map<int64_t, std::pair<double, int>>> sum;
  for (const Row* r : rows) {
    if (r->r.n <= 0 || r->r.k <= 0 || r->r.m <= 0 || !(r->r.median_s > 0)) continue;
    auto& c = sum[{r->file, r->r.pattern, r->r.n, r->r.k}][r->r.m];
    c.first += r->r.median_s;
    ++c.second;
  }
  std::vector<Shape> out;
  for (const auto& [key, ms] : sum) {
    Shape s{static_cast<double>(std::get<2>(key)) * static_cast<double>(std::get<3>(key)), {}};
    for (const auto& [m, c] : ms) s.t[m] = c.first / c.second;
    out.push_back(std::move(s));
  }
  return out;
}

const double* at(const Shape& s, int64_t m) {
  auto it = s.t.find(m);
  return it == s.t.end() ? nullptr : &it->second;
}

// rho(r) per weight element, r = 1..u-1, from the pairs (q·u + r, q·u) with q in [q_lo, q_hi];
// empty when some r has no pair.
std::vector<double> remainders(const std::vector<Shape>& shapes, int64_t u, int64_t q_lo, int64_t q_hi) {
  std::vector<std::vector<double>> pairs(static_cast<size_t>(u));
  for (const Shape& s : shapes)
    for (const auto& [m, t] : s.t) {
      const int64_t q = m / u, r = m % u;
      if (r == 0 || q < q_lo || q > q_hi) continue;
      if (const double* base = at(s, q * u)) pairs[static_cast<size_t>(r)].push_back((t - *base) / s.nk);
    }
  std::vector<double> rho(static_cast<size_t>(u), 0.0);
  for (int64_t r = 1; r < u; ++r) {
    auto& v = pairs[static_cast<size_t>(r)];
    if (v.empty()) return {};
    rho[static_cast<size_t>(r)] = bench::summarize(std::move(v)).median;
  }
  return rho;
}

struct Score {
  double tile = 0;         // mean error of every q >= 2 pair
  double tile_common = 0;  // ... of the pairs linear interpolation can predict too
  double linear = 0;       // linear interpolation's mean error on those
  int64_t pairs = 0, common = 0;
  // At least 10% better than linear interpolation, which must itself miss by more than 0.1%.
  bool gains() const { return common == 0 || (linear > 1e-3 && tile_common < 0.9 * linear); }
};

// The q >= 2 pairs predicted with rho (tile) and by linear interpolation between multiples of u.
Score score(const std::vector<Shape>& shapes, int64_t u, const std::vector<double>& rho) {
  Score sc;
  for (const Shape& s : shapes)
    for (const auto& [m, t] : s.t) {
      const int64_t q = m / u, r = m % u;
      const double* base = at(s, q * u);
      if (q < 2 || r == 0 || !base) continue;
      const double e = std::fabs(*base + s.nk * rho[static_cast<size_t>(r)] - t) / t;
      sc.tile += e;
      ++sc.pairs;
      if (const double* next = at(s, (q + 1) * u)) {
        const double lin = *base + (*next - *base) * static_cast<double>(r) / static_cast<double>(u);
        sc.linear += std::fabs(lin - t) / t;
        sc.tile_common += e;
        ++sc.common;
      }
    }
  if (sc.pairs) sc.tile /= static_cast<double>(sc.pairs);
  if (sc.common) sc.linear /= static_cast<double>(sc.common), sc.tile_common /= static_cast<double>(sc.common);
  return sc;
}

}  // namespace

TileFit fit_gemm_tile(const std::vector<const Row*>& rows) {
  const std::vector<Shape> shapes = shapes_of(rows);
  TileFit best;
  best.score = std::numeric_limits<double>::infinity();
  std::string tried;
  for (int64_t u = 2; u <= kMaxTileRows; u *= 2) {
    const std::vector<double> rho = remainders(shapes, u, 1, 1);
    if (rho.empty()) continue;
    const Score sc = score(shapes, u, rho);
    if (sc.pairs < u - 1) continue;  // fewer held-back pairs than fitted remainders
    tried += fmt::format("{}u = {}: {:.1f}%{}", tried.empty() ? "" : "; ", u, 100 * sc.tile, sc.gains() ? "" : " (no gain)");
    if (!sc.gains() || sc.tile >= best.score) continue;
    best.rows = u;
    best.score = sc.tile;
    best.linear_score = sc.common ? sc.linear : -1;
    best.held_pairs = sc.pairs;
  }
  if (best.rows == 0) {
    best.score = 0;
    best.measured = !tried.empty();
    best.why = tried.empty() ? "no tile: no dense m run (m = u+1 .. 3u-1 at one n x k) measured"
                             : "no tile: no period beat linear interpolation between its multiples (" + tried + ")";
    return best;
  }
  const std::vector<double> rho = remainders(shapes, best.rows, 1, std::numeric_limits<int64_t>::max());
  for (int64_t r = 1; r < best.rows; ++r)
    best.remainder.push_back({r, Seconds(std::max(0.0, rho[static_cast<size_t>(r)]))});
  best.why = fmt::format(
      "register tile: period u chosen among 2..{} by the mean relative error of t(q·u) + n·k·rho(r) on the m = q·u + r, q >= 2 "
      "rows with rho from the q = 1 rows, pairs taken within one file and pattern ({}; no gain: not better than linear interpolation); u = {}: {:.1f}% over {} rows, "
      "linear interpolation between multiples of u {}; rho(r) = median over every (n, k) and q >= 1 of "
      "(t(q·u + r) - t(q·u)) / (n·k), clamped at 0",
      kMaxTileRows, tried, best.rows, 100 * best.score, best.held_pairs,
      best.linear_score < 0 ? std::string("not computable") : fmt::format("{:.1f}% on the rows it can predict", 100 * best.linear_score));
  return best;
}

}  // namespace moesim::calibrate
