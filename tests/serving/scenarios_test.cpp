// scenarios/serving: every scenario runs end to end at small scale (2 layers, a few requests) with
// `moesim run`, and writes the serving outputs.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace moesim::serving {
namespace {

namespace fs = std::filesystem;
const fs::path kDir = fs::path(MOESIM_SOURCE_DIR) / "scenarios/serving";

std::vector<fs::path> scenario_files() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(kDir))
    if (e.path().extension() == ".toml") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ServingScenarios, EveryScenarioRunsAtSmallScale) {
  auto files = scenario_files();
  ASSERT_GE(files.size(), 4u);
  const fs::path out = fs::temp_directory_path() / fmt::format("moesim_serving_scen_{}", ::getpid());
  for (const auto& f : files) {
    const std::string cmd = fmt::format("{} run {} --set model.layers=2 --set model.moe.first_dense_layers=0 --set {}=12 "
                                        "--set output.timeline=false --out {} > /dev/null",
                                        MOESIM_BINARY, f.string(), "workload.arrival.requests",
                                        out.string());
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    const auto dir = out / f.stem();
    std::ifstream in(dir / "summary.json");
    auto j = nlohmann::json::parse(in);
    EXPECT_EQ(j["requests_out"].get<double>(), 12) << f;
    EXPECT_GT(j["ttft_p99_s"].get<double>(), 0) << f;
    EXPECT_TRUE(fs::exists(dir / "requests.csv")) << f;
  }
  fs::remove_all(out);
}

}  // namespace
}  // namespace moesim::serving
