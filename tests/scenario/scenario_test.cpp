// The scenario reader: every example loads; errors name file:line:col and suggest.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/scenario/scenario.hpp"

namespace moesim::scenario {
namespace {

namespace fs = std::filesystem;
const fs::path kExamples = fs::path(MOESIM_SOURCE_DIR) / "scenarios/examples";

std::string slurp_text(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string error_of(const fs::path& p, const std::vector<std::string>& sets) {
  try {
    load_scenario(p, sets);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(Scenario, EveryExampleLoads) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(kExamples)) {
    if (e.path().extension() != ".toml") continue;
    if (slurp_text(e.path()).find("shared/data") != std::string::npos &&
        !fs::exists(fs::path(MOESIM_SOURCE_DIR) / "../shared/data/routing/olmoe-1b-7b_layer0_vllm.jsonl"))
      continue;
    SCOPED_TRACE(e.path().string());
    auto s = load_scenario(e.path());
    EXPECT_FALSE(s->name.empty());
    EXPECT_GT(s->workload->steps(), 0);
    EXPECT_GT(s->topology->device_count(), 0);
    ++n;
  }
  EXPECT_GE(n, 6);
}

TEST(Scenario, ReadsTheQuickstart) {
  auto s = load_scenario(kExamples / "quickstart.toml", {"workload.batch=8"});
  EXPECT_EQ(s->name, "quickstart");
  EXPECT_EQ(s->seed, 1u);
  EXPECT_EQ(s->model.experts, 8);
  EXPECT_EQ(s->topology->device_count(), 8);
  EXPECT_EQ(s->sharding->ep(), 8);
  EXPECT_TRUE(s->workload->is_inference());
  EXPECT_NE(s->doc.dump().find("batch = 8"), std::string::npos);  // resolved.toml carries --set
  auto cap = s->device_capacity();
  ASSERT_EQ(cap.size(), 8u);
  EXPECT_GT(cap[0], 70.0 * (1ull << 30));
}

TEST(Scenario, TypoInAKeyGivesFileLineColAndSuggestion) {
  auto doc = config::Document::parse(R"(name = "x"
[model]
preset = "mixtral_8x7b"
[cluster]
nodes = 1
devices_per_node = 2
device = { preset = "h100_sxm" }
[cluster.host]
link = { preset = "pcie5_x16" }
[cluster.intra_node]
kind = "nvswitch"
link = { preset = "nvswitch4" }
[routing]
kind = "uniform"
[workload]
kind = "inference"
bacth = 4
)", "typo.toml");
  try {
    read_scenario(std::move(doc));
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("typo.toml:17:"), std::string::npos) << m;
    EXPECT_NE(m.find("batch"), std::string::npos) << m;
  }
}

TEST(Scenario, UnknownTopLevelTableAndBadValuesAreErrors) {
  auto base = kExamples / "quickstart.toml";
  EXPECT_NE(error_of(base, {"wrkload.batch=3"}).find("workload"), std::string::npos);
  EXPECT_NE(error_of(base, {"workload.batch=0"}).find("workload.batch"), std::string::npos);
  EXPECT_NE(error_of(base, {"parallel.ep=3"}).find("parallel.ep"), std::string::npos);
  EXPECT_NE(error_of(base, {"workload.phases=\"decod\""}).find("decode"), std::string::npos);
  EXPECT_NE(error_of(base, {"name=\"a/b\""}).find("name"), std::string::npos);
}

TEST(Scenario, MissingFileIsAnIoError) {
  EXPECT_THROW(load_scenario(kExamples / "no_such_scenario.toml"), IoError);
}

}  // namespace
}  // namespace moesim::scenario
