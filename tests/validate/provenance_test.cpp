#include "validate/common/provenance.hpp"

#include <gtest/gtest.h>

namespace mb = moesim::bench;

TEST(BenchProvenance, ParsesProcAndOsFiles) {
  const std::string cpuinfo =
      "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13 64-Core Processor\n"
      "cpu MHz\t\t: 2445.428\n\nprocessor\t: 1\nmodel name\t: other\n";
  EXPECT_EQ(mb::cpu_model_from_cpuinfo(cpuinfo), "AMD EPYC 7B13 64-Core Processor");
  EXPECT_EQ(mb::cpu_mhz_from_cpuinfo(cpuinfo), "2445.428");
  EXPECT_EQ(mb::cpu_model_from_cpuinfo("processor : 0\n"), "unknown");
  EXPECT_EQ(mb::os_name_from_os_release("NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"),
            "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(mb::mem_total_bytes_from_meminfo("MemTotal:       24682416 kB\nMemFree: 1 kB\n"), 24682416LL * 1024);
}

TEST(BenchProvenance, Iso8601) {
  EXPECT_EQ(mb::iso8601_utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(mb::iso8601_utc(1700000000), "2023-11-14T22:13:20Z");
}

TEST(BenchProvenance, BlockRoundTripsAndFlattensNewlines) {
  mb::Provenance p;
  p.set("host", "h");
  p.set("blas", "OpenBLAS 0.3.21\nZen");
  p.set("host", "h2");  // replaces, keeps position
  const std::string text = mb::format_provenance_block(p);
  EXPECT_EQ(text, "# host: h2\n# blas: OpenBLAS 0.3.21 Zen\n");
  const auto back = mb::parse_provenance_block(text);
  ASSERT_EQ(back.fields.size(), 2u);
  EXPECT_EQ(back.get("blas").value_or(""), "OpenBLAS 0.3.21 Zen");
  EXPECT_FALSE(back.get("absent").has_value());
}

TEST(BenchProvenance, CollectsMachineFacts) {
  char arg0[] = "mb_test";
  char arg1[] = "--quick";
  char* argv[] = {arg0, arg1};
  const auto p = mb::collect_provenance("mb_test", 2, argv);
  EXPECT_EQ(p.fields.front().first, "schema");
  for (const char* key : {"host", "cpu_model", "kernel", "date_utc", "cpu_logical_cores", "loadavg_start"})
    EXPECT_FALSE(p.get(key).value_or("").empty()) << key;
  EXPECT_EQ(p.get("command").value_or(""), "mb_test --quick");
  EXPECT_EQ(p.get("date_utc")->back(), 'Z');
}
