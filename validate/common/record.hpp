#pragma once
// One measured configuration of a microbenchmark: the row schema shared by every kernel (host and
// CUDA), so one reader feeds the calibrator. Columns carry their unit in their name. Integer shape
// fields use 0 and strings use "" for "not applicable" (written as empty cells).
//
// Conventions (docs/validation.md):
//   median_s .. max_s   time of ONE operation (a GEMM call, a STREAM pass, one block read, one
//                       collective), statistics over the timed samples
//   flops               floating-point operations of one operation (2*m*n*k for a GEMM)
//   traffic_bytes       bytes the rate counts for one operation (STREAM convention: read + write)
//   flops_per_s         flops / median_s
//   bytes_per_s         achieved byte rate: traffic_bytes / median_s, except where the kernel has
//                       several operations in flight (storage queue depth > 1): aggregate rate
#include <cstdint>
#include <string>
#include <vector>

namespace moesim::bench {

struct Record {
  std::string kernel;     // gemm | grouped_gemm | stream_copy | stream_triad | memcpy | storage_read
                          // | alltoall | alltoallv | h2d | d2h | d2d_copy | ...
  std::string device;     // cpu | cuda:0 | file path's device | mpi
  std::string dtype;      // fp64 | fp32 | tf32 | bf16 | fp16 (compute kernels)
  int64_t m = 0, n = 0, k = 0;  // GEMM: C[m x n] = A[m x k] B[k x n]; grouped: m = mean rows/group
  int64_t groups = 0;     // grouped GEMM: number of GEMMs in the layer
  int64_t size_bytes = 0; // buffer / block / per-pair message size
  std::string pattern;    // seq | rand | uniform | zipf1.0 | ...
  std::string mode;       // storage: direct | buffered_cold | buffered_warm; GEMM: loop | batched
  int64_t queue_depth = 0;
  int64_t ranks = 0;
  std::string transport;  // MPI: sm | tcp; CUDA copies: pinned | pageable
  int64_t threads = 0;
  int64_t warmup = 0, reps = 0, inner = 0;
  double median_s = 0, p10_s = 0, p90_s = 0, min_s = 0, max_s = 0, mean_s = 0, stddev_s = 0;
  double flops = 0, traffic_bytes = 0, flops_per_s = 0, bytes_per_s = 0;
  std::string note;
};

// Column names in output order.
const std::vector<std::string>& record_columns();

// The record as CSV cells, in record_columns() order (unescaped).
std::vector<std::string> record_cells(const Record& r);

// Inverse of record_cells: cells named by `header` (unknown columns ignored, missing ones left at
// their defaults). Throws IoError on a malformed number.
Record record_from_cells(const std::vector<std::string>& header, const std::vector<std::string>& cells);

struct Summary;
// Fills the time columns from a summary of per-operation times and derives the rates from
// flops / traffic_bytes (call after setting them).
void set_timing(Record& r, const Summary& s);

}  // namespace moesim::bench
