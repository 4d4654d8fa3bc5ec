// The cpu_gpu_hybrid workload (MoE-Lightning / MoE-Lens pipeline): closed-form limits of the
// schedule, the double buffer, the analytical bounds beside the simulation, and input errors.
#include <gtest/gtest.h>

#include "models/offload/hybrid_workload.hpp"
#include "models/model_reader.hpp"
#include "models/workload/token_costs.hpp"
#include "sim/core/errors.hpp"
#include "sim/scenario/scenario.hpp"
#include "tests/offload/run_child.hpp"

namespace moesim::offload {
namespace {

using testing::Metrics;

std::string scenario(const std::string& workload, const std::string& link = R"({ preset = "pcie3_x16" })",
                     const std::string& cpu = R"({ preset = "xeon_gcp_24c_2_3ghz" })") {
  return R"(
name = "hybrid_test"
seed = 5
[model]
preset = "mixtral_8x7b"
[cluster]
nodes = 1
devices_per_node = 1
device = { preset = "t4" }
[cluster.host]
link = )" + link + R"(
[cluster.intra_node]
kind = "nvswitch"
link = { preset = "nvswitch4" }
[routing]
kind = "uniform"
[workload]
kind = "cpu_gpu_hybrid"
prompt_tokens = 64
generate_tokens = 3
host_cpu = )" + cpu + "\n" + workload;
}

Metrics run(const std::string& toml) {
  return testing::run_in_child([&] { return scenario::read_scenario(config::Document::parse(toml, "hybrid_test.toml")); });
}

model::ModelSpec mixtral() { return model::load_catalog_model("mixtral_8x7b"); }

double streamed_per_step(const model::ModelSpec& m) {
  double s = 0;
  for (int64_t l = 0; l < m.layers; ++l) s += hybrid_layer_weight_bytes(m, l);
  return s;
}

// A small batch on PCIe 3: the step is the weight stream (every layer's bytes once).
TEST(HybridWorkload, SmallBatchIsBoundByTheWeightStream) {
  Metrics r = run(scenario("batch = 8\n"));
  const double bytes = streamed_per_step(mixtral());
  ASSERT_GT(r["io_bandwidth_Bps"], 0);
  EXPECT_NEAR(r["weights_streamed_bytes"], 3 * bytes, 1e-6 * bytes);
  const double stream_s = bytes / r["io_bandwidth_Bps"];
  EXPECT_GT(r["tpot_s"], stream_s);
  EXPECT_LT(r["tpot_s"], 1.05 * stream_s);  // compute of the last layer is all that sticks out
  // PCIe 3.0 x16 x 0.8 efficiency (the preset): ~12.6 GB/s.
  EXPECT_NEAR(r["io_bandwidth_Bps"], 15.75e9 * 0.8, 0.05 * 15.75e9);
}

// With an infinitely fast link and a slow host memory, CPU attention sets the pace; two
// micro-batches overlap it with the GPU, so the step is shorter than with one.
TEST(HybridWorkload, CpuAttentionBoundAndTwoMicroBatchOverlap) {
  const std::string fast = R"({ bandwidth = "1000000PBps", latency = "0us" })";
  const std::string slow_cpu = R"({ preset = "xeon_gcp_24c_2_3ghz", memory_bandwidth = "2GBps" })";
  Metrics one = run(scenario("batch = 256\nmicro_batches = 1\n", fast, slow_cpu));
  Metrics two = run(scenario("batch = 256\nmicro_batches = 2\n", fast, slow_cpu));
  ASSERT_GT(two["cpu_attention_busy_s"], 0);
  const double cpu_per_step = two["cpu_attention_busy_s"] / 3.0;
  EXPECT_GT(two["tpot_s"], 0.99 * cpu_per_step);  // the CPU is busy the whole step, nearly
  EXPECT_LT(two["tpot_s"], 1.3 * cpu_per_step);
  EXPECT_LT(two["tpot_s"], one["tpot_s"]);        // the pipeline hides GPU work under CPU attention
  EXPECT_NEAR(one["cpu_attention_busy_s"], two["cpu_attention_busy_s"], 0.02 * two["cpu_attention_busy_s"]);
}

// The GPU holds at most two layers of weights (the double buffer) besides embeddings/LM head.
TEST(HybridWorkload, DoubleBufferHoldsAtMostTwoLayers) {
  Metrics r = run(scenario("batch = 32\n"));
  auto m = mixtral();
  const double layer = hybrid_layer_weight_bytes(m, 0);
  const double emb = workload::embedding_params(m) * hw::dtype_bytes(m.weight_dtype);
  EXPECT_GT(r["memory_peak_bytes"], emb + layer);
  EXPECT_LT(r["memory_peak_bytes"], emb + 2.0 * layer + 0.5e9);  // + activations of 32 tokens
}

// The simulated pipeline never beats the HRM per-layer max(comm, cpu, gpu) bound, and the MoE-Lens
// bound is reported with its inputs.
TEST(HybridWorkload, SimulationStaysUnderTheAnalyticalBounds) {
  for (int batch : {16, 512}) {
    SCOPED_TRACE(batch);
    Metrics r = run(scenario("batch = " + std::to_string(batch) + "\n"));
    ASSERT_GT(r["hrm_tokens_per_s"], 0);
    EXPECT_LE(r["decode_tokens_per_s"], 1.001 * r["hrm_tokens_per_s"]);
    EXPECT_GT(r["decode_tokens_per_s"], 0.5 * r["hrm_tokens_per_s"]);  // and the pipeline is not far off it
    EXPECT_GT(r["moe_lens_max_tokens_per_s"], 0);
    EXPECT_NEAR(r["moe_lens_pme"], moe_lens_pme(64, 3), 1e-12);
  }
}

// Prefill on the GPU then decode: steps count N p and N tokens; processed tokens/s stays under
// the MoE-Lens GPU bound (every token costs at least 2 x active params FLOPs).
TEST(HybridWorkload, PrefillThenDecodeCountsTokensAndStaysUnderTheGpuBound) {
  Metrics r = run(scenario("batch = 64\nphases = \"both\"\n"));
  ASSERT_GT(r["processed_tokens_per_s"], 0);
  EXPECT_LT(r["processed_tokens_per_s"], r["moe_lens_gpu_bound_tokens_per_s"]);
  EXPECT_GT(r["ttft_s"], r["tpot_s"]);  // the prefill step computes 64 x 64 tokens
}

// MoE-Lens' worked example (seed-systems.md §4.1): Mixtral, p = 98, g = 32, 70 GB KV, 19.5 GB/s.
TEST(HybridWorkload, MoeLensBoundOfTheWorkedExample) {
  HybridParams p;
  p.prompt_tokens = 98;
  p.generate_tokens = 32;
  p.kv_budget_bytes = 70e9;
  HybridBoundInputs in{150e12, 696e9, 5e12, 150e9, 19.5e9};
  auto b = hybrid_bounds(p, mixtral(), in);
  EXPECT_NEAR(b.lens.pme, 0.0356, 5e-4);
  EXPECT_NEAR(b.lens.delta_s, 4.8, 0.2);                         // ~94 GB / 19.5 GB/s
  EXPECT_NEAR(b.lens.memory_bound_tps, 3.96e3, 0.05 * 3.96e3);  // the notes' ~3.96k tok/s
  EXPECT_NEAR(b.lens.saturation_tokens, 150e12 / 19.5e9 * 4, 1.0);
}

TEST(HybridWorkload, KvCacheThatDoesNotFitTheHostIsInfeasible) {
  auto doc = config::Document::parse(scenario("batch = 100000\nkv_budget = \"10GB\"\n"), "hybrid_test.toml");
  EXPECT_THROW(scenario::read_scenario(std::move(doc)), InfeasibleError);
}

TEST(HybridWorkload, HostCpuMustBeACpuPreset) {
  auto doc = config::Document::parse(scenario("batch = 8\n", R"({ preset = "pcie3_x16" })", R"({ preset = "t4" })"),
                                     "hybrid_test.toml");
  EXPECT_THROW(scenario::read_scenario(std::move(doc)), ConfigError);
}

}  // namespace
}  // namespace moesim::offload
