#pragma once
// Memory facts of the kernel process and deterministic buffers (header-only, used by the two
// layer kernels).
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "sim/core/errors.hpp"
#include "validate/common/measure.hpp"
#include "validate/common/provenance.hpp"

namespace moesim::layercheck {

// "VmHWM:  123456 kB" of /proc/self/status in bytes (the resident set's high-water mark); 0 when
// absent.
inline int64_t vm_hwm_bytes_from_status(const std::string& status) {
  const auto at = status.find("VmHWM:");
  if (at == std::string::npos) return 0;
  return std::strtoll(status.c_str() + at + 6, nullptr, 10) * 1024;
}
inline int64_t vm_hwm_bytes() { return vm_hwm_bytes_from_status(bench::read_text_file("/proc/self/status")); }

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

// A float buffer aligned to `align` bytes (4 KiB: O_DIRECT), counted into `*total` bytes, filled
// with deterministic values in [-scale, scale) (LCG; values never change GEMM time, zeros or
// denormals could).
class Floats {
 public:
  Floats() = default;
  // align = kReadBuffer: a destination of O_DIRECT reads (bench::alloc_read_buffer: 2 MiB pages),
  // the kind of buffer mb_storage reads into.
  static constexpr size_t kReadBuffer = 0;
  Floats(int64_t n, int64_t* total, uint32_t seed, float scale, size_t align = 64) : n_(n) {
    const size_t unit = align == kReadBuffer ? (size_t{2} << 20) : align;
    const size_t bytes = (static_cast<size_t>(n) * sizeof(float) + unit - 1) / unit * unit;
    void* p = nullptr;
    if (align == kReadBuffer) p = bench::alloc_read_buffer(bytes == 0 ? unit : bytes);
    else if (posix_memalign(&p, align, bytes == 0 ? align : bytes) != 0) p = nullptr;
    if (!p) throw IoError("cannot allocate " + std::to_string(bytes) + " B");
    p_.reset(static_cast<float*>(p));
    if (total) *total += static_cast<int64_t>(bytes);
    uint32_t x = seed * 2654435761u + 1;
    for (int64_t i = 0; i < n; ++i) {
      x = x * 1664525u + 1013904223u;
      p_.get()[i] = scale * (static_cast<float>(x >> 8) / 8388608.0f - 1.0f);
    }
  }
  float* data() { return p_.get(); }
  const float* data() const { return p_.get(); }
  int64_t size() const { return n_; }

 private:
  int64_t n_ = 0;
  std::unique_ptr<float, FreeDeleter> p_;
};

}  // namespace moesim::layercheck
