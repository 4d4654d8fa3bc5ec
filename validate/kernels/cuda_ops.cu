// CUDA side of mb_cuda: cuBLAS GEMM / grouped GEMM, HBM copy and triad, H2D/D2H copies, timed with
// CUDA events. See cuda_ops.hpp and docs/validation.md for the equations of the counted work.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "validate/kernels/cuda_ops.hpp"

namespace moesim::bench::cuda {
namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}
void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) throw std::runtime_error(std::string(what) + ": cuBLAS status " + std::to_string(int(s)));
}

struct DeviceBuffer {
  void* p = nullptr;
  explicit DeviceBuffer(size_t bytes) {
    check(cudaMalloc(&p, bytes ? bytes : 1), "cudaMalloc");
    check(cudaMemset(p, 0x3C, bytes), "cudaMemset");  // non-zero values (0x3C3C = 1.06 in fp16)
  }
  ~DeviceBuffer() { cudaFree(p); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

struct Events {
  cudaEvent_t start{}, stop{};
  Events() {
    check(cudaEventCreate(&start), "cudaEventCreate");
    check(cudaEventCreate(&stop), "cudaEventCreate");
  }
  ~Events() {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }
};

struct Handle {
  cublasHandle_t h{};
  Handle() { check(cublasCreate(&h), "cublasCreate"); }
  ~Handle() { cublasDestroy(h); }
};

// Seconds of `inner` back-to-back calls of op on the default stream, divided by inner.
double timed(const std::function<void()>& op, int64_t inner, Events& ev) {
  check(cudaEventRecord(ev.start), "cudaEventRecord");
  for (int64_t i = 0; i < inner; ++i) op();
  check(cudaEventRecord(ev.stop), "cudaEventRecord");
  check(cudaEventSynchronize(ev.stop), "cudaEventSynchronize");
  float ms = 0;
  check(cudaEventElapsedTime(&ms, ev.start, ev.stop), "cudaEventElapsedTime");
  return double(ms) * 1e-3 / double(inner);
}

Timing run_timed(const std::function<void()>& op, const TimingOptions& opt) {
  Events ev;
  Timing t;
  for (int i = 0; i < opt.warmup; ++i) op();
  check(cudaDeviceSynchronize(), "warm-up");
  t.warmup = opt.warmup;
  const double one = timed(op, 1, ev);
  t.inner = one > 0 ? std::max<int64_t>(1, int64_t(std::ceil(opt.min_sample_s / one))) : 1;
  t.inner = std::min<int64_t>(t.inner, 10000);
  for (int r = 0; r < opt.reps; ++r) t.per_call_s.push_back(timed(op, t.inner, ev));
  return t;
}

struct GemmTypes {
  cudaDataType_t in, out;
  cublasComputeType_t compute;
  size_t in_bytes, out_bytes;
};

GemmTypes gemm_types(const std::string& dtype) {
  if (dtype == "fp32") return {CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F, 4, 4};
  if (dtype == "tf32") return {CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_TF32, 4, 4};
  if (dtype == "bf16") return {CUDA_R_16BF, CUDA_R_16BF, CUBLAS_COMPUTE_32F, 2, 2};
  if (dtype == "fp16") return {CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_32F, 2, 2};
  throw std::runtime_error("unknown dtype '" + dtype + "' (valid values: fp32, tf32, bf16, fp16)");
}

// Row-major C = A B as column-major C^T = B^T A^T.
void gemm(cublasHandle_t h, const GemmTypes& t, int64_t m, int64_t n, int64_t k, const void* a,
          const void* b, void* c) {
  const float alpha = 1.0f, beta = 0.0f;
  check(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, int(n), int(m), int(k), &alpha, b, t.in, int(n), a, t.in,
                     int(k), &beta, c, t.out, int(n), t.compute, CUBLAS_GEMM_DEFAULT),
        "cublasGemmEx");
}

__global__ void triad_kernel(double* a, const double* b, const double* c, double s, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    a[i] = b[i] + s * c[i];
}

}  // namespace

DeviceInfo device_info(int device) {
  check(cudaSetDevice(device), "cudaSetDevice");
  cudaDeviceProp p{};
  check(cudaGetDeviceProperties(&p, device), "cudaGetDeviceProperties");
  DeviceInfo d;
  d.name = p.name;
  d.cc_major = p.major;
  d.cc_minor = p.minor;
  d.sm_count = p.multiProcessorCount;
  d.memory_bytes = int64_t(p.totalGlobalMem);
  check(cudaRuntimeGetVersion(&d.runtime_version), "cudaRuntimeGetVersion");
  check(cudaDriverGetVersion(&d.driver_version), "cudaDriverGetVersion");
  Handle h;
  check(cublasGetVersion(h.h, &d.cublas_version), "cublasGetVersion");
  return d;
}

Timing time_gemm(const std::string& dtype, int64_t m, int64_t n, int64_t k, const TimingOptions& opt) {
  const GemmTypes t = gemm_types(dtype);
  DeviceBuffer a(size_t(m * k) * t.in_bytes), b(size_t(k * n) * t.in_bytes), c(size_t(m * n) * t.out_bytes);
  Handle h;
  return run_timed([&] { gemm(h.h, t, m, n, k, a.p, b.p, c.p); }, opt);
}

