#pragma once
// Compute cost of a GEMM whose weights are stored quantized (issue 18, edge offloading).
//
// Dequantisation work per weight element, by stored width b (llama.cpp's reference dequantizers,
// ggml-quants.c: dequantize_row_q8_0 `y = q*d`; q4_0 `y = ((q & 0xF) - 8)*d`, q4_1 `y = q*d + m`;
// q2_K `y = d*((q >> s) & 3) - m`; q3_K/q5_K/q6_K merge a low field with high bits kept in a
// second array: `((ql >> s) & 3) | ((qh >> t) & 1) << 2` before the offset):
//   ops(b) = convert (1) + scale (1) + zero/offset (1; int8 symmetric: 0)
//          + unpack: 0 (b = 8), 2 (b = 2, 4: shift + mask within a byte),
//                    5 (b = 3, 5, 6, 7: two partial fields, two shifts, two masks, one or)
//   -> int8: 2 (3 asymmetric), int4 / int2: 5, int3 / int5..int7: 8. Float weights: 0.
//
// Where the runtime dequantises (`dequant` per runtime):
//   separate: an element-wise kernel reads the stored bytes, writes P x activation bytes, costs
//             P x ops(b) operations; the GEMM then reads the dequantised copy (P x activation
//             bytes). EdgeMoE dequantises experts on the CPU before compute (§2.2: ≈2.7% of I/O);
//             HQQ's PyTorch backend (Mixtral-offloading) dequantises to fp16 before torch.matmul.
//   fused:    the GEMM reads the stored bytes and dequantises in registers: its operations grow by
//             P x ops(b), its weight traffic is the stored bytes (llama.cpp mul_mat_vec_q / mmq,
//             Marlin: Frantar et al. 2024).
//   none:     the GEMM reads the stored bytes at no dequantisation cost (ablation: an ideal kernel).
//
// Small-batch floor: a GEMM of at most `gemv_rows` rows runs as a GEMV-class kernel that streams
// the weights once (llama.cpp ggml-cuda: MMVQ_MAX_BATCH_SIZE = 8), so its compute runs at the
// device's sustained rate (no tile ramp eff(m)) and its time is floored by reading the weights AT
// THE WIDTH THE KERNEL READS: t >= weight_bytes(b) / (memory_bandwidth x memory_efficiency).
// With `fused`/`none` that floor scales with b; with `separate` it is the 16-bit copy plus the
// dequantisation kernel.
#include <cstdint>
#include <string>
#include <vector>

#include "models/offload/precision.hpp"

namespace moesim::offload {

enum class DequantMode { separate, fused, none };
const std::vector<std::string>& dequant_mode_names();  // separate fused none
DequantMode dequant_mode_from_name(const std::string& name);

// Operations to turn one stored weight of `b` bits into a float (0 for fp16/fp32).
double dequant_ops_per_weight(Bits b, bool asymmetric);

// The work of one GEMM over `params` weights stored at `b` bits, split into the optional
// dequantisation kernel and the GEMM itself.
struct QuantGemmWork {
  double gemm_extra_ops = 0;     // operations added to the GEMM (fused dequantisation)
  double gemm_weight_bytes = 0;  // weight bytes the GEMM reads
  double dequant_ops = 0;        // separate kernel: operations (0: no kernel)
  double dequant_bytes = 0;      // separate kernel: bytes read + written
  bool dequant_kernel() const { return dequant_ops > 0; }
};
QuantGemmWork quantized_gemm(double params, Bits b, const QuantFormat& f, DequantMode mode,
                             double activation_bytes_per_weight);

// Rows passed to the compute model's efficiency ramp: 0 (sustained rate) for GEMV-class kernels
// of at most `gemv_rows` rows, the rows otherwise.
int64_t ramp_rows(int64_t rows, int64_t gemv_rows);

}  // namespace moesim::offload
