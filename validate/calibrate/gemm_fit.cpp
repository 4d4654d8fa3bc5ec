// The device's peak and GEMM efficiency (ramp and shape table) from mb_gemm rows
// (docs/validation.md, "GEMM shape model"; equations in hardware/compute_model.hpp).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>

#include "hardware/compute_model.hpp"
#include "sim/core/errors.hpp"
#include "validate/calibrate/calibrate.hpp"
#include "validate/calibrate/fit.hpp"
#include "validate/calibrate/gemm_tile.hpp"
#include "validate/calibrate/series.hpp"

namespace moesim::calibrate {
namespace {

int64_t max_threads(const Rows& rows) {
  int64_t t = 0;
  for (const Row* r : rows) t = std::max(t, r->r.threads);
  return t;
}

// Row-pitch alignment level of a row (compute_model.hpp): the largest power of two dividing
// n·elem_bytes, capped at 1 KiB (every pitch of 1 KiB and more behaves alike on the machines
// measured: docs/validation.md "GEMM shape model").
constexpr double kAlignCap = 1024;
double align_level(const Row& r, double elem_bytes) { return std::min(hw::gemm_row_align(r.r.n, elem_bytes), kAlignCap); }

// The fitted rows' efficiencies as a full (m, nk) grid of one align level: duplicates of a cell
// (e.g. 768x3072 and 3072x768) averaged; m values missing at some nk dropped (said in the note).
std::vector<hw::GemmShapePoint> level_grid(const Rows& fit, double peak, double align, std::string& note) {
  std::map<std::pair<double, int64_t>, std::pair<double, int>> cells;  // (nk, m) -> (sum eff, count)
  std::map<int64_t, size_t> m_count;
  std::vector<double> nks;
  for (const Row* r : fit) {
    const double nk = static_cast<double>(r->r.n) * static_cast<double>(r->r.k);
    auto& c = cells[{nk, r->r.m}];
    if (c.second++ == 0) ++m_count[r->r.m];
    c.first += r->r.flops_per_s / peak;
    nks.push_back(nk);
  }
  std::sort(nks.begin(), nks.end());
  nks.erase(std::unique(nks.begin(), nks.end()), nks.end());
  std::vector<hw::GemmShapePoint> grid;
  std::vector<int64_t> dropped;
  for (const auto& [key, c] : cells) {
    if (m_count[key.second] != nks.size()) {
      if (std::find(dropped.begin(), dropped.end(), key.second) == dropped.end()) dropped.push_back(key.second);
      continue;
    }
    grid.push_back({key.second, key.first, std::clamp(c.first / c.second, 1e-6, 1.0), align});
  }
  if (!dropped.empty())
    note = fmt::format("m values not measured at every n*k{} dropped from the shape table: {}",
                       align > 0 ? fmt::format(" (align {:g} B)", align) : "", fmt::join(dropped, ","));
  return grid;
}

// One grid per row-pitch alignment level when the fitted rows span several (microbench.sh's grid
// offsets n by 0/16/32/64/128 elements), else one table for every alignment (align = 0).
std::vector<hw::GemmShapePoint> shape_grid(const Rows& fit, double peak, double elem_bytes, std::vector<std::string>& notes) {
  std::map<double, Rows> levels;
  for (const Row* r : fit) levels[align_level(*r, elem_bytes)].push_back(r);
  std::vector<hw::GemmShapePoint> out;
  for (const auto& [align, rows] : levels) {
    std::string note;
    auto grid = level_grid(rows, peak, levels.size() > 1 ? align : 0.0, note);
    if (!note.empty()) notes.push_back(note);
    out.insert(out.end(), grid.begin(), grid.end());
  }
  hw::sort_gemm_shapes(out);
  return out;
}

}  // namespace

void fit_gemm(const DataSet& d, Calibration& c, Fitted<hw::DeviceSpec>& f) {
  Rows gemm = select(d, [](const bench::Record& r) { return r.kernel == "gemm" && r.median_s > 0; });
  if (gemm.empty()) throw InfeasibleError("no gemm rows: cannot fit the device's peak");
  // fp32 when measured (the CPU's native GEMM dtype), else the first dtype met.
  c.gemm_dtype = gemm.front()->r.dtype;
  for (const Row* r : gemm) if (r->r.dtype == "fp32") c.gemm_dtype = "fp32";
  auto dtype = hw::dtype_from_name(c.gemm_dtype);
  if (!dtype) throw InfeasibleError(fmt::format("gemm dtype {} has no simulator dtype", c.gemm_dtype));
  std::erase_if(gemm, [&](const Row* r) { return r->r.dtype != c.gemm_dtype; });
  if (c.gemm_threads <= 0) c.gemm_threads = max_threads(gemm);
  std::erase_if(gemm, [&](const Row* r) { return r->r.threads != c.gemm_threads; });

  Rows square, grid, random, tile;
  for (const Row* r : gemm)
    (r->r.pattern == "expert_ffn" ? grid : r->r.pattern == "random" ? random : r->r.pattern == "tile" ? tile : square).push_back(r);
  // Off-grid random shapes measured: the whole grid is fitted and they are held out; otherwise
  // the even/odd split of the grid's m values.
  SplitRows split;
  if (random.size() >= kMinOffGrid) {
    split.fit = grid;
    split.held_out = random;
    split.rule = "every grid shape (--m x --kn) fitted, random off-grid shapes held out";
    for (const Row* r : grid) split.fit_sizes.push_back(static_cast<double>(r->r.m));
    std::sort(split.fit_sizes.begin(), split.fit_sizes.end());
    split.fit_sizes.erase(std::unique(split.fit_sizes.begin(), split.fit_sizes.end()), split.fit_sizes.end());
  } else {
    split = split_by_size(grid, [](const Row& r) { return r.r.m; });
  }
  // The practical peak: the best rate of any fitted GEMM (square or grid), so no fitted
  // efficiency exceeds 1 (on a loaded machine a square GEMM can run below a skinny one).
  Rows peak_rows = square;
  peak_rows.insert(peak_rows.end(), split.fit.begin(), split.fit.end());
  if (gemm.empty()) throw InfeasibleError(fmt::format("no gemm rows at {} threads", c.gemm_threads));
  if (peak_rows.empty()) throw InfeasibleError("no square or expert_ffn gemm rows: cannot fit the device's peak");
  const Row* best = *std::max_element(peak_rows.begin(), peak_rows.end(),
                                      [](const Row* a, const Row* b) { return a->r.flops_per_s < b->r.flops_per_s; });
  const double peak = best->r.flops_per_s;
  f.spec.peak[*dtype] = FlopsPerSecond(peak);
  f.why["peak"] = fmt::format("{}: best of {} square and fitted expert_ffn GEMMs at {} threads: {}:{} (m={} n={} k={})", c.gemm_dtype,
                              peak_rows.size(), c.gemm_threads,
                              best->file, best->line, best->r.m, best->r.n, best->r.k);
  if (split.fit.empty()) {
    c.notes.push_back("no expert_ffn GEMM rows: gemm efficiency left at its defaults");
    return;
  }
  std::vector<double> ms, effs;
  for (const Row* r : split.fit) ms.push_back(static_cast<double>(r->r.m)), effs.push_back(r->r.flops_per_s / peak);
  RampFit ramp = fit_ramp(ms, effs);
  f.spec.gemm.eff_max = ramp.eff_max;
  f.spec.gemm.m_half = ramp.m_half;
  f.why["gemm"] = fmt::format("ramp: least squares of flops_per_s/peak over {} expert_ffn rows (m = {}): {}; rms residual {:.4f} of peak "
                              "(used only where the shape table does not apply: ops without m or flops)",
                              ramp.points, sizes_text(split.fit_sizes), row_list(split.fit), ramp.rms);
  // The register tile (gemm_tile.hpp), from the tile step's rows (pattern tile) and any dense
  // grid: rows at m > u off the multiples of u are its remainder data, not table cells.
  Rows table_rows = split.fit, tile_rows = split.fit;
  tile_rows.insert(tile_rows.end(), tile.begin(), tile.end());
  if (const TileFit fit = fit_gemm_tile(tile_rows); fit.rows > 0) {
    std::erase_if(table_rows, [&](const Row* r) { return r->r.m > fit.rows && r->r.m % fit.rows != 0; });
    f.spec.gemm.tile_rows = fit.rows;
    f.spec.gemm.remainder = fit.remainder;
    f.why["tile_rows"] = fit.why;
    f.why["remainder"] = fmt::format("rho(r): seconds per weight element (n x k) of the r = m mod {} rows left over "
                                     "(hardware/compute_model.hpp, \"Register-tile remainder\")", fit.rows);
  } else if (fit.measured) {
    c.notes.push_back(fit.why);
  }
  std::vector<std::string> dropped;
  f.spec.gemm.shapes = shape_grid(table_rows, peak, hw::dtype_bytes(*dtype), dropped);
  c.notes.insert(c.notes.end(), dropped.begin(), dropped.end());
  if (const std::string why = hw::gemm_grid_problem(f.spec.gemm.shapes); !why.empty()) {
    c.notes.push_back("no GEMM shape table: " + why);
    f.spec.gemm.shapes.clear();
  }
  f.why["shapes"] = fmt::format("shape table: flops_per_s/peak of each fitted expert_ffn row, keyed by (m, n*k) and, where the rows span "
                                "several, by the row-pitch alignment of B (largest power of two dividing n x element bytes, capped at "
                                "{:g} B), cells averaged; log eff bilinear in (log2 m, log2 nk), linear in log2 align "
                                "(hardware/compute_model.hpp); rows {}", kAlignCap, row_list(table_rows));
  f.held_out = split.held_out;
  f.split = fmt::format("gemm m fitted: {}; held out: {} rows ({})", sizes_text(split.fit_sizes), split.held_out.size(), split.rule);
  c.gemm_grouped = select(d, [&](const bench::Record& r) {
    return r.kernel == "grouped_gemm" && r.mode == "loop" && r.dtype == c.gemm_dtype && r.threads == c.gemm_threads && r.median_s > 0;
  });
}

}  // namespace moesim::calibrate