Timing time_grouped_gemm(const std::string& dtype, const std::vector<int64_t>& rows, int64_t n, int64_t k,
                         const std::string& mode, const TimingOptions& opt) {
  const GemmTypes t = gemm_types(dtype);
  int64_t total = 0;
  for (int64_t r : rows) total += r;
  DeviceBuffer a(size_t(total * k) * t.in_bytes), c(size_t(total * n) * t.out_bytes);
  DeviceBuffer w(rows.size() * size_t(k * n) * t.in_bytes);  // every expert's own weights
  Handle h;
  std::vector<const void*> pa, pb;
  std::vector<void*> pc;
  std::vector<int> gm;
  int64_t row = 0;
  for (size_t g = 0; g < rows.size(); ++g) {
    if (rows[g] > 0) {
      pa.push_back(static_cast<char*>(a.p) + size_t(row * k) * t.in_bytes);
      pb.push_back(static_cast<char*>(w.p) + g * size_t(k * n) * t.in_bytes);
      pc.push_back(static_cast<char*>(c.p) + size_t(row * n) * t.out_bytes);
      gm.push_back(int(rows[g]));
    }
    row += rows[g];
  }
  if (mode == "loop")
    return run_timed([&] {
      for (size_t g = 0; g < gm.size(); ++g) gemm(h.h, t, gm[g], n, k, pa[g], pb[g], pc[g]);
    }, opt);
  if (mode != "grouped") throw std::runtime_error("unknown grouped mode '" + mode + "' (valid values: loop, grouped)");
#if CUBLAS_VERSION >= 120500
  // Column-major view: per group m' = n, n' = rows, k' = k; A' = B_g, B' = A_g, C' = C_g.
  const int groups = int(gm.size());
  std::vector<cublasOperation_t> ops(static_cast<size_t>(groups), CUBLAS_OP_N);
  std::vector<int> mm(static_cast<size_t>(groups), int(n)), kk(static_cast<size_t>(groups), int(k)), lda(static_cast<size_t>(groups), int(n)),
      ldb(static_cast<size_t>(groups), int(k)), ldc(static_cast<size_t>(groups), int(n)), size(static_cast<size_t>(groups), 1);
  std::vector<float> alpha(static_cast<size_t>(groups), 1.0f), beta(static_cast<size_t>(groups), 0.0f);
  DeviceBuffer dA(gm.size() * sizeof(void*)), dB(gm.size() * sizeof(void*)), dC(gm.size() * sizeof(void*));
  check(cudaMemcpy(dA.p, pb.data(), gm.size() * sizeof(void*), cudaMemcpyHostToDevice), "cudaMemcpy");
  check(cudaMemcpy(dB.p, pa.data(), gm.size() * sizeof(void*), cudaMemcpyHostToDevice), "cudaMemcpy");
  check(cudaMemcpy(dC.p, pc.data(), gm.size() * sizeof(void*), cudaMemcpyHostToDevice), "cudaMemcpy");
  auto call = [&] {
    return cublasGemmGroupedBatchedEx(h.h, ops.data(), ops.data(), mm.data(), gm.data(), kk.data(), alpha.data(),
                                      static_cast<const void* const*>(dA.p), t.in, lda.data(),
                                      static_cast<const void* const*>(dB.p), t.in, ldb.data(), beta.data(),
                                      static_cast<void* const*>(dC.p), t.out, ldc.data(), groups, size.data(),
                                      t.compute);
  };
  if (cublasStatus_t s = call(); s != CUBLAS_STATUS_SUCCESS) {
    Timing none;
    none.note = "cublasGemmGroupedBatchedEx unsupported for " + dtype + " (status " + std::to_string(int(s)) + ")";
    return none;
  }
  return run_timed([&] { check(call(), "cublasGemmGroupedBatchedEx"); }, opt);
#else
  Timing none;
  none.note = "cuBLAS older than 12.5: no cublasGemmGroupedBatchedEx";
  return none;
#endif
}

Timing time_d2d_copy(int64_t bytes, const TimingOptions& opt) {
  DeviceBuffer src(static_cast<size_t>(bytes)), dst(static_cast<size_t>(bytes));
  return run_timed([&] { check(cudaMemcpyAsync(dst.p, src.p, size_t(bytes), cudaMemcpyDeviceToDevice), "cudaMemcpyAsync"); }, opt);
}

Timing time_triad(int64_t bytes, const TimingOptions& opt) {
  const size_t n = size_t(bytes) / sizeof(double);
  DeviceBuffer a(n * sizeof(double)), b(n * sizeof(double)), c(n * sizeof(double));
  int device = 0, sms = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute");
  const unsigned blocks = unsigned(std::max(1, sms * 8));
  return run_timed([&] {
    triad_kernel<<<blocks, 256>>>(static_cast<double*>(a.p), static_cast<const double*>(b.p),
                                  static_cast<const double*>(c.p), 3.0, n);
    check(cudaGetLastError(), "triad_kernel");
  }, opt);
}

Timing time_host_copy(bool host_to_device, bool pinned, int64_t bytes, const TimingOptions& opt) {
  DeviceBuffer dev(static_cast<size_t>(bytes));
  void* host = nullptr;
  if (pinned) check(cudaMallocHost(&host, size_t(bytes)), "cudaMallocHost");
  else host = std::malloc(size_t(bytes));
  if (!host) throw std::runtime_error("host allocation failed");
  std::memset(host, 1, size_t(bytes));
  auto release = [&] {
    if (pinned) cudaFreeHost(host);
    else std::free(host);
  };
  Timing t;
  try {
    t = run_timed([&] {
      if (host_to_device) check(cudaMemcpyAsync(dev.p, host, size_t(bytes), cudaMemcpyHostToDevice), "cudaMemcpyAsync");
      else check(cudaMemcpyAsync(host, dev.p, size_t(bytes), cudaMemcpyDeviceToHost), "cudaMemcpyAsync");
    }, opt);
  } catch (...) {
    release();
    throw;
  }
  release();
  return t;
}

}  // namespace moesim::bench::cuda
