// Storage read time and link alpha-beta time (equations and sources in storage_model.hpp).
#include "hardware/storage_model.hpp"

#include <algorithm>

namespace moesim::hw {

const StorageRegime* regime_of(const StorageSpec& s, Bytes request_size) {
  const StorageRegime* r = nullptr;
  for (const auto& g : s.regimes)
    if (!r || request_size >= g.from) r = &g;
  return r;
}

const LinkRegime* regime_of(const LinkSpec& l, Bytes message) {
  const LinkRegime* r = nullptr;
  for (const auto& g : l.regimes)
    if (!r || message >= g.from) r = &g;
  return r;
}

Seconds message_overhead(const LinkSpec& l, Bytes message) {
  const LinkRegime* r = regime_of(l, message);
  return r ? r->message_overhead : l.message_overhead;
}

double message_efficiency(const LinkSpec& l, Bytes message) {
  const LinkRegime* r = regime_of(l, message);
  return r ? r->efficiency : 1.0;
}

BytesPerSecond read_bandwidth(const StorageSpec& s, Bytes request_size) {
  if (const StorageRegime* r = regime_of(s, request_size)) return r->bandwidth;
  return request_size >= s.sequential_threshold ? s.seq_read_bandwidth : s.rand_read_bandwidth;
}

Seconds request_latency(const StorageSpec& s, Bytes request_size) {
  if (const StorageRegime* r = regime_of(s, request_size)) return r->latency;
  return s.read_latency;
}

Seconds read_time(const StorageSpec& s, Bytes size, int32_t requests) {
  if (size.value <= 0.0) return Seconds(0.0);
  int32_t n = std::max(requests, 1);
  Bytes each = size / static_cast<double>(n);
  return request_latency(s, each) * static_cast<double>(n) + size / read_bandwidth(s, each);
}

BytesPerSecond effective_bandwidth(const LinkSpec& l) { return l.bandwidth * l.efficiency; }

Seconds transfer_time(const LinkSpec& l, Bytes bytes) {
  if (bytes.value <= 0.0) return Seconds(0.0);
  return l.latency + bytes / effective_bandwidth(l);
}

}  // namespace moesim::hw
