#pragma once
// Time to read from a storage device and to move bytes over a link.
//
// Storage read (queue depth 1, `requests` equal requests issued one after another):
//   s = size / requests
//   read_time = requests * read_latency + size / bw(s),
//   bw(s) = seq_read_bandwidth if s >= sequential_threshold else rand_read_bandwidth
// The latency + size/bandwidth form is the standard access-time model of disks and SSDs (e.g.
// Ruemmler & Wilkes, "An introduction to disk drive modeling", IEEE Computer 1994); the two-rate
// step is a simplification of SSD throughput versus request size, to be calibrated by validate/
// from reads of expert-sized blocks.
//
// Regimes (StorageSpec::regimes not empty): the request size s picks the regime r with
// from_r <= s < from_{r+1}; read_time = requests * latency_r + size / bandwidth_r. A piecewise
// access-time model: one Ruemmler-Wilkes line per request-size range (e.g. requests served by
// one NVMe command vs split into several, or a virtio queue's small and large requests), with
// the ranges and lines fitted by `moesim calibrate` (validate/calibrate/storage_fit.cpp).
//
// Link (alpha-beta, Hockney 1994): transfer_time = latency + bytes / (bandwidth * efficiency).
// Message-size regimes (LinkSpec::regimes, LogGP-style, Alexandrov et al. 1995): a message of s
// bytes pays its regime's overhead o_r (instead of message_overhead) and moves at efficiency_r x
// the rate of every hop; without regimes o = message_overhead and the factor is 1.
#include <cstdint>

#include "hardware/spec.hpp"

namespace moesim::hw {

BytesPerSecond read_bandwidth(const StorageSpec& s, Bytes request_size);
Seconds request_latency(const StorageSpec& s, Bytes request_size);  // fixed cost of one request
Seconds read_time(const StorageSpec& s, Bytes size, int32_t requests = 1);

BytesPerSecond effective_bandwidth(const LinkSpec& l);  // bandwidth * efficiency
Seconds transfer_time(const LinkSpec& l, Bytes bytes);
Seconds message_overhead(const LinkSpec& l, Bytes message);
double message_efficiency(const LinkSpec& l, Bytes message);

// The regime holding a request / message of this size (regimes sorted by `from`, the first at
// 0 B); nullptr when the spec has no regimes.
const StorageRegime* regime_of(const StorageSpec& s, Bytes request_size);
const LinkRegime* regime_of(const LinkSpec& l, Bytes message);

}  // namespace moesim::hw
