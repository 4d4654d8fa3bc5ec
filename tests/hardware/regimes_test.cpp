// Size regimes of storage and links, and the GEMM shape table: read from TOML (with errors that
// name the key) and evaluated against hand computation.
#include <gtest/gtest.h>

#include <cmath>

#include "hardware/compute_model.hpp"
#include "hardware/readers.hpp"
#include "hardware/storage_model.hpp"

using namespace moesim;
using namespace moesim::hw;

namespace {

template <class Reader>
auto read_text(const std::string& text, Reader reader) {
  auto doc = config::Document::parse(text, "preset.toml");
  return reader(config::Table::root(doc));
}

template <class Reader>
std::string error_of(const std::string& text, Reader reader) {
  try {
    read_text(text, reader);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError thrown";
  return "";
}

const char* kStorage = R"(seq_read_bandwidth = "2GBps"
write_bandwidth = "1GBps"
read_latency = "50us"
[[regimes]]
from = "0B"
latency = "40us"
bandwidth = "1GBps"
[[regimes]]
from = "1MiB"
latency = "300us"
bandwidth = "2.5GBps"
)";

}  // namespace

TEST(StorageRegimes, RequestSizePicksLatencyAndBandwidth) {
  const StorageSpec s = read_text(kStorage, read_storage);
  ASSERT_EQ(s.regimes.size(), 2u);
  // 64 KiB: the small-request regime. 4 MiB: the large one.
  EXPECT_NEAR(read_time(s, Bytes(65536)).value, 40e-6 + 65536 / 1e9, 1e-15);
  EXPECT_NEAR(read_time(s, Bytes(4194304)).value, 300e-6 + 4194304 / 2.5e9, 1e-15);
  // 8 MiB as 4 requests of 2 MiB: 4 latencies of the large regime.
  EXPECT_NEAR(read_time(s, Bytes(8388608), 4).value, 4 * 300e-6 + 8388608 / 2.5e9, 1e-15);
  // Exactly at a boundary: the upper regime.
  EXPECT_DOUBLE_EQ(request_latency(s, Bytes(1048576)).value, 300e-6);
}

TEST(StorageRegimes, BadRegimesAreErrorsNamingTheKey) {
  std::string bad = kStorage;
  bad.replace(bad.find("from = \"1MiB\""), 13, "from = \"0B\"");
  EXPECT_NE(error_of(bad, read_storage).find("regimes are listed by increasing size"), std::string::npos);
  std::string first = kStorage;
  first.replace(first.find("from = \"0B\""), 11, "from = \"4KiB\"");
  EXPECT_NE(error_of(first, read_storage).find("first regime must start at 0B"), std::string::npos);
  std::string unknown = kStorage;
  unknown += "latncy = \"1us\"\n";
  EXPECT_NE(error_of(unknown, read_storage).find("latncy"), std::string::npos);
}

TEST(LinkRegimes, MessageSizePicksOverheadAndEfficiency) {
  const LinkSpec l = read_text(R"(bandwidth = "10GBps"
latency = "0us"
message_overhead = "1us"
[[regimes]]
from = "0B"
message_overhead = "0.5us"
[[regimes]]
from = "4KiB"
message_overhead = "9us"
efficiency = 0.4
)", read_link);
  ASSERT_EQ(l.regimes.size(), 2u);
  EXPECT_DOUBLE_EQ(message_overhead(l, Bytes(1024)).value, 0.5e-6);
  EXPECT_DOUBLE_EQ(message_efficiency(l, Bytes(1024)), 1.0);
  EXPECT_DOUBLE_EQ(message_overhead(l, Bytes(8192)).value, 9e-6);
  EXPECT_DOUBLE_EQ(message_efficiency(l, Bytes(8192)), 0.4);
  LinkSpec plain;
  plain.message_overhead = Seconds(2e-6);
  EXPECT_DOUBLE_EQ(message_overhead(plain, Bytes(1e9)).value, 2e-6);  // no regimes: the single o
}

namespace {

DeviceSpec table_device() {
  // eff(m, nk) linear in (log2 m, log2 nk), so bilinear interpolation is exact:
  // eff = 0.05 + 0.05·log2(m) + 0.02·log2(nk / 2^20), on m in {1, 4, 16}, nk in {2^20, 2^22}.
  DeviceSpec d;
  d.name = "table";
  d.kind = "cpu";
  d.peak = {{Dtype::fp32, FlopsPerSecond(100e9)}};
  d.memory_capacity = Bytes(1e9);
  d.memory_bandwidth = BytesPerSecond(1e9);  // slow memory: the roofline would be memory-bound
  for (double nk : {1048576.0, 4194304.0})
    for (int64_t m : {1, 4, 16})
      d.gemm.shapes.push_back({m, nk, 0.05 + 0.05 * std::log2(m) + 0.02 * std::log2(nk / 1048576.0)});
  return d;
}

}  // namespace

TEST(GemmShapeTable, BilinearInLogSpaceAndHeldAtTheEdges) {
  const DeviceSpec d = table_device();
  EXPECT_NEAR(gemm_table_efficiency(d.gemm, 2, 2097152), 0.05 + 0.05 + 0.02, 1e-12);
  EXPECT_NEAR(gemm_table_efficiency(d.gemm, 8, 4194304), 0.05 + 0.15 + 0.04, 1e-12);
  EXPECT_NEAR(gemm_table_efficiency(d.gemm, 1000, 1e9), 0.05 + 0.20 + 0.04, 1e-12);  // clamped at the corner
  EXPECT_NEAR(gemm_table_efficiency(d.gemm, 0.5, 1), 0.05, 1e-12);
}

TEST(GemmShapeTable, OpTimeUsesTheTableWithoutRooflineOrLaunchTerms) {
  DeviceSpec d = table_device();
  d.kernel_launch = Seconds(1e-3);
  // An expert op of 3 GEMMs (kernels = 3) with m = 4, nk = 2^21 each.
  const double flops = 3 * 2.0 * 4 * 2097152;
  const double eff = 0.05 + 0.10 + 0.02;
  EXPECT_NEAR(op_time(d, Flops(flops), Bytes(1e12), Dtype::fp32, 4, 3).value, flops / (100e9 * eff), 1e-15);
  // Not a GEMM (m = 0): the roofline as before, memory-bound here.
  EXPECT_NEAR(op_time(d, Flops(1e6), Bytes(1e6), Dtype::fp32, 0, 1).value, 1e6 / (1e9 * d.memory_efficiency) + 1e-3, 1e-12);
}

TEST(GemmShapeTable, ReaderChecksTheGridIsFull) {
  const std::string head = "kind = \"cpu\"\nmemory_capacity = \"1GiB\"\nmemory_bandwidth = \"1GBps\"\n[peak]\nfp32 = \"1GFlops\"\n";
  const std::string full = head + "[[gemm.shapes]]\nm = 1\nnk = 100\neff = 0.1\n[[gemm.shapes]]\nm = 2\nnk = 100\neff = 0.2\n";
  EXPECT_EQ(read_text(full, read_device).gemm.shapes.size(), 2u);
  const std::string holey = full + "[[gemm.shapes]]\nm = 1\nnk = 400\neff = 0.3\n";
  EXPECT_NE(error_of(holey, read_device).find("full grid"), std::string::npos);
  const std::string bad_eff = head + "[[gemm.shapes]]\nm = 1\nnk = 100\neff = 1.5\n";
  EXPECT_NE(error_of(bad_eff, read_device).find("eff"), std::string::npos);
}
