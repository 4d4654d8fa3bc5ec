#pragma once
// The "cpu_gpu_hybrid" workload: throughput-oriented MoE decoding with every weight in host DRAM
// (MoE-Lightning, Cao et al. ASPLOS 2025; MoE-Lens, Yuan et al. arXiv 2504.09345;
// seed-systems.md §4). Per transformer layer:
//  - weights stream host -> GPU over PCIe (CopyWork on the GPU's I/O stream) in `micro_batches`
//    pages (CGOPipe's paged weights) into a double buffer of two layers: layer l's pages start
//    when layer l-2's GPU work has ended (its buffer half is free), so layer l+1 loads while layer
//    l computes;
//  - per micro-batch: GPU pre-attention (norm + QKV projection) -> QKV to the host (D2H copy) ->
//    decode attention on the host CPU over the KV cache in host DRAM (time from the CPU device's
//    roofline: KV bytes / (its memory bandwidth x efficiency) vs. FLOPs / peak) -> attention
//    output back (H2D) -> GPU post-attention (O projection, gate, one GEMM per routed expert with
//    its token count, shared experts / dense FFN). The host-side chain (copies and CPU attention)
//    runs on the GPU's `comm` stream, so CPU attention of micro-batch A overlaps GPU work of B
//    (the two-micro-batch pipeline); copies share the PCIe link with the weight pages as flows.
//  - prefill (phases = "both"): each micro-batch's whole layer on the GPU (attention at the mean
//    prompt context), its new KV copied to the host (D2H); weights streamed the same way.
// The GPU holds the embeddings and LM head, the two-layer weight buffer and activations; the KV
// cache lives in host DRAM (checked against the host CPU's memory capacity).
#include <map>
#include <memory>
#include <string>

#include "hardware/spec.hpp"
#include "models/offload/analytic.hpp"
#include "models/workload/workload.hpp"

namespace moesim::offload {

struct HybridParams {
  int64_t batch = 64;            // requests decoded together (N)
  int32_t micro_batches = 2;     // μ: micro-batches in the CPU/GPU pipeline (also weight pages)
  int64_t prompt_tokens = 77;    // p (MTBench mean prompt: 77, MoE-Lightning §6)
  int64_t generate_tokens = 32;  // g: decode steps
  std::string phases = "decode"; // "decode" | "both" (prefill step first)
  hw::DeviceSpec host_cpu;       // the CPU that runs decode attention (a `kind = "cpu"` preset)
  double kv_budget_bytes = 0;    // host DRAM for the KV cache; 0 = CPU memory - reserved - weights
};

HybridParams read_hybrid_params(const config::Table& t);

std::unique_ptr<workload::IWorkload> make_cpu_gpu_hybrid(const HybridParams& p, const workload::WorkloadContext& ctx);

// Analytical bounds of one run (reported beside the simulated result by run_metrics).
// Effective rates come from the same models the simulation uses: the GPU's and CPU's rooflines
// (a large GEMM and a pure memory stream through their compute models) and B_IO measured from the
// executed weight pages (bytes / time of the fastest page).
struct HybridBoundInputs {
  double gpu_flops = 0, gpu_bandwidth = 0;  // effective
  double cpu_flops = 0, cpu_bandwidth = 0;  // effective
  double io_bandwidth = 0;                  // B_IO
};
struct HybridBounds {
  MoeLensBound lens;
  double hrm_layer_s = 0;          // Eq. 12-14 at the mean decode context, summed over layers / L
  double hrm_tokens_per_s = 0;     // N / (sum of per-layer HRM times) per decode step
  double hrm_comm_s = 0, hrm_cpu_s = 0, hrm_gpu_s = 0;  // per step (sums over layers)
};
HybridBounds hybrid_bounds(const HybridParams& p, const model::ModelSpec& m, const HybridBoundInputs& in);

// Bytes of every weight the GPU streams per step (all layers), and of one layer.
double hybrid_layer_weight_bytes(const model::ModelSpec& m, int64_t layer);
// KV-cache bytes one token adds over all layers.
double hybrid_kv_bytes_per_token(const model::ModelSpec& m);

}  // namespace moesim::offload
