// Roofline compute model, dtype fallback, storage read time and link alpha-beta, against hand
// computation.
#include <gtest/gtest.h>

#include "hardware/compute_model.hpp"
#include "hardware/storage_model.hpp"

using namespace moesim;
using namespace moesim::hw;

namespace {

// A made-up device with round numbers so hand computation is easy.
DeviceSpec toy_device() {
  DeviceSpec d;
  d.name = "toy";
  d.kind = "gpu";
  d.peak = {{Dtype::fp32, FlopsPerSecond(10e12)}, {Dtype::bf16, FlopsPerSecond(100e12)},
            {Dtype::fp16, FlopsPerSecond(100e12)}};
  d.memory_capacity = Bytes(16e9);
  d.memory_bandwidth = BytesPerSecond(1e12);
  d.memory_efficiency = 0.5;
  d.gemm.eff_max = 0.8;
  d.gemm.m_half = 64.0;
  d.kernel_launch = Seconds(4e-6);
  return d;
}

}  // namespace

TEST(Roofline, ComputeBoundGemm) {
  auto d = toy_device();
  // 1 TFlop at 100 TF/s * 0.8 = 12.5 ms; 1 GB at 0.5 TB/s = 2 ms -> compute bound; + 2 launches.
  Seconds t = op_time(d, Flops(1e12), Bytes(1e9), Dtype::bf16, 0, 2);
  EXPECT_NEAR(t.value, 1e12 / 80e12 + 2 * 4e-6, 1e-12);
}

TEST(Roofline, MemoryBoundOp) {
  auto d = toy_device();
  // 1 GFlop -> 12.5 us; 10 GB at 0.5 TB/s = 20 ms -> memory bound.
  Seconds t = op_time(d, Flops(1e9), Bytes(10e9), Dtype::bf16, 0, 1);
  EXPECT_NEAR(t.value, 10e9 / 0.5e12 + 4e-6, 1e-12);
}

TEST(Roofline, EfficiencyRampSaturates) {
  GemmEfficiency g;
  g.eff_max = 0.8;
  g.m_half = 64.0;
  EXPECT_DOUBLE_EQ(gemm_efficiency(g, 0), 0.8);    // not a GEMM
  EXPECT_DOUBLE_EQ(gemm_efficiency(g, 64), 0.4);   // half of eff_max at m_half
  EXPECT_DOUBLE_EQ(gemm_efficiency(g, 192), 0.6);  // 0.8 * 192 / 256
  EXPECT_LT(gemm_efficiency(g, 1), gemm_efficiency(g, 2));
  EXPECT_GT(gemm_efficiency(g, 1 << 20), 0.799);
  auto d = toy_device();
  // A small GEMM (m = 16) is slower per flop than a large one: eff = 0.8 * 16 / 80 = 0.16.
  Seconds t = op_time(d, Flops(1e9), Bytes(0.0), Dtype::bf16, 16, 0);
  EXPECT_NEAR(t.value, 1e9 / (100e12 * 0.16), 1e-15);
}

TEST(Roofline, DtypeFallbackToNearestWider) {
  auto d = toy_device();
  EXPECT_EQ(effective_dtype(d, Dtype::bf16), Dtype::bf16);
  EXPECT_EQ(effective_dtype(d, Dtype::fp8), Dtype::fp16);   // no fp8 on this device
  EXPECT_EQ(effective_dtype(d, Dtype::int4), Dtype::fp16);  // dequantized to 16-bit float
  EXPECT_EQ(effective_dtype(d, Dtype::tf32), Dtype::fp32);
  d.peak.erase(Dtype::fp16);
  EXPECT_EQ(effective_dtype(d, Dtype::fp8), Dtype::bf16);
  d.peak.erase(Dtype::bf16);
  EXPECT_EQ(effective_dtype(d, Dtype::fp16), Dtype::fp32);
  // fp8 on the fp32-only device: runs at the fp32 peak, does not crash.
  Seconds t = op_time(d, Flops(1e12), Bytes(0.0), Dtype::fp8, 0, 0);
  EXPECT_NEAR(t.value, 1e12 / (10e12 * 0.8), 1e-12);
}

