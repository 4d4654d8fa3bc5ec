#pragma once
// The "offload_inference" workload: MoE inference on one device whose experts live on
// storage (flash: StorageReadWork) or in host DRAM behind PCIe (CopyWork), with non-expert weights
// resident, an expert buffer (MemCategory::expert_cache) managed by a cache policy, a prefetcher
// issuing loads ahead on the I/O stream, and expert compute waiting for its load. Covers EdgeMoE's
// batch-1 decode (per-expert bit-widths, predictor, eviction score), D²MoE's batched decode
// (nested bit-planes, HEBF order, memory-budget scheduler) and prefill. Equations: docs/offload.md.
//
// Cache decisions depend only on the order of accesses, never on timing, so the whole run is
// replayed once (routing of every step generated up front: Belady needs the future) and each
// step's graph is built from its part of the replay.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/offload/cache_policy.hpp"
#include "models/offload/nested_planes.hpp"
#include "models/offload/prefetcher.hpp"
#include "models/offload/quant_compute.hpp"
#include "models/workload/workload.hpp"

namespace moesim::offload {

enum class ExpertSource { memory, storage, host };

struct OffloadParams {
  int64_t batch = 1;             // requests decoded together (EdgeMoE: 1; D²MoE: several)
  int64_t prompt_tokens = 16;
  int64_t generate_tokens = 8;   // decode steps
  std::string phases = "both";   // "both" | "prefill" | "decode"
  ExpertSource source = ExpertSource::storage;
  double cache_bytes = 0;        // expert buffer budget (bytes); used when cache_experts < 0
  int32_t cache_experts = -1;    // budget in experts of the largest stored size (EdgeMoE: 10)
  bool preload_frequent = false; // fill the buffer with the calibration's hottest experts first
  int64_t calibration_tokens = 256;
  int32_t requests_per_expert = 1;  // storage requests one expert load is issued as
  // Precision. mode: "uniform" (every expert at `bits`), "importance" (low/high by importance),
  // "nested" (D²MoE planes, per-token bit-width drawn from bit_mix over base..max bits).
  std::string precision = "uniform";
  Bits bits = 0;                 // 0 = the model's weight dtype
  Bits low = 2, high = 4;
  double low_fraction = 0.0;
  std::vector<double> importance;  // [moe_layer * experts + expert]; empty = calibration frequency
  QuantFormat format{128, false};  // EdgeMoE per-channel symmetric (group = channel)
  NestedLayout nested;
  std::vector<double> bit_mix;     // P(bit-width base + i) per token-slot (D²MoE capacities)
  uint64_t bit_seed = 0;           // seed of the bit-width draws (the scenario seed)
  // Where a (token, expert) slot's bit-width comes from in nested mode: "auto" = the routing's
  // per-slot `bits` when it carries them (a trace's bits column: D²MoE's bit-width router
  // output), else drawn from bit_mix; "trace" = the routing must carry them; "mix" = always drawn.
  // A traced width outside base..max bits is clamped to it (planes_for).
  std::string bit_source = "auto";
  // Quantised compute (quant_compute.hpp): where the runtime dequantises, the width of the
  // non-expert weights (0 = the model's weight dtype), and the rows up to which a GEMM runs as a
  // GEMV-class kernel (llama.cpp MMVQ_MAX_BATCH_SIZE = 8).
  DequantMode dequant = DequantMode::separate;
  Bits non_expert_bits = 0;
  int64_t gemv_rows = 8;
  // Storage request size (0 = one request per expert load, or requests_per_expert): an expert
  // read through mmap page faults is issued as ceil(bytes / read_request) requests of the
  // kernel's readahead window (Linux default 128 KiB, mm/readahead.c).
  double read_request = 0;
};

OffloadParams read_offload_params(const config::Table& t);  // [workload] keys except cache/prefetch

// Builds the workload; `cache` and `prefetch` may be null (LRU, none).
std::unique_ptr<workload::IWorkload> make_offload_inference(const OffloadParams& p, std::unique_ptr<ICachePolicy> cache,
                                                            std::unique_ptr<IPrefetcher> prefetch,
                                                            const workload::WorkloadContext& ctx);

// Compute-stream time lost waiting for loads in one step: for each task that depends on an I/O
// task, max(0, start - max(end of its non-I/O deps, end of the previous task on its device's
// compute stream)).
double io_stall_seconds(const graph::StepGraph& g, const graph::StepTimeline& t);

}  // namespace moesim::offload
