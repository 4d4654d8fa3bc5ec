// Every scenario in scenarios/offload runs (at small scale: 2 generated tokens) and gives sane
// metrics; the table it prints is the one docs/offload.md quotes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fmt/format.h>
#include <toml++/toml.h>

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
    auto doc = config::Document::load_file(f);
    const bool hybrid = doc.root()["workload"]["kind"].value_or(std::string()) == "cpu_gpu_hybrid";
    std::vector<std::string> sets{"workload.generate_tokens=2"};
    if (hybrid) sets.push_back("workload.batch=64");  // small scale; hybrid_test.cpp checks the mechanism
    else sets.push_back("workload.calibration_tokens=64");
    auto m = testing::run_in_child([&] { return scenario::load_scenario(f, sets); });
    SCOPED_TRACE(f.filename().string());
    EXPECT_GT(m["tokens_per_s"], 0);
    EXPECT_GT(m["tpot_s"], 0);
    if (hybrid) {
      EXPECT_GT(m["weights_streamed_bytes"], 0);
      EXPECT_GT(m["hrm_tokens_per_s"], 0);
      EXPECT_GT(m["moe_lens_max_tokens_per_s"], 0);
      table += fmt::format("{:<34} {:>10.2f} {:>10.2f} {:>9.2f}   (hybrid: HRM {:.2f} tok/s, MoE-Lens max {:.1f} tok/s, streamed {:.1f} MB)\n",
                           f.stem().string(), 1e3 * m["tpot_s"], 1e3 * std::max(0.0, m["ttft_s"]), m["tokens_per_s"],
                           m["hrm_tokens_per_s"], m["moe_lens_max_tokens_per_s"], m["weights_streamed_bytes"] / 1e6);
      continue;
    }
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
