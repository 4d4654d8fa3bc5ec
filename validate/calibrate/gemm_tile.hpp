#pragma once
// The GEMM register tile's period m_r and the remainder costs rho(r) from expert_ffn rows
// (hardware/compute_model.hpp, "Register-tile remainder"; docs/validation.md, "GEMM tile
// remainder").
//
// For a candidate period u (2, 4, ..., kMaxTileRows = 256: CPU register tiles of 4-32 rows, GPU
// thread-block tiles of 64-256), at each measured weight shape (n, k) of one run (file
// and pattern: pairs never mix runs, whose rates drift by 10% on a shared VM):
//   rho_u(r) = median over shapes of (t(u + r) - t(u)) / (n·k)        (r = 1..u-1: the q = 1 pairs)
// and the candidate is scored on the pairs it did not use, m = q·u + r with q >= 2:
//   error = |t(q·u) + n·k·rho_u(r) - t(m)| / t(m),   score = mean error.
// The candidate with the lowest score is kept when it beats linear interpolation of t between
// t(q·u) and t((q+1)·u) on the same pairs by 10% (a smooth t(m) needs no tile); its rho(r) is then the
// median over every pair (q >= 1), clamped at 0. Needs every m from u to 3u - 1 measured at
// some shape in one run (microbench.sh's "gemm tile" step measures m = 16..48, pattern tile;
// its "cuda tile" step m = 16..400).
#include <cstdint>
#include <string>
#include <vector>

#include "hardware/spec.hpp"
#include "validate/calibrate/rows.hpp"

namespace moesim::calibrate {

inline constexpr int64_t kMaxTileRows = 256;

struct TileFit {
  int64_t rows = 0;                        // the period m_r; 0 = no tile (too few rows, or no gain)
  std::vector<hw::GemmRemainder> remainder;
  double score = 0;                        // mean relative error of the held-back pairs (q >= 2)
  double linear_score = 0;                 // linear interpolation between multiples on the pairs it can predict (-1: none)
  int64_t held_pairs = 0;
  bool measured = false;                   // some period had the rows to be scored
  std::string why;                         // provenance / reason for the preset comment
};

// rows: the fitted expert_ffn rows of one dtype and thread count.
TileFit fit_gemm_tile(const std::vector<const Row*>& rows);

}  // namespace moesim::calibrate
