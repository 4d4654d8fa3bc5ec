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

double table_eff(double m, double nk) { return 0.05 * std::sqrt(m) * std::pow(nk / 1048576.0, 0.25); }

DeviceSpec table_device() {
  // log eff(m, nk) linear in (log2 m, log2 nk), so the table's interpolation is exact:
  // eff = 0.05 · 2^(0.5·log2 m) · 2^(0.25·log2(nk / 2^20)) = 0.05 · m^0.5 · (nk/2^20)^0.25,
  // on m in {1, 4, 16}, nk in {2^20, 2^22}.
  DeviceSpec d;
  d.name = "table";
  d.kind = "cpu";
  d.peak = {{Dtype::fp32, FlopsPerSecond(100e9)}};
  d.memory_capacity = Bytes(1e9);
  d.memory_bandwidth = BytesPerSecond(1e9);  // slow memory: the roofline would be memory-bound
  for (double nk : {1048576.0, 4194304.0})
    for (int64_t m : {1, 4, 16})
      d.gemm.shapes.push_back({m, nk, table_eff(static_cast<double>(m), nk)});
  return d;
}

}  // namespace

TEST(GemmShapeTable, BilinearInLogSpaceAndHeldAtTheEdges) {
  const DeviceSpec d = table_device();
  EXPECT_NEAR(gemm_table_efficiency(d.gemm, 2, 2097152), table_eff(2, 2097152), 1e-12);
  EXPECT_NEAR(gemm_table_efficiency(d.gemm, 8, 4194304), table_eff(8, 4194304), 1e-12);
  EXPECT_NEAR(gemm_table_efficiency(d.gemm, 1000, 1e9), table_eff(16, 4194304), 1e-12);  // clamped at the corner
  EXPECT_NEAR(gemm_table_efficiency(d.gemm, 0.5, 1), table_eff(1, 1048576), 1e-12);
}

TEST(GemmShapeTable, AlignLevelsInterpolateInLogAlignAndUnknownPitchUsesTheLargest) {
  // Two levels: align 64 B with twice the efficiency of align 1024 B everywhere.
  DeviceSpec d = table_device();
  const auto base = d.gemm.shapes;
  d.gemm.shapes.clear();
  for (auto p : base) {
    p.align = 1024;
    d.gemm.shapes.push_back(p);
    p.align = 64;
    p.eff *= 2;
    d.gemm.shapes.push_back(p);
  }
  EXPECT_EQ(gemm_grid_problem(d.gemm.shapes), "");
  sort_gemm_shapes(d.gemm.shapes);
  const double e = table_eff(4, 2097152);
  EXPECT_NEAR(gemm_table_efficiency(d.gemm, 4, 2097152, 1024), e, 1e-12);
  EXPECT_NEAR(gemm_table_efficiency(d.gemm, 4, 2097152, 8192), e, 1e-12);      // held at the largest level
  EXPECT_NEAR(gemm_table_efficiency(d.gemm, 4, 2097152, 0), e, 1e-12);         // n unknown: largest level
  EXPECT_NEAR(gemm_table_efficiency(d.gemm, 4, 2097152, 64), 2 * e, 1e-12);
  EXPECT_NEAR(gemm_table_efficiency(d.gemm, 4, 2097152, 256), 1.5 * e, 1e-12); // halfway in log2 align
  // The pitch of B decides the level: n = 1040 fp32 rows are 4160 B = 64 x 65.
  EXPECT_EQ(gemm_row_align(1040, 4.0), 64.0);
  EXPECT_EQ(gemm_row_align(1024, 4.0), 4096.0);
  EXPECT_EQ(gemm_row_align(0, 4.0), 0.0);
  const double flops = 2.0 * 4 * 2097152;
  EXPECT_NEAR(op_time(d, Flops(flops), Bytes(0), Dtype::fp32, 4, 1, 1040).value,
              op_time(d, Flops(flops), Bytes(0), Dtype::fp32, 4, 1, 1024).value / 2, 1e-15);
}

TEST(GemmShapeTable, AlignGivenOnSomePointsOnlyIsAGridProblem) {
  DeviceSpec d = table_device();
  d.gemm.shapes.front().align = 64;
  EXPECT_NE(gemm_grid_problem(d.gemm.shapes), "");
}

TEST(GemmShapeTable, OpTimeUsesTheTableWithoutRooflineOrLaunchTerms) {
  DeviceSpec d = table_device();
  d.kernel_launch = Seconds(1e-3);
  // An expert op of 3 GEMMs (kernels = 3) with m = 4, nk = 2^21 each.
  const double flops = 3 * 2.0 * 4 * 2097152;
  const double eff = table_eff(4, 2097152);
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
  const std::string aligned = head + "[[gemm.shapes]]\nm = 1\nnk = 100\neff = 0.1\nalign = \"64B\"\n"
                              "[[gemm.shapes]]\nm = 1\nnk = 100\neff = 0.05\nalign = \"1KiB\"\n";
  const auto levels = read_text(aligned, read_device).gemm.shapes;
  ASSERT_EQ(levels.size(), 2u);
  EXPECT_EQ(levels.front().align, 64.0);  // sorted by align
  EXPECT_EQ(levels.back().align, 1024.0);
  EXPECT_NE(error_of(head + "[[gemm.shapes]]\nm = 1\nnk = 100\neff = 0.1\nalign = 64\n", read_device).find("align"),
            std::string::npos);  // a bare number has no unit
  const std::string bad_eff = head + "[[gemm.shapes]]\nm = 1\nnk = 100\neff = 1.5\n";
  EXPECT_NE(error_of(bad_eff, read_device).find("eff"), std::string::npos);
}

