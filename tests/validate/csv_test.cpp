#include "validate/common/csv.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "sim/core/errors.hpp"
#include "validate/common/stats.hpp"

namespace mb = moesim::bench;

TEST(BenchCsv, EscapesAndSplitsRoundTrip) {
  const std::vector<std::string> cells{"plain", "a,b", "say \"hi\"", "", "x"};
  const std::string line = mb::csv_line(cells);
  EXPECT_EQ(line, "plain,\"a,b\",\"say \"\"hi\"\"\",,x");
  EXPECT_EQ(mb::csv_split(line), cells);
  EXPECT_THROW(mb::csv_split("a,\"open"), moesim::IoError);
}

TEST(BenchCsv, RecordRoundTripsThroughWriterAndReader) {
  mb::Provenance p;
  p.set("host", "testhost");
  p.set("cpu_model", "Some CPU, 8 cores");
  mb::Record r{.kernel = "gemm", .device = "cpu", .dtype = "fp32", .m = 16, .n = 3072, .k = 768, .threads = 2};
  r.pattern = "expert_ffn";
  r.note = "tokens=1,2";  // a comma inside a cell
  r.flops = 2.0 * 16 * 3072 * 768;
  r.traffic_bytes = 1e6;
  mb::set_timing(r, mb::summarize({0.002, 0.001, 0.003}));
  std::stringstream ss;
  {
    mb::ResultWriter w(ss, p);
    w.write(r);
  }
  const auto f = mb::read_results(ss);
  ASSERT_EQ(f.records.size(), 1u);
  const auto& back = f.records[0];
  EXPECT_EQ(back.kernel, "gemm");
  EXPECT_EQ(back.m, 16);
  EXPECT_EQ(back.n, 3072);
  EXPECT_EQ(back.groups, 0);  // not applicable: empty cell
  EXPECT_EQ(back.note, "tokens=1,2");
  EXPECT_NEAR(back.median_s, 0.002, 1e-12);
  EXPECT_NEAR(back.flops_per_s, r.flops / 0.002, r.flops / 0.002 * 1e-5);
  EXPECT_EQ(back.reps, 3);
  EXPECT_EQ(f.provenance.get("host").value_or(""), "testhost");
  EXPECT_EQ(f.provenance.get("cpu_model").value_or(""), "Some CPU, 8 cores");
}

TEST(BenchCsv, HeaderStartsWithProvenanceBlockThenColumns) {
  mb::Provenance p;
  p.set("schema", mb::kResultSchema);
  std::stringstream ss;
  mb::ResultWriter w(ss, p);
  std::string first, second;
  std::getline(ss, first);
  std::getline(ss, second);
  EXPECT_EQ(first, std::string("# schema: ") + mb::kResultSchema);
  EXPECT_EQ(second.substr(0, 14), "kernel,device,");
  EXPECT_NE(second.find("median_s"), std::string::npos);
  EXPECT_NE(second.find("bytes_per_s"), std::string::npos);
}

TEST(BenchCsv, ReaderIgnoresUnknownColumnsAndRejectsBadNumbers) {
  std::stringstream ok("kernel,extra,m\ngemm,zzz,8\n");
  const auto f = mb::read_results(ok);
  ASSERT_EQ(f.records.size(), 1u);
  EXPECT_EQ(f.records[0].m, 8);
  std::stringstream bad("kernel,m\ngemm,eight\n");
  EXPECT_THROW(mb::read_results(bad), moesim::IoError);
}
