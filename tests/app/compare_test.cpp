// `moesim compare` appends the workload's run metrics (IWorkload::run_metrics) as columns of the
// table and the CSV when every variant reports them (offload: cache hit rate, prefetch accuracy,
// bytes read, I/O stall).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "tests/support/cli.hpp"

namespace {

namespace fs = std::filesystem;

std::string run(const std::string& args, int& code) {
  auto r = moesim::test_support::run_moesim(args);
  code = r.code;
  return r.output;
}

TEST(CompareColumns, OffloadVariantsPrintTheirRunMetrics) {
  fs::path dir = fs::temp_directory_path() / ("moesim_compare_cols_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::path scenario = fs::path(MOESIM_SOURCE_DIR) / "scenarios/offload/edgemoe_tx2_ssd_switch_base_8.toml";
  int code = -1;
  std::string out = run("compare '" + scenario.string() + "' --set workload.generate_tokens=2 --csv '" +
                            (dir / "c.csv").string() + "' --out '" + dir.string() + "'",
                        code);
  ASSERT_EQ(code, 0) << out;
  for (const char* col : {"cache_hit_rate", "prefetch_accuracy", "storage_bytes_read", "io_stall_s"})
    EXPECT_NE(out.find(col), std::string::npos) << col << " missing from the table:\n" << out;
  std::ifstream f(dir / "c.csv");
  std::string header, line;
  std::getline(f, header);
  EXPECT_NE(header.find(",cache_hit_rate"), std::string::npos) << header;
  EXPECT_NE(header.find(",prefetch_accuracy"), std::string::npos) << header;
  // Every row has as many fields as the header; the all-in-memory row reads nothing.
  auto fields = [](const std::string& s) { return std::count(s.begin(), s.end(), ',') + 1; };
  int rows = 0;
  std::map<std::string, double> tpot;  // variant -> tpot_s
  auto column = [](const std::string& s, size_t k) {
    std::stringstream ss(s);
    std::string cell;
    for (size_t i = 0; i <= k && std::getline(ss, cell, ','); ++i) {}
    return cell;
  };
  size_t tpot_col = 0;
  for (std::stringstream hs(header); std::getline(hs, line, ',') && line != "tpot_s";) ++tpot_col;
  while (std::getline(f, line)) {
    ++rows;
    EXPECT_EQ(fields(line), fields(header)) << line;
    tpot[column(line, 0)] = std::stod(column(line, tpot_col));
  }
  // The eager variant: every decode step's 917 Switch-Base operators (docs/models.md) pay 69 us.
  ASSERT_TRUE(tpot.count("all_in_memory") && tpot.count("all_in_memory_eager"));
  EXPECT_NEAR(tpot["all_in_memory_eager"] - tpot["all_in_memory"], 917 * 69e-6, 1e-6);
  // One row per [[variants]] table of the scenario.
  std::ifstream sc(scenario);
  int variants = 0;
  for (std::string l; std::getline(sc, l);) variants += l.rfind("[[variants]]", 0) == 0;
  EXPECT_GE(variants, 2);
  EXPECT_EQ(rows, variants);
  fs::remove_all(dir);
}

TEST(CompareColumns, WorkloadsWithoutRunMetricsKeepTheTable) {
  fs::path dir = fs::temp_directory_path() / ("moesim_compare_plain_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::path any = fs::path(MOESIM_SOURCE_DIR) / "scenarios/examples/quickstart.toml";
  int code = -1;
  std::string out = run("compare '" + any.string() + "' --set workload.batch=16 --set workload.generate_tokens=2 --set model.layers=4 --csv '" +
                            (dir / "c.csv").string() + "' --out '" + dir.string() + "'",
                        code);
  ASSERT_EQ(code, 0) << out;
  std::ifstream f(dir / "c.csv");
  std::string header;
  std::getline(f, header);
  // The last column is the last memory category (no workload metrics), no lumped "other" category.
  EXPECT_EQ(header.substr(header.size() - std::string("peak_expert_cache_bytes").size()), "peak_expert_cache_bytes") << header;
  EXPECT_EQ(header.find("peak_other_bytes"), std::string::npos) << header;
  fs::remove_all(dir);
}

}  // namespace