TEST(GemmTile, RemainderRowsCostTheirPerWeightTimeOnTopOfTheTileAlignedTable) {
  DeviceSpec d = table_device();  // table on m in {1, 4, 16}
  d.gemm.tile_rows = 4;
  d.gemm.remainder = {{1, Seconds(1e-9)}, {3, Seconds(3e-9)}};
  ASSERT_EQ(gemm_tile_problem(d.gemm), "");
  const double nk = 2097152;
  auto t = [&](int64_t m, int32_t kernels) {
    return op_time(d, Flops(kernels * 2.0 * static_cast<double>(m) * nk), Bytes(0), Dtype::fp32, m, kernels).value;
  };
  auto table = [&](double m) { return 2.0 * m * nk / (100e9 * table_eff(m, nk)); };
  EXPECT_NEAR(t(7, 1), table(4) + 3e-9 * nk, 1e-12);            // 7 = 4 + 3: the table at 4 rows + rho(3)
  EXPECT_NEAR(t(7, 3), 3 * (table(4) + 3e-9 * nk), 1e-12);      // each of the op's kernels pays it
  EXPECT_NEAR(t(6, 1), table(4) + 2e-9 * nk, 1e-12);            // rho(2): linear between rows 1 and 3
  EXPECT_NEAR(t(13, 1), table(12) + 1e-9 * nk, 1e-12);
  EXPECT_NEAR(t(8, 1), table(8), 1e-12);                        // a multiple of the tile: the table alone
  EXPECT_NEAR(t(3, 1), table(3), 1e-12);                        // m <= tile_rows: the table alone
  // t(m) is not monotone in m: 7 rows can cost more than 8.
  d.gemm.remainder = {{3, Seconds(10e-9)}};
  EXPECT_GT(t(7, 1), t(8, 1));
  EXPECT_NEAR(gemm_remainder_per_weight(d.gemm, 1).value, 10e-9 / 3, 1e-20);  // from (0, 0) up to the first
  d.gemm.tile_rows = 8;
  EXPECT_NEAR(gemm_remainder_per_weight(d.gemm, 6).value, 10e-9, 1e-20);      // held after the last
}

TEST(GemmTile, TileProblemsAreReaderErrorsNamingTheKey) {
  const std::string head = "kind = \"cpu\"\nmemory_capacity = \"1GiB\"\nmemory_bandwidth = \"1GBps\"\n[peak]\nfp32 = \"1GFlops\"\n";
  const std::string shapes = "[[gemm.shapes]]\nm = 1\nnk = 100\neff = 0.1\n[[gemm.shapes]]\nm = 16\nnk = 100\neff = 0.2\n";
  auto with = [&](const std::string& gemm, const std::string& rem) { return head + "[gemm]\n" + gemm + shapes + rem; };
  const std::string rem = "[[gemm.remainder]]\nrows = 4\nper_weight = \"0.3ns\"\n[[gemm.remainder]]\nrows = 2\nper_weight = \"0.1ns\"\n";
  const auto g = read_text(with("tile_rows = 16\n", rem), read_device).gemm;
  EXPECT_EQ(g.tile_rows, 16);
  ASSERT_EQ(g.remainder.size(), 2u);
  EXPECT_EQ(g.remainder.front().rows, 2);  // sorted by rows
  EXPECT_NEAR(g.remainder.back().per_weight.value, 0.3e-9, 1e-21);
  EXPECT_NE(error_of(with("tile_rows = 1\n", rem), read_device).find("tile_rows"), std::string::npos);
  EXPECT_NE(error_of(with("tile_rows = 4\n", rem), read_device).find("outside [1, tile_rows = 4)"), std::string::npos);
  EXPECT_NE(error_of(with("", rem), read_device).find("without tile_rows"), std::string::npos);
  EXPECT_NE(error_of(with("tile_rows = 16\n", ""), read_device).find("needs [[gemm.remainder]]"), std::string::npos);
  EXPECT_NE(error_of(with("tile_rows = 16\n", rem + "[[gemm.remainder]]\nrows = 2\nper_weight = \"1ns\"\n"), read_device)
                .find("listed twice"), std::string::npos);
  EXPECT_NE(error_of(with("tile_rows = 16\n", "[[gemm.remainder]]\nrows = 2\nper_weight = 0.1\n"), read_device)
                .find("per_weight"), std::string::npos);  // a bare number has no unit
  EXPECT_NE(error_of(with("tile_rows = 16\n", "[[gemm.remainder]]\nrows = 2\nper_weight = \"-1ns\"\n"), read_device)
                .find("per_weight"), std::string::npos);
}
