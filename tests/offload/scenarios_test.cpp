// Every scenario in scenarios/offload runs (at small scale: 2 generated tokens) and gives sane
// metrics; the table it prints is the one docs/offload.md quotes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fmt/format.h>

#include "tests/offload/run_child.hpp"

namespace moesim::offload {
namespace {

TEST(OffloadScenarios, EveryScenarioRunsAtSmallScale) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(MOESIM_SOURCE_DIR) / "scenarios" / "offload";
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".toml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 5u);
  std::string table = fmt::format("{:<34} {:>10} {:>10} {:>9} {:>8} {:>8} {:>11} {:>9}\n", "scenario", "TPOT_ms",
                                  "TTFT_ms", "tok/s", "hit", "pf_acc", "read_MB", "stall_ms");
  for (const auto& f : files) {
    auto m = testing::run_in_child([&] {
      return scenario::load_scenario(f, {"workload.generate_tokens=2", "workload.calibration_tokens=64"});
    });
    SCOPED_TRACE(f.filename().string());
    EXPECT_GT(m["tokens_per_s"], 0);
    EXPECT_GT(m["tpot_s"], 0);
    EXPECT_GE(m["cache_hit_rate"], 0);
    EXPECT_LE(m["cache_hit_rate"], 1);
    EXPECT_GT(m["storage_bytes_read"] + m["host_bytes_copied"], 0);
    table += fmt::format("{:<34} {:>10.2f} {:>10.2f} {:>9.2f} {:>8.3f} {:>8.3f} {:>11.1f} {:>9.2f}\n",
                         f.stem().string(), 1e3 * m["tpot_s"], 1e3 * std::max(0.0, m["ttft_s"]), m["tokens_per_s"],
                         m["cache_hit_rate"], m["prefetch_accuracy"],
                         (m["storage_bytes_read"] + m["host_bytes_copied"]) / 1e6, 1e3 * m["io_stall_s"]);
  }
  std::cout << table;
}

}  // namespace
}  // namespace moesim::offload
