// Storage read time and link alpha-beta time (equations and sources in storage_model.hpp).
#include "hardware/storage_model.hpp"

#include <algorithm>

namespace moesim::hw {

BytesPerSecond read_bandwidth(const StorageSpec& s, Bytes request_size) {
  return request_size >= s.sequential_threshold ? s.seq_read_bandwidth : s.rand_read_bandwidth;
}

Seconds read_time(const StorageSpec& s, Bytes size, int32_t requests) {
  if (size.value <= 0.0) return Seconds(0.0);
  int32_t n = std::max(requests, 1);
  Bytes each = size / static_cast<double>(n);
  return s.read_latency * static_cast<double>(n) + size / read_bandwidth(s, each);
}

BytesPerSecond effective_bandwidth(const LinkSpec& l) { return l.bandwidth * l.efficiency; }

Seconds transfer_time(const LinkSpec& l, Bytes bytes) {
  if (bytes.value <= 0.0) return Seconds(0.0);
  return l.latency + bytes / effective_bandwidth(l);
}

}  // namespace moesim::hw
