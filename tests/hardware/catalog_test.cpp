// Plausibility of the catalog's numbers: catches unit typos (GFlops for TFlops, Gbps for GBps)
// that still parse, and checks `moesim show` on every preset.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "hardware/compute_model.hpp"
#include "hardware/readers.hpp"
#include "hardware/storage_model.hpp"

#include "tests/support/cli.hpp"

using namespace moesim;
using namespace moesim::hw;

namespace {

template <class Reader>
auto preset(const std::string& name, Reader reader) {
  auto doc = config::Document::parse("preset = \"" + name + "\"\n", "test");
  return reader(config::Table::root(doc));
}

std::string run(const std::string& args, int* rc) {
  auto r = moesim::test_support::run_moesim(args);
  *rc = r.code;
  return r.output;
}

}  // namespace

TEST(HardwareCatalog, DevicePeaksAreOrderedAndPlausible) {
  for (const auto& name : config::preset_names(kDeviceCatalog)) {
    SCOPED_TRACE(name);
    auto d = preset(name, read_device);
    auto has = [&](Dtype t) { return d.peak.count(t) > 0; };
    auto peak = [&](Dtype t) { return d.peak.at(t).value; };
    // Narrower formats are never slower than wider ones on the same device.
    if (has(Dtype::fp32) && has(Dtype::fp16)) {
      EXPECT_GE(peak(Dtype::fp16), peak(Dtype::fp32));
    }
    if (has(Dtype::fp32) && has(Dtype::bf16)) {
      EXPECT_GE(peak(Dtype::bf16), peak(Dtype::fp32));
    }
    if (has(Dtype::fp16) && has(Dtype::fp8)) {
      EXPECT_GE(peak(Dtype::fp8), peak(Dtype::fp16));
    }
    if (has(Dtype::fp16) && has(Dtype::int8)) {
      EXPECT_GE(peak(Dtype::int8), peak(Dtype::fp16));
    }
    if (has(Dtype::int8) && has(Dtype::int4)) {
      EXPECT_GE(peak(Dtype::int4), peak(Dtype::int8));
    }
    for (const auto& [t, r] : d.peak) {
      EXPECT_GE(r.value, 1e9) << dtype_name(t);    // >= 1 GFLOP/s
      EXPECT_LE(r.value, 1e16) << dtype_name(t);   // <= 10 PFLOP/s (dense)
    }
    EXPECT_GE(d.memory_bandwidth.value, 1e9);
    EXPECT_LE(d.memory_bandwidth.value, 1e13);
    EXPECT_GE(d.memory_capacity.value, 1e9);
    // Ridge point (Flop/B) of the roofline in the device's fastest float format: 1..2000.
    double fastest = 0.0;
    for (Dtype t : {Dtype::fp32, Dtype::bf16, Dtype::fp16}) fastest = std::max(fastest, has(t) ? peak(t) : 0.0);
    double ridge = fastest / d.memory_bandwidth.value;
    EXPECT_GT(ridge, 1.0);
    EXPECT_LT(ridge, 2000.0);
    EXPECT_NE(d.source.find_first_not_of(' '), std::string::npos);
  }
}

TEST(HardwareCatalog, LinkAndStorageRatesArePlausible) {
  for (const auto& name : config::preset_names(kLinkCatalog)) {
    SCOPED_TRACE(name);
    auto l = preset(name, read_link);
    EXPECT_GE(l.bandwidth.value, 1e8);     // >= 100 MB/s
    EXPECT_LE(l.bandwidth.value, 1e12);    // <= 1 TB/s per direction
    // A message has a fixed cost: per hop (latency) or per message (LogP overhead). Backplanes
    // (a switch's shared capacity, `*_bus`) have none of their own: messages pay the ports'.
    const bool backplane = name.size() > 4 && name.ends_with("_bus");
    if (!backplane) EXPECT_GT(l.latency.value + l.message_overhead.value, 1e-8);
    EXPECT_LT(l.latency.value, 1e-3);
    EXPECT_LT(l.message_overhead.value, 1e-3);
  }
  for (const auto& name : config::preset_names(kStorageCatalog)) {
    SCOPED_TRACE(name);
    auto s = preset(name, read_storage);
    // Two-rate presets: small random requests are not faster than sequential ones. Calibrated
    // [[regimes]] follow the measurement (a loaded virtio disk reads 1 MiB faster than 64 MiB).
    if (s.regimes.empty()) EXPECT_LE(s.rand_read_bandwidth.value, s.seq_read_bandwidth.value);
    for (const auto& g : s.regimes) {
      EXPECT_GE(g.bandwidth.value, 1e7);
      EXPECT_LE(g.bandwidth.value, 2e10);
      EXPECT_LT(g.latency.value, 0.1);
    }
    EXPECT_GE(s.seq_read_bandwidth.value, 1e7);
    EXPECT_LE(s.seq_read_bandwidth.value, 2e10);
    EXPECT_GT(s.read_latency.value, 1e-6);
    EXPECT_LT(s.read_latency.value, 0.1);
  }
}

