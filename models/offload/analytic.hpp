#pragma once
// Analytical cross-checks of CPU-GPU hybrid MoE serving, reported beside simulated results.
//
// MoE-Lens (Yuan, Ma, Talati, arXiv 2504.09345; seed-systems.md §4.1):
//  Eq. 1 arithmetic intensity of one MoE layer w.r.t. weight bytes with n tokens in flight:
//        I = n (6 N_k h h_i + 4h^2 + 4h^2/s) / (6 N_e h h_i + 4h^2 + 4h^2/s)
//  Eq. 2 GPU saturation: n >= (C_GPU / B_IO) * (N_e / N_k)
//  Eq. 3 PME = 2 (p + g) / ((2p + g) g)
//  Eq. 4 T_max = min(PME * M / delta, T_GPU), delta = model bytes / B_IO,
//        M = KV capacity in tokens, T_GPU = GPU token throughput (C_GPU / (2 * active params)).
//
// MoE-Lightning's Hierarchical Roofline Model (Cao et al., ASPLOS 2025; seed-systems.md §4.2):
//  Eq. 7  P^i_x = min(P^i_peak, B^i_peak I^i_x, B^{j,i}_peak I^j_x)
//  Eq. 9  turning point P1: I^j = min(P^j_peak, B^j_peak I^j_x) / B^{j,i}_peak
//  Eq. 10 turning point P2: I^j = min(P^i_peak, B^i_peak I^i_x) / B^{j,i}_peak
//  Eq. 12-14 per-layer decode time T = max(comm_{cpu->gpu}, T_cpu, T_gpu), T_x = max(comm_x, comp_x).
#include <cstdint>

namespace moesim::offload {

struct MoeLensInputs {
  double h = 0;            // hidden size
  double h_i = 0;          // expert intermediate size
  double experts = 0;      // N_e
  double top_k = 0;        // N_k
  double gqa_group = 1;    // s: query heads per KV head
  double gpu_flops = 0;    // C_GPU, FLOP/s
  double io_bandwidth = 0; // B_IO, bytes/s (host -> GPU)
  double model_bytes = 0;  // weights streamed per iteration
  double kv_tokens = 0;    // M: KV-cache capacity in tokens
  double prompt = 0;       // p
  double generate = 0;     // g
  double active_params = 0;
};

struct MoeLensBound {
  double pme = 0;                 // Eq. 3
  double delta_s = 0;             // time to stream the model once
  double saturation_tokens = 0;   // Eq. 2
  double memory_bound_tps = 0;    // PME * M / delta
  double gpu_bound_tps = 0;       // T_GPU
  double max_tps = 0;             // Eq. 4
};

double moe_lens_intensity(double n, double h, double h_i, double experts, double top_k, double gqa_group);
double moe_lens_pme(double prompt, double generate);
MoeLensBound moe_lens_bound(const MoeLensInputs& in);

struct HrmLevel {
  double peak_flops = 0;  // P_peak
  double bandwidth = 0;   // B_peak of its own memory
};
// Eq. 7: attainable FLOP/s of op x on level i reading from i (I_i) and from j over the link (I_j).
double hrm_attainable(const HrmLevel& i, double link_bandwidth, double intensity_i, double intensity_j);
double hrm_turning_point_p1(const HrmLevel& j, double intensity_j, double link_bandwidth);  // Eq. 9
double hrm_turning_point_p2(const HrmLevel& i, double intensity_i, double link_bandwidth);  // Eq. 10

// Eq. 12-14 for one layer with the policy "attention on the CPU, FFN on the GPU, weights streamed".
struct HrmLayerWork {
  double weight_bytes_streamed = 0;  // CPU -> GPU per layer
  double gpu_flops = 0, gpu_bytes = 0;  // FFN (+ projections) on the GPU
  double cpu_flops = 0, cpu_bytes = 0;  // decode attention on the CPU (KV reads)
};
struct HrmLayerTime {
  double comm_s = 0, cpu_s = 0, gpu_s = 0, layer_s = 0;
};
HrmLayerTime hrm_layer_time(const HrmLayerWork& w, const HrmLevel& gpu, const HrmLevel& cpu, double link_bandwidth);

}  // namespace moesim::offload
