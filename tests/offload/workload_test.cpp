// The offload_inference workload end to end (scenario -> graphs -> engine -> summary), each run in
// a forked child (run_child.hpp).
#include <gtest/gtest.h>

#include <cmath>

#include "tests/offload/run_child.hpp"

namespace moesim::offload {
namespace {

using testing::Metrics;

Metrics run(const std::string& toml) {
  return testing::run_in_child([&] { return scenario::read_scenario(config::Document::parse(toml, "offload_test.toml")); });
}

// Switch-Base-8 decoding on a Jetson TX2-like device; storage and link are parameters.
std::string scenario(const std::string& workload, const std::string& storage = R"({ preset = "samsung_860_evo" })",
                     const std::string& link = R"({ preset = "pcie3_x16" })", const std::string& routing = "uniform") {
  return R"(
name = "offload_test"
seed = 3
[model]
preset = "switch_base_8"
[cluster]
nodes = 1
devices_per_node = 1
device = { preset = "jetson_tx2" }
[cluster.host]
link = )" + link + R"(
storage = )" + storage + R"(
[cluster.intra_node]
kind = "nvswitch"
link = { preset = "nvswitch4" }
[routing]
kind = ")" + routing + R"("
[workload]
kind = "offload_inference"
prompt_tokens = 8
phases = "decode"
)" + (workload.find("generate_tokens") == std::string::npos ? "generate_tokens = 6\n" : "") + workload;
}

const std::string kInfinite = R"({ seq_read_bandwidth = "1000000PBps", write_bandwidth = "1000000PBps", read_latency = "0us" })";
const std::string kInfiniteLink = R"({ bandwidth = "1000000PBps", latency = "0us" })";

TEST(OffloadWorkload, ZeroLatencyInfiniteStorageGivesAllInMemoryTpot) {
  Metrics mem = run(scenario("experts_on = \"memory\"\n", kInfinite, kInfiniteLink));
  Metrics sto = run(scenario("experts_on = \"storage\"\ncache_experts = 2\n", kInfinite, kInfiniteLink));
  ASSERT_GT(mem["tpot_s"], 0);
  EXPECT_NEAR(sto["tpot_s"], mem["tpot_s"], 1e-6 * mem["tpot_s"]);
  EXPECT_GT(sto["storage_bytes_read"], 0);  // it did read experts, at no cost
  // A real SSD makes the same run slower.
  Metrics ssd = run(scenario("experts_on = \"storage\"\ncache_experts = 2\n"));
  EXPECT_GT(ssd["tpot_s"], 1.5 * mem["tpot_s"]);
  EXPECT_GT(ssd["io_stall_s"], 0);
}

TEST(OffloadWorkload, CacheHoldingEveryExpertReadsEachExpertOnce) {
  // 6 decoder MoE layers x 8 experts = 48 experts; FP32 Switch-Base expert = 2*768*3072*4 bytes.
  Metrics m = run(scenario("cache_experts = 48\ngenerate_tokens = 12\n"));
  const double expert = 2.0 * 768 * 3072 * 4;
  double distinct = m["storage_bytes_read"] / expert;
  EXPECT_NEAR(distinct, std::round(distinct), 1e-9);
  EXPECT_LE(distinct, 48);
  // Every access is either the first of its expert or a hit.
  EXPECT_NEAR(m["cache_hit_rate"], 1.0 - distinct / (12.0 * 6.0), 1e-9);
  EXPECT_LE(m["expert_cache_at_peak"], 48 * expert + 1);
}

TEST(OffloadWorkload, ExactLookaheadPrefetchHidesLoadsBetterThanNone) {
  Metrics none = run(scenario("cache_experts = 4\n"));
  Metrics look = run(scenario("cache_experts = 4\n[workload.prefetch]\nkind = \"readme_lookahead\"\n"));
  EXPECT_NEAR(look["prefetch_accuracy"], 1.0, 1e-12);
  EXPECT_LT(look["io_stall_s"], none["io_stall_s"]);
  EXPECT_LT(look["tpot_s"], none["tpot_s"]);
}

TEST(OffloadWorkload, BeladyHitRateAtLeastLruInTheRun) {
  std::string w = "cache_experts = 10\ngenerate_tokens = 16\n[workload.cache]\nkind = ";
  Metrics lru = run(scenario(w + "\"lru\"\n", R"({ preset = "samsung_860_evo" })", R"({ preset = "pcie3_x16" })", "popularity"));
  Metrics bel = run(scenario(w + "\"belady\"\n", R"({ preset = "samsung_860_evo" })", R"({ preset = "pcie3_x16" })", "popularity"));
  EXPECT_GE(bel["cache_hit_rate"], lru["cache_hit_rate"]);
  EXPECT_LE(bel["storage_bytes_read"], lru["storage_bytes_read"]);
}

TEST(OffloadWorkload, QuantizedExpertsReadFewerBytes) {
  Metrics fp32 = run(scenario("cache_experts = 2\n"));
  Metrics int4 = run(scenario("cache_experts = 2\n[workload.precision]\nbits = \"int4\"\n"));
  EXPECT_NEAR(int4["storage_bytes_read"] / fp32["storage_bytes_read"], (0.5 + 2.0 / 128) / 4.0, 0.02);
  EXPECT_LT(int4["tpot_s"], fp32["tpot_s"]);
}

TEST(OffloadWorkload, NestedPlanesWithinBudgetNeverLoadAPlaneTwice) {
  Metrics m = run(scenario("batch = 4\ncache_size = \"2GiB\"\n[workload.precision]\nmode = \"nested\"\nbit_mix = [0.3, 0.4, 0.3]\n"));
  ASSERT_GT(m["storage_bytes_read"], 0);
  // Every plane read once at most: bytes read <= all planes of the decoder's 48 experts.
  const double params = 2.0 * 768 * 3072, groups = params / 128;
  const double all_planes = 48 * (params * 4 / 8 + groups * (4 + 2 + 2));
  EXPECT_LE(m["storage_bytes_read"], all_planes + 1);
  EXPECT_GT(m["cache_hit_rate"], 0);
}

}  // namespace
}  // namespace moesim::offload
