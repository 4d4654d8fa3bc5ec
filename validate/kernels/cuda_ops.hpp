#pragma once
// The CUDA side of mb_cuda (cuda_ops.cu, compiled by nvcc): device facts and timed operations.
// Plain C++ interface so the host side (cuda_main.cpp) needs no CUDA headers. Errors throw
// std::runtime_error with the CUDA / cuBLAS status.
#include <cstdint>
#include <string>
#include <vector>

namespace moesim::bench::cuda {

struct DeviceInfo {
  std::string name;
  int cc_major = 0, cc_minor = 0, sm_count = 0;
  int64_t memory_bytes = 0;
  int runtime_version = 0, driver_version = 0, cublas_version = 0;
};

DeviceInfo device_info(int device);  // also makes `device` current

struct TimingOptions {
  int warmup = 3;
  int reps = 20;
  double min_sample_s = 1e-3;  // calls batched per sample so that it lasts at least this
};

// Per-call seconds, one entry per sample (cudaEvent timing around `inner` back-to-back calls).
struct Timing {
  std::vector<double> per_call_s;
  int64_t inner = 1;
  int warmup = 0;
  std::string note;  // e.g. why a variant was not run
};

// Row-major C[m x n] = A[m x k] B[k x n] with cublasGemmEx; dtype fp32 | tf32 | bf16 | fp16
// (tf32 = fp32 storage with CUBLAS_COMPUTE_32F_FAST_TF32; bf16/fp16 accumulate in fp32).
Timing time_gemm(const std::string& dtype, int64_t m, int64_t n, int64_t k, const TimingOptions& opt);

// One MoE layer: group g multiplies rows[g] rows by its own B_g[k x n].
// mode "loop": one cublasGemmEx per group on one stream; "grouped": one cublasGemmGroupedBatchedEx
// call (cuBLAS >= 12.5; empty per_call_s and a note when unsupported for the dtype).
Timing time_grouped_gemm(const std::string& dtype, const std::vector<int64_t>& rows, int64_t n, int64_t k,
                         const std::string& mode, const TimingOptions& opt);

// Device-memory (HBM) copy of `bytes` with cudaMemcpyAsync, and a STREAM triad kernel over three
// arrays of `bytes` each (double precision).
Timing time_d2d_copy(int64_t bytes, const TimingOptions& opt);
Timing time_triad(int64_t bytes, const TimingOptions& opt);

// Host <-> device copy of `bytes`; pinned = cudaMallocHost buffer, else pageable malloc.
Timing time_host_copy(bool host_to_device, bool pinned, int64_t bytes, const TimingOptions& opt);

}  // namespace moesim::bench::cuda
