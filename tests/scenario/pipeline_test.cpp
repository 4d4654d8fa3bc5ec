// The whole pipeline in-process (one SimGrid engine per test process): scenario -> graphs ->
// engine -> timeline -> reports, on the quickstart at small scale.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "sim/report/writers.hpp"

namespace moesim::report {
namespace {

namespace fs = std::filesystem;
const fs::path kExamples = fs::path(MOESIM_SOURCE_DIR) / "scenarios/examples";

TEST(Pipeline, QuickstartRunsAndWritesEveryOutput) {
  auto s = scenario::load_scenario(kExamples / "quickstart.toml",
                                   {"workload.batch=16", "workload.generate_tokens=2", "model.layers=4"});
  auto r = run_scenario(*s, read_engine(*s));
  ASSERT_EQ(r.timeline.steps.size(), 2u);
  auto sum = summarize(*s, r);
  EXPECT_GT(sum.step_mean, 0);
  EXPECT_GT(sum.tokens_per_s, 0);
  EXPECT_GT(sum.tpot, 0);
  EXPECT_GT(sum.a2a_bytes_per_step, 0);
  EXPECT_GT(sum.a2a_share, 0);
  EXPECT_LT(sum.a2a_share, 1);
  EXPECT_EQ(sum.layers.size(), 4u);
  EXPECT_GT(sum.memory_peak_bytes, 0);
  for (const auto& d : sum.device_metrics) {
    EXPECT_GT(d.compute_utilization, 0);
    EXPECT_LE(d.compute_utilization, 1.0 + 1e-9);
  }
  fs::path dir = fs::temp_directory_path() / fmt::format("moesim_pipeline_{}", ::getpid());
  auto out = write_outputs(*s, r, sum, dir);
  for (auto f : {"summary.json", "steps.csv", "layers.csv", "memory.csv", "timeline.json", "resolved.toml"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  // The timeline parses as Chrome trace JSON and holds events for every device.
  std::ifstream in(out / "timeline.json");
  auto j = nlohmann::json::parse(in);
  std::set<int> pids;
  for (const auto& e : j["traceEvents"])
    if (e["ph"] == "X") {
      pids.insert(e["pid"].get<int>());
      EXPECT_GE(e["dur"].get<double>(), 0);
    }
  EXPECT_EQ(pids.size(), 8u);
  // No temporary sibling left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace moesim::report
