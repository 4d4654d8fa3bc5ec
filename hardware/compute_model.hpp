#pragma once
// Compute time of one operation on a device. The default model is a roofline with an efficiency
// ramp for small GEMMs:
//
//   time(op) = max( flops / (peak[dtype] * eff(m)),  bytes / (memory_bandwidth * memory_efficiency) )
//              + kernels * kernel_launch
//   eff(m)   = eff_max * m / (m + m_half)      (m = GEMM rows; m = 0: not a GEMM, eff = eff_max)
//
// The max() is the roofline of Williams, Waterman, Patterson, "Roofline: an insightful visual
// performance model for multicore architectures", CACM 52(4), 2009. The saturating ramp eff(m) is
// an empirical fit to cuBLAS GEMM throughput versus the number of rows (small expert batches), not a
// first-principles model; eff_max and m_half are fitted by validate/.
//
// Shape table (GemmEfficiency::shapes, measured by validate/): for a GEMM op with m > 0 and
// flops > 0, the weight size is nk = flops / (2·m·kernels) (each of the op's kernels one GEMM of
// the same shape, as an expert's SwiGLU GEMMs are) and
//
//   time(op) = flops / (peak[dtype] * eff_table(m, nk))
//
// with log(eff_table) bilinear in (log2 m, log2 nk) over the measured grid (a power law between
// grid points), held at its edges. A table
// may hold several grids, one per row-pitch alignment `align` of the weight matrix B (bytes: the
// largest power of two dividing n·elem_bytes, B being k x n row-major): a CPU GEMM whose B rows
// start at multiples of 1 KiB runs up to 1.6x slower at small m than one whose rows are offset
// (cache-set conflicts of power-of-two strides; measured in validate/results, docs/validation.md).
// eff_table then interpolates linearly in log2(align) between the two nearest grids, held at the
// ends; an op whose n is unknown (gemm_n = 0, every op the workload builders make: model widths
// are multiples of 256 elements) uses the grid of the largest alignment. The
// measured efficiency already contains the memory-bound regime of small m and the per-call
// overhead, so neither the roofline's memory term nor kernel_launch is added (they would count
// twice). Interpolating measured kernel tables is how trace-driven simulators cost GEMMs they
// have profiled (e.g. Vidur, Agrawal et al., MLSys 2024, which interpolates profiled operator
// times); here only efficiencies are tabulated so a new peak rescales them.
//
// Register-tile remainder (GemmEfficiency::tile_rows, remainder): a BLAS micro-kernel computes
// the output in register tiles of m_r rows (Goto & van de Geijn, "Anatomy of high-performance
// matrix multiplication", ACM TOMS 34(3), 2008; OpenBLAS's GEMM_UNROLL); the m mod m_r rows left
// over run through narrower edge kernels, each streaming the packed weight panel once more at a
// far lower rate (GPUs: tile quantization, the same form with a flat remainder). With tile_rows
// = m_r > 0 and m > m_r:
//
//   r = m mod m_r,   time(op) = time_table(m - r) + rho(r) · nk · kernels
//
// time_table(m - r) is the shape-table time above at the tile-aligned rows m - r (flops scaled by
// (m - r)/m) and rho(r) (seconds per weight element) is linear in r between the listed remainders,
// from (0, 0) up to the first and held after the last. m <= m_r is the table alone (its grid holds
// the small m it needs). Measured on the AMD EPYC VM of validate/results: t(m) is periodic in m with
// period 16 (OpenBLAS's sgemm kernel), t(44) > t(64), and rho(r) per weight element is the same
// for every n·k within the measurement noise (docs/validation.md, "GEMM tile remainder").
//
// Eager runtime (DeviceSpec::operator_overhead, ComputeOp::operators; models/operator_count.hpp):
// every model adds operators x operator_overhead to the time above, in both the roofline and the
// shape-table form (a measured GEMM efficiency holds the kernel's call, not the framework's
// Python and dispatcher work around it). 0 operators or 0 overhead: nothing added.
//
// Dtype fallback: a dtype the device has no peak for runs at the peak of the nearest wider dtype it
// has, along fallback_chain(dtype) (e.g. fp8 -> fp16 -> bf16 -> fp32 on a V100); if none of the
// chain is present, the device's lowest listed peak is used (conservative). Never an error.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "hardware/spec.hpp"
#include "sim/core/config.hpp"
#include "sim/core/registry.hpp"

