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
// Link (alpha-beta, Hockney 1994): transfer_time = latency + bytes / (bandwidth * efficiency).
#include <cstdint>

#include "hardware/spec.hpp"

namespace moesim::hw {

BytesPerSecond read_bandwidth(const StorageSpec& s, Bytes request_size);
Seconds read_time(const StorageSpec& s, Bytes size, int32_t requests = 1);

BytesPerSecond effective_bandwidth(const LinkSpec& l);  // bandwidth * efficiency
Seconds transfer_time(const LinkSpec& l, Bytes bytes);

}  // namespace moesim::hw