TEST(Roofline, NoChainEntryUsesSlowestListedPeak) {
  DeviceSpec d = toy_device();
  d.peak = {{Dtype::int8, FlopsPerSecond(400e12)}, {Dtype::fp16, FlopsPerSecond(200e12)}};
  EXPECT_EQ(effective_dtype(d, Dtype::fp32), Dtype::fp16);
  EXPECT_DOUBLE_EQ(effective_peak(d, Dtype::fp32).value, 200e12);
}

TEST(Roofline, RegisteredKindMatchesFreeFunctionAndAblations) {
  auto d = toy_device();
  ComputeOp op{Flops(1e9), Bytes(1e6), Dtype::bf16, 32, 3};
  auto doc = config::Document::parse("m = {}\n", "s.toml");
  auto model = make_compute_model(config::Table::root(doc).table("m"));
  EXPECT_DOUBLE_EQ(model->time(d, op).value, op_time(d, op).value);
  auto flat = make_roofline({.efficiency_ramp = false, .launch_overhead = false});
  EXPECT_NEAR(flat->time(d, op).value, 1e9 / 80e12, 1e-15);
  EXPECT_TRUE(ComputeModelRegistry::instance().contains("roofline"));
}

TEST(Roofline, UnknownKindAndKeyAreErrors) {
  auto doc = config::Document::parse("m = { kind = \"rooflin\" }\nn = { kind = \"roofline\", ramp = false }\n", "s.toml");
  auto root = config::Table::root(doc);
  try {
    make_compute_model(root.table("m"));
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'roofline'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_compute_model(root.table("n")), ConfigError);
}

TEST(StorageModel, ReadTimeClosedForm) {
  StorageSpec s;
  s.seq_read_bandwidth = BytesPerSecond(2e9);
  s.rand_read_bandwidth = BytesPerSecond(0.5e9);
  s.read_latency = Seconds(100e-6);
  s.sequential_threshold = Bytes(131072.0);
  // One 64 MB read: 100 us + 64e6 / 2e9 = 32.1 ms.
  EXPECT_NEAR(read_time(s, Bytes(64e6), 1).value, 100e-6 + 0.032, 1e-12);
  // The same bytes as 1000 requests of 64 kB (< threshold): 1000 * 100 us + 64e6 / 0.5e9.
  EXPECT_NEAR(read_time(s, Bytes(64e6), 1000).value, 0.1 + 0.128, 1e-12);
  EXPECT_DOUBLE_EQ(read_time(s, Bytes(0.0), 4).value, 0.0);
  EXPECT_DOUBLE_EQ(read_bandwidth(s, Bytes(131072.0)).value, 2e9);  // threshold is sequential
}

TEST(LinkModel, AlphaBeta) {
  LinkSpec l;
  l.bandwidth = BytesPerSecond(25e9);
  l.latency = Seconds(1e-6);
  l.efficiency = 0.8;
  EXPECT_NEAR(transfer_time(l, Bytes(20e6)).value, 1e-6 + 20e6 / 20e9, 1e-15);
  EXPECT_DOUBLE_EQ(transfer_time(l, Bytes(0.0)).value, 0.0);
}

TEST(EagerOverhead, AddsOperatorsTimesOverheadInBothForms) {
  // Roofline: 1 GFLOP at 80 TFLOPS (12.5 us) + 3 launches x 4 us; 40 operators x 50 us = 2 ms more.
  auto d = toy_device();
  ComputeOp op{Flops(1e9), Bytes(0.0), Dtype::bf16, 0, 3, 0, 40};
  const double base = 1e9 / 80e12 + 3 * 4e-6;
  EXPECT_NEAR(op_time(d, op).value, base, 1e-12);  // overhead 0: nothing added
  d.operator_overhead = Seconds(50e-6);
  EXPECT_NEAR(op_time(d, op).value, base + 40 * 50e-6, 1e-12);
  auto model = make_roofline({});
  EXPECT_NEAR(model->time(d, op).value, base + 40 * 50e-6, 1e-12);
  // Shape table: the measured efficiency (0.5) plus the same 2 ms.
  d.gemm.shapes = {{1, 1e6, 0.5}};
  op.gemm_m = 1;
  EXPECT_NEAR(model->time(d, op).value, 1e9 / 50e12 + 40 * 50e-6, 1e-12);
  op.operators = 0;
  EXPECT_NEAR(model->time(d, op).value, 1e9 / 50e12, 1e-12);
}