namespace moesim::hw {

// One operation as the compute model sees it.
struct ComputeOp {
  Flops flops;
  Bytes bytes;                // bytes read + written in device memory
  Dtype dtype = Dtype::bf16;
  int64_t gemm_m = 0;         // rows of the GEMM (tokens); 0 = not a GEMM
  int32_t kernels = 1;        // kernel launches
  int64_t gemm_n = 0;         // columns of the weight matrix B (its row pitch); 0 = unknown
  int32_t operators = 0;      // eager-runtime operators (each pays dev.operator_overhead)
};

// The dtypes tried, in order, when `d` has no peak on a device (not including `d` itself).
const std::vector<Dtype>& fallback_chain(Dtype d);
// The dtype whose peak is actually used for `d` on `dev` (d itself when present).
Dtype effective_dtype(const DeviceSpec& dev, Dtype d);
FlopsPerSecond effective_peak(const DeviceSpec& dev, Dtype d);
// eff(m) = eff_max * m / (m + m_half); m <= 0 -> eff_max.
double gemm_efficiency(const GemmEfficiency& g, int64_t m);
// eff_table(m, nk, align) of the shape table: not empty, per align level a full grid, sorted by
// align, nk, m (as read_device leaves it). align <= 0: the largest level.
double gemm_table_efficiency(const GemmEfficiency& g, double m, double nk, double align = 0);
// Why `shapes` is not, per align level, a full (m, nk) grid with one point per cell ("" when it
// is, or is empty).
std::string gemm_grid_problem(const std::vector<GemmShapePoint>& shapes);
// rho(r): seconds per weight element of r leftover rows (see above); 0 when r <= 0 or no remainders.
Seconds gemm_remainder_per_weight(const GemmEfficiency& g, int64_t r);
// Why tile_rows / remainder are not usable ("" when they are, or are absent): tile_rows >= 2,
// at least one remainder, rows distinct, in [1, tile_rows), per_weight >= 0; remainders without tile_rows.
std::string gemm_tile_problem(const GemmEfficiency& g);
// Row-pitch alignment of a row-major B with n columns of `elem_bytes` each: the largest power of two
// dividing n·elem_bytes (bytes); 0 when n <= 0.
double gemm_row_align(int64_t n, double elem_bytes);
// The order read_device leaves shapes in: align, nk, m.
void sort_gemm_shapes(std::vector<GemmShapePoint>& shapes);

// The roofline as a free function (what graph builders call).
Seconds op_time(const DeviceSpec& dev, Flops flops, Bytes bytes, Dtype dtype, int64_t gemm_m, int32_t kernels,
                int64_t gemm_n = 0);
inline Seconds op_time(const DeviceSpec& dev, const ComputeOp& op) {
  return Seconds(op_time(dev, op.flops, op.bytes, op.dtype, op.gemm_m, op.kernels, op.gemm_n).value +
                 std::max(op.operators, 0) * dev.operator_overhead.value);
}

// Pluggable compute models (TOML: compute_model = { kind = "roofline" }).
struct IComputeModel {
  static constexpr const char* kInterface = "compute_model";
  virtual ~IComputeModel() = default;
  virtual Seconds time(const DeviceSpec& dev, const ComputeOp& op) const = 0;
};
using ComputeModelRegistry = Registry<IComputeModel>;

// Parameters of the "roofline" kind (ablation switches; defaults are the full model).
struct RooflineParams {
  bool efficiency_ramp = true;   // false: eff = eff_max for every GEMM size
  bool launch_overhead = true;   // false: drop the kernels * kernel_launch term
};
std::unique_ptr<IComputeModel> make_roofline(const RooflineParams& p);

// Builds the model a table selects; no `kind` means "roofline".
std::unique_ptr<IComputeModel> make_compute_model(const config::Table& t);

}  // namespace moesim::hw
