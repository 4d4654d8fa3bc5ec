#include "validate/common/headline.hpp"

#include <gtest/gtest.h>

#include <map>

namespace mb = moesim::bench;

namespace {
std::map<std::string, double> by_name(const std::vector<mb::Headline>& h) {
  std::map<std::string, double> m;
  for (const auto& x : h) m[x.name] = x.value;
  return m;
}
mb::Record gemm(int64_t m, double gflops, const char* pattern = "expert_ffn") {
  mb::Record r{.kernel = "gemm", .device = "cpu", .dtype = "fp32", .m = m, .n = 3072, .k = 768, .threads = 2};
  r.pattern = pattern;
  r.flops_per_s = gflops * 1e9;
  return r;
}
}  // namespace

TEST(BenchHeadline, GemmPeakAndSmallMEfficiency) {
  const auto h = by_name(mb::headlines({gemm(1, 2), gemm(8, 10), gemm(64, 40), gemm(2048, 80, "square")}));
  EXPECT_DOUBLE_EQ(h.at("gemm.cpu.fp32.threads2.peak"), 80);
  EXPECT_DOUBLE_EQ(h.at("gemm.cpu.fp32.threads2.efficiency_m1"), 2.0 / 80);
  EXPECT_DOUBLE_EQ(h.at("gemm.cpu.fp32.threads2.efficiency_m64"), 0.5);
  EXPECT_EQ(h.count("gemm.cpu.fp32.threads2.efficiency_m512"), 0u);
}

TEST(BenchHeadline, MemoryStorageAndAlltoall) {
  std::vector<mb::Record> rs;
  for (int64_t size : {1 << 20, 1 << 27}) {
    mb::Record r{.kernel = "stream_triad", .device = "cpu", .size_bytes = size, .threads = 1};
    r.bytes_per_s = size == (1 << 27) ? 10e9 : 50e9;  // the DRAM number is the largest array's
    rs.push_back(r);
  }
  mb::Record rd{.kernel = "storage_read", .size_bytes = 65536, .pattern = "rand", .mode = "direct", .queue_depth = 1};
  rd.median_s = 150e-6;
  rd.bytes_per_s = 65536 / 150e-6;
  rs.push_back(rd);
  for (int64_t size : {1024, 1 << 20}) {
    mb::Record a{.kernel = "alltoall", .size_bytes = size, .ranks = 4, .transport = "sm"};
    a.median_s = size == 1024 ? 5e-6 : 1e-3;
    a.bytes_per_s = 3.0 * size / a.median_s;
    rs.push_back(a);
  }
  const auto h = by_name(mb::headlines(rs));
  EXPECT_DOUBLE_EQ(h.at("stream_triad.threads1.dram"), 10);
  EXPECT_NEAR(h.at("storage.direct.rand_qd1_smallest_latency"), 150, 1e-9);
  EXPECT_NEAR(h.at("alltoall.sm.ranks4.latency_smallest"), 5, 1e-9);
  EXPECT_NEAR(h.at("alltoall.sm.ranks4.bandwidth_best"), 3.0 * (1 << 20) / 1e-3 / 1e9, 1e-9);
  EXPECT_NE(mb::format_headlines(mb::headlines(rs)).find("GB/s"), std::string::npos);
}