TEST(HardwareCatalog, SameFamilyOrdering) {
  auto bw = [](const char* n) { return preset(n, read_link).bandwidth.value; };
  EXPECT_LT(bw("pcie3_x16"), bw("pcie4_x16"));
  EXPECT_LT(bw("pcie4_x16"), bw("pcie5_x16"));
  EXPECT_DOUBLE_EQ(bw("ib_hdr"), 25e9);       // 200 Gb/s
  EXPECT_DOUBLE_EQ(bw("roce_400g"), 50e9);    // 400 Gb/s
  EXPECT_LT(bw("nvswitch4_h800"), bw("nvswitch4"));
  auto nvl4 = preset("nvlink4", read_link);
  EXPECT_DOUBLE_EQ(nvl4.bandwidth.value * nvl4.links_per_device, bw("nvswitch4"));  // 18 x 25 = 450 GB/s
  auto nvl3 = preset("nvlink3", read_link);
  EXPECT_DOUBLE_EQ(nvl3.bandwidth.value * nvl3.links_per_device, bw("nvswitch3"));  // 12 x 25 = 300 GB/s
  auto rd = [](const char* n) { return preset(n, read_storage).seq_read_bandwidth.value; };
  EXPECT_LT(rd("sd_uhs1_rpi4"), rd("sd_uhs1"));
  EXPECT_LT(rd("hdd_7200rpm"), rd("samsung_860_evo"));
  EXPECT_LT(rd("samsung_860_evo"), rd("samsung_970_evo"));
  EXPECT_LT(rd("ufs_3_1"), rd("ufs_4_0"));
}

// Hand-computed cases on real presets.
TEST(Roofline, H100DecodeGemvIsMemoryBound) {
  auto d = preset("h100_sxm", read_device);
  // One token through a 4096 x 14336 bf16 matrix: 2*4096*14336 flops, 2*4096*14336 bytes of weights.
  const double n = 4096.0 * 14336.0;
  Seconds t = op_time(d, Flops(2 * n), Bytes(2 * n), Dtype::bf16, 1, 1);
  EXPECT_NEAR(t.value, 2 * n / (3.35e12 * 0.85) + 5e-6, 1e-12);
  // 4096 tokens of the same GEMM: compute bound at eff(4096) = 0.75 * 4096 / 4160.
  Seconds big = op_time(d, Flops(2 * n * 4096), Bytes(2 * n), Dtype::bf16, 4096, 1);
  EXPECT_NEAR(big.value, 2 * n * 4096 / (989.4e12 * 0.75 * 4096.0 / 4160.0) + 5e-6, 1e-12);
}

TEST(Roofline, V100RunsFp8AtFp16Peak) {
  auto d = preset("v100_32gb", read_device);
  EXPECT_EQ(effective_dtype(d, Dtype::fp8), Dtype::fp16);
  EXPECT_EQ(effective_dtype(d, Dtype::bf16), Dtype::fp16);
  EXPECT_DOUBLE_EQ(op_time(d, Flops(1e12), Bytes(0.0), Dtype::fp8, 0, 0).value,
                   op_time(d, Flops(1e12), Bytes(0.0), Dtype::fp16, 0, 0).value);
  auto pi = preset("raspberry_pi_4b", read_device);
  EXPECT_EQ(effective_dtype(pi, Dtype::int4), Dtype::fp32);
}

TEST(StorageModel, EdgeMoeSwitchBaseExpertOnTheTx2Ssd) {
  // seed notes: a Switch-base FP32 expert (18.9 MB) at 550 MB/s takes ~34 ms.
  auto s = preset("samsung_860_evo", read_storage);
  Seconds t = read_time(s, Bytes(18.9e6), 1);
  EXPECT_NEAR(t.value, 90e-6 + 18.9e6 / 550e6, 1e-12);
  EXPECT_NEAR(t.value, 0.034, 0.001);
}

// One process per catalog (the binary is slow to start); every preset goes through the same
// reader in the HardwareCatalog tests above.
TEST(ShowCommand, EachCatalogShowsWithUnitsAndSource) {
  if (!std::filesystem::exists(MOESIM_BINARY)) GTEST_SKIP() << "moesim binary not built";
  const std::pair<const char*, const char*> catalogs[] = {
      {"device", kDeviceCatalog}, {"link", kLinkCatalog}, {"storage", kStorageCatalog}, {"memory", kMemoryCatalog}};
  for (const auto& [what, dir] : catalogs) {
    auto names = config::preset_names(dir);
    ASSERT_FALSE(names.empty()) << dir;
    for (const auto& name : {names.front(), names.back()}) {
      int rc = -1;
      std::string out = run(std::string("show ") + what + " " + name, &rc);
      EXPECT_EQ(rc, 0) << what << " " << name << ":\n" << out;
      EXPECT_NE(out.find("source"), std::string::npos) << out;
      EXPECT_NE(out.find("/s"), std::string::npos) << out;  // a rate with its unit
    }
  }
  int rc = 0;
  std::string out = run("show device h100_smx", &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("did you mean 'h100_sxm'"), std::string::npos) << out;
  out = run("show device h100_sxm", &rc);
  EXPECT_NE(out.find("3.35 TB/s"), std::string::npos) << out;
}
