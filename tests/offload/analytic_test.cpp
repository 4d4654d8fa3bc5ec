// MoE-Lens bound and HRM roofline against hand-computed values (seed-systems.md §4 worked example).
#include <gtest/gtest.h>

#include "models/offload/analytic.hpp"

namespace moesim::offload {
namespace {

TEST(MoeLens, PmeOfTheWorkedExample) {
  EXPECT_NEAR(moe_lens_pme(98, 32), 260.0 / 7296.0, 1e-12);  // ≈ 0.0356
  EXPECT_EQ(moe_lens_pme(98, 0), 0);
}

TEST(MoeLens, IntensityTendsToNTimesKOverE) {
  // With h_i >> h the attention terms vanish: I -> n * N_k / N_e.
  EXPECT_NEAR(moe_lens_intensity(1000, 4096, 4096 * 1e4, 8, 2, 4), 250.0, 0.1);
  EXPECT_GT(moe_lens_intensity(1000, 4096, 14336, 8, 2, 4), 250.0);  // attention is dense: more
}

TEST(MoeLens, BoundIsTheSmallerOfMemoryAndGpu) {
  MoeLensInputs in;
  in.experts = 8, in.top_k = 2;
  in.gpu_flops = 150e12;
  in.io_bandwidth = 19.5e9;
  in.model_bytes = 94e9;
  in.kv_tokens = 534e3;
  in.prompt = 98, in.generate = 32;
  in.active_params = 12.9e9;
  auto b = moe_lens_bound(in);
  EXPECT_NEAR(b.delta_s, 94e9 / 19.5e9, 1e-9);
  EXPECT_NEAR(b.memory_bound_tps, 3.95e3, 0.05e3);  // worked example: ≈ 3.96k tok/s
  EXPECT_NEAR(b.gpu_bound_tps, 5.81e3, 0.01e3);
  EXPECT_DOUBLE_EQ(b.max_tps, b.memory_bound_tps);
  EXPECT_NEAR(b.saturation_tokens, 150e12 / 19.5e9 * 4, 1e-6);
}

TEST(Hrm, RoofAndTurningPoints) {
  HrmLevel gpu{65e12, 300e9}, cpu{1e12, 100e9};
  double link = 16e9;
  EXPECT_DOUBLE_EQ(hrm_attainable(gpu, link, 1e6, 1e6), 65e12);  // compute bound
  EXPECT_DOUBLE_EQ(hrm_attainable(gpu, link, 1e6, 10), 160e9);   // link bound
  EXPECT_DOUBLE_EQ(hrm_attainable(gpu, link, 2, 1e6), 600e9);    // GPU memory bound
  EXPECT_DOUBLE_EQ(hrm_turning_point_p1(cpu, 1, link), 100e9 / 16e9);
  EXPECT_DOUBLE_EQ(hrm_turning_point_p2(gpu, 1e6, link), 65e12 / 16e9);
  HrmLayerWork w{1.6e9, 1e12, 1e9, 1e9, 5e9};
  auto t = hrm_layer_time(w, gpu, cpu, link);
  EXPECT_DOUBLE_EQ(t.comm_s, 0.1);
  EXPECT_DOUBLE_EQ(t.cpu_s, 0.05);
  EXPECT_DOUBLE_EQ(t.layer_s, 0.1);
}

}  // namespace
}  // namespace moesim::offload
