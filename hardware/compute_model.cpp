// The roofline compute time and the dtype fallback rule (equations in compute_model.hpp).
#include "hardware/compute_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>

namespace moesim::hw {

const std::vector<Dtype>& fallback_chain(Dtype d) {
  using enum Dtype;
  // Integers widen within integers, then run dequantized in 16-bit float; floats widen to the
  // next wider float; bf16 and fp16 are not swapped for each other first (different ranges), but
  // both widen to fp32. tf32 is an fp32 tensor-core mode.
  static const std::vector<Dtype> chains[] = {
      /* fp32 */ {},
      /* tf32 */ {fp32},
      /* bf16 */ {fp16, fp32},
      /* fp16 */ {bf16, fp32},
      /* fp8  */ {fp16, bf16, fp32},
      /* int8 */ {fp8, fp16, bf16, fp32},
      /* int4 */ {int8, fp8, fp16, bf16, fp32},
      /* int2 */ {int4, int8, fp8, fp16, bf16, fp32},
  };
  return chains[static_cast<size_t>(d)];
}

Dtype effective_dtype(const DeviceSpec& dev, Dtype d) {
  if (dev.peak.count(d)) return d;
  for (Dtype w : fallback_chain(d)) {
    if (dev.peak.count(w)) return w;
  }
  // Nothing on the chain (e.g. a device listing only int8): its slowest listed dtype.
  auto slowest = std::min_element(dev.peak.begin(), dev.peak.end(),
                                  [](const auto& a, const auto& b) { return a.second < b.second; });
  return slowest == dev.peak.end() ? d : slowest->first;
}

FlopsPerSecond effective_peak(const DeviceSpec& dev, Dtype d) {
  auto it = dev.peak.find(effective_dtype(dev, d));
  return it == dev.peak.end() ? FlopsPerSecond(0.0) : it->second;
}

double gemm_efficiency(const GemmEfficiency& g, int64_t m) {
  if (m <= 0) return g.eff_max;
  double rows = static_cast<double>(m);
  return g.eff_max * rows / (rows + g.m_half);
}

namespace {

// The sorted distinct values of key(point) over the shapes.
template <class Key>
std::vector<double> distinct(const std::vector<GemmShapePoint>& shapes, Key key) {
  std::vector<double> v;
  for (const auto& s : shapes) v.push_back(static_cast<double>(key(s)));
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

std::vector<GemmShapePoint> level(const std::vector<GemmShapePoint>& shapes, double align) {
  std::vector<GemmShapePoint> out;
  for (const auto& s : shapes)
    if (s.align == align) out.push_back(s);
  return out;
}

// Index i and weight w in [0, 1] of x between axis(i) and axis(i + 1) in log2, clamped at the
// ends; axis(0..n-1) increasing.
template <class Axis>
std::pair<size_t, double> locate(size_t n, Axis axis, double x) {
  if (n == 1 || x <= axis(0)) return {0, 0.0};
  if (x >= axis(n - 1)) return {n - 2, 1.0};
  size_t lo = 0, hi = n - 1;  // axis(lo) < x < axis(hi)
  while (hi - lo > 1) {
    const size_t mid = (lo + hi) / 2;
    (axis(mid) <= x ? lo : hi) = mid;
  }
  return {lo, (std::log2(x) - std::log2(axis(lo))) / (std::log2(axis(lo + 1)) - std::log2(axis(lo)))};
}

}  // namespace

namespace {

std::string level_problem(const std::vector<GemmShapePoint>& shapes, double align) {
  const auto ms = distinct(shapes, [](const GemmShapePoint& s) { return s.m; });
  const auto nks = distinct(shapes, [](const GemmShapePoint& s) { return s.nk; });
  const std::string at = align > 0 ? fmt::format(" at align = {:g} B", align) : "";
  if (shapes.size() != ms.size() * nks.size())
    return fmt::format("{} points{} do not form a full grid of {} m values x {} nk values (one point per cell)",
                       shapes.size(), at, ms.size(), nks.size());
  for (double nk : nks)
    for (double m : ms)
      if (std::none_of(shapes.begin(), shapes.end(), [&](const auto& s) { return s.nk == nk && static_cast<double>(s.m) == m; }))
        return fmt::format("no point at m = {:g}, nk = {:g}{}: the grid must be full", m, nk, at);
  return "";
}

// eff of one align level's grid (sorted by nk then m, full): bilinear in (log2 m, log2 nk).
double grid_efficiency(const GemmShapePoint* p, size_t count, double m, double nk);

}  // namespace

std::string gemm_grid_problem(const std::vector<GemmShapePoint>& shapes) {
  if (shapes.empty()) return "";
  const auto aligns = distinct(shapes, [](const GemmShapePoint& s) { return s.align; });
  if (aligns.size() > 1 && aligns.front() <= 0)
    return "align must be given on every point or on none (points without align form the table of every alignment)";
  for (double a : aligns)
    if (std::string why = level_problem(level(shapes, a), a); !why.empty()) return why;
  return "";
}

Seconds gemm_remainder_per_weight(const GemmEfficiency& g, int64_t r) {
  const auto& rem = g.remainder;
  if (r <= 0 || rem.empty()) return Seconds(0);
  auto above = std::lower_bound(rem.begin(), rem.end(), r, [](const GemmRemainder& x, int64_t v) { return x.rows < v; });
  if (above == rem.end()) return rem.back().per_weight;
  if (above->rows == r) return above->per_weight;
  const double r0 = above == rem.begin() ? 0.0 : static_cast<double>(std::prev(above)->rows);
  const double v0 = above == rem.begin() ? 0.0 : std::prev(above)->per_weight.value;
  const double w = (static_cast<double>(r) - r0) / (static_cast<double>(above->rows) - r0);
  return Seconds(v0 + (above->per_weight.value - v0) * w);
}

std::string gemm_tile_problem(const GemmEfficiency& g) {
  if (g.tile_rows == 0) return g.remainder.empty() ? "" : "remainder is given without tile_rows";
  if (g.tile_rows < 2) return fmt::format("tile_rows = {} must be at least 2 (or 0: no tile model)", g.tile_rows);
  if (g.remainder.empty()) return fmt::format("tile_rows = {} needs [[gemm.remainder]] entries (rows, per_weight)", g.tile_rows);
  for (size_t i = 0; i < g.remainder.size(); ++i) {
    const auto& x = g.remainder[i];
    if (x.rows < 1 || x.rows >= g.tile_rows)
      return fmt::format("remainder rows = {} is outside [1, tile_rows = {})", x.rows, g.tile_rows);
    if (i > 0 && x.rows == g.remainder[i - 1].rows) return fmt::format("remainder rows = {} is listed twice", x.rows);
    if (i > 0 && x.rows < g.remainder[i - 1].rows)
      return fmt::format("remainder rows must increase (rows = {} after {})", x.rows, g.remainder[i - 1].rows);
    if (!(x.per_weight.value >= 0)) return fmt::format("remainder rows = {}: per_weight must not be negative", x.rows);
  }
  return "";
}

double gemm_row_align(int64_t n, double elem_bytes) {
  if (n <= 0 || !(elem_bytes > 0)) return 0;
  const auto pitch = static_cast<uint64_t>(std::llround(static_cast<double>(n) * elem_bytes));
  if (pitch == 0) return 0;
  return static_cast<double>(pitch & (~pitch + 1));  // lowest set bit
}

void sort_gemm_shapes(std::vector<GemmShapePoint>& shapes) {
  std::sort(shapes.begin(), shapes.end(), [](const auto& a, const auto& b) {
    if (a.align != b.align) return a.align < b.align;
    return a.nk != b.nk ? a.nk < b.nk : a.m < b.m;
  });
}

double gemm_table_efficiency(const GemmEfficiency& g, double m, double nk, double align) {
  const auto& p = g.shapes;
  // Levels: contiguous runs of one align (sorted by align, nk, m).
  std::vector<std::pair<size_t, size_t>> runs;  // (first, count)
  for (size_t i = 0; i < p.size();) {
    size_t j = i;
    while (j < p.size() && p[j].align == p[i].align) ++j;
    runs.push_back({i, j - i});
    i = j;
  }
  auto eff_at = [&](size_t r) { return grid_efficiency(p.data() + runs[r].first, runs[r].second, m, nk); };
  if (runs.size() == 1) return eff_at(0);
  const double a = align > 0 ? align : p.back().align;
  const auto [ia, wa] = locate(runs.size(), [&](size_t r) { return p[runs[r].first].align; }, a);
  return eff_at(ia) * (1 - wa) + eff_at(ia + 1) * wa;
}

namespace {

double grid_efficiency(const GemmShapePoint* p, size_t count, double m, double nk) {
  // one level's points sorted by nk then m on a full grid (the reader checks and sorts): row-major.
  size_t nm = 1;
  while (nm < count && p[nm].nk == p[0].nk) ++nm;
  const size_t nnk = count / nm;
  const auto [im, wm] = locate(nm, [&](size_t i) { return static_cast<double>(p[i].m); }, m);
  const auto [ik, wk] = locate(nnk, [&](size_t j) { return p[j * nm].nk; }, nk);
  // log eff bilinear in (log2 m, log2 nk): a power law between grid points, so a memory-bound
  // GEMM (time flat in m, eff proportional to m) is interpolated exactly; linear eff would
  // overestimate it by up to 12% between two powers of two.
  auto at = [&](size_t i, size_t j) { return std::log(p[std::min(j, nnk - 1) * nm + std::min(i, nm - 1)].eff); };
  const double lo = at(im, ik) * (1 - wm) + at(im + 1, ik) * wm;
  const double hi = at(im, ik + 1) * (1 - wm) + at(im + 1, ik + 1) * wm;
  return std::exp(lo * (1 - wk) + hi * wk);
}

// Shape-table time (compute_model.hpp), with the register-tile remainder when the table has one:
// nullopt when the table does not apply to this op.
std::optional<Seconds> table_time(const DeviceSpec& dev, Flops flops, Dtype dtype, int64_t gemm_m, int32_t kernels,
                                  int64_t gemm_n) {
  if (dev.gemm.shapes.empty() || gemm_m <= 0 || !(flops.value > 0.0)) return std::nullopt;
  const double nk = flops.value / (2.0 * static_cast<double>(gemm_m) * std::max(kernels, 1));
  const int64_t tile = dev.gemm.tile_rows;
  const int64_t rest = tile > 0 && gemm_m > tile ? gemm_m % tile : 0;
  const double m = static_cast<double>(gemm_m - rest);
  const double align = gemm_row_align(gemm_n, dtype_bytes(dtype));
  const double rate = effective_peak(dev, dtype).value * gemm_table_efficiency(dev.gemm, m, nk, align);
  if (!(rate > 0.0)) return std::nullopt;
  const double base = flops.value * m / static_cast<double>(gemm_m) / rate;
  return Seconds(base + gemm_remainder_per_weight(dev.gemm, rest).value * nk * std::max(kernels, 1));
}

Seconds roofline(const DeviceSpec& dev, Flops flops, Bytes bytes, Dtype dtype, double eff, int32_t kernels) {
  double compute = 0.0;
  if (flops.value > 0.0) {
    double rate = effective_peak(dev, dtype).value * eff;
    compute = rate > 0.0 ? flops.value / rate : 0.0;
  }
  double memory = 0.0;
  if (bytes.value > 0.0) {
    double rate = dev.memory_bandwidth.value * dev.memory_efficiency;
    memory = rate > 0.0 ? bytes.value / rate : 0.0;
  }
  return Seconds(std::max(compute, memory) + std::max(kernels, 0) * dev.kernel_launch.value);
}

class Roofline final : public IComputeModel {
 public:
  explicit Roofline(RooflineParams p) : p_(p) {}
  Seconds time(const DeviceSpec& dev, const ComputeOp& op) const override {
    const double eager = std::max(op.operators, 0) * dev.operator_overhead.value;
    if (p_.efficiency_ramp)
      if (auto t = table_time(dev, op.flops, op.dtype, op.gemm_m, op.kernels, op.gemm_n)) return Seconds(t->value + eager);
    double eff = p_.efficiency_ramp ? gemm_efficiency(dev.gemm, op.gemm_m) : dev.gemm.eff_max;
    return Seconds(roofline(dev, op.flops, op.bytes, op.dtype, eff, p_.launch_overhead ? op.kernels : 0).value + eager);
  }

 private:
  RooflineParams p_;
};

}  // namespace

Seconds op_time(const DeviceSpec& dev, Flops flops, Bytes bytes, Dtype dtype, int64_t gemm_m, int32_t kernels,
                int64_t gemm_n) {
  if (auto t = table_time(dev, flops, dtype, gemm_m, kernels, gemm_n)) return *t;
  return roofline(dev, flops, bytes, dtype, gemm_efficiency(dev.gemm, gemm_m), kernels);
}

std::unique_ptr<IComputeModel> make_roofline(const RooflineParams& p) { return std::make_unique<Roofline>(p); }

std::unique_ptr<IComputeModel> make_compute_model(const config::Table& t) {
  return ComputeModelRegistry::instance().create_or(t, "roofline");
}

}  // namespace moesim::hw
