// scenarios/sharding: every variant of every scenario loads and builds valid training graphs at
// small scale (no SimGrid), and `moesim compare` runs one of them end to end (forked children).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <toml++/toml.h>

#include "sim/core/errors.hpp"
#include "sim/scenario/scenario.hpp"

namespace moesim::sharding {
namespace {

namespace fs = std::filesystem;
const fs::path kDir = fs::path(MOESIM_SOURCE_DIR) / "scenarios/sharding";
// first_dense_layers = 0: models whose MoE layers sit on top of dense ones (PanGu-Sigma) keep one.
const std::vector<std::string> kSmallTraining = {"model.layers=2", "model.moe.first_dense_layers=0", "workload.steps=3",
                                                 "workload.seq_len=64", "workload.micro_batch_size=1"};
const std::vector<std::string> kSmallInference = {"model.layers=2", "model.moe.first_dense_layers=0", "workload.batch=4",
                                                  "workload.prompt_tokens=16", "workload.generate_tokens=2"};

struct Variant {
  std::string name;
  std::vector<std::string> sets;
};

std::vector<Variant> variants_of(const fs::path& file) {
  auto doc = config::Document::load_file(file);
  std::vector<Variant> out;
  for (const auto& t : config::Table::root(doc).tables("variants")) out.push_back({t.string("name"), t.strings_or("set", {})});
  return out;
}

std::vector<fs::path> scenario_files() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(kDir))
    if (e.path().extension() == ".toml") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ShardingScenarios, EveryVariantBuildsValidGraphsAtSmallScale) {
  auto files = scenario_files();
  ASSERT_GE(files.size(), 4u);
  for (const auto& f : files) {
    auto vars = variants_of(f);
    EXPECT_GE(vars.size(), 5u) << f;
    std::map<std::string, double> a2a;
    for (const auto& v : vars) {
      auto doc = config::Document::load_file(f);
      doc.root().erase("variants");
      doc.root().erase("compare");
      bool training = doc.root()["workload"]["kind"].value_or(std::string()) == "training";
      for (const auto& s : training ? kSmallTraining : kSmallInference) doc.apply_set(s);
      for (const auto& s : v.sets) doc.apply_set(s);
      std::unique_ptr<scenario::Scenario> sc;
      ASSERT_NO_THROW(sc = scenario::read_scenario(std::move(doc))) << f << " variant " << v.name;
      double bytes = 0;
      for (int64_t step = 0; step < sc->workload->steps(); ++step) {
        auto built = sc->workload->build(step);
        EXPECT_NO_THROW(built.graph.validate()) << f << " " << v.name << " step " << step;
        if (step > 0) bytes += built.info.a2a_bytes;
      }
      a2a[v.name] = bytes;
    }
    if (!a2a.contains("fssdp")) continue;
    // FSDP keeps every token local; FSSDP's materialized hot experts cut All-to-All bytes.
    EXPECT_EQ(a2a["fsdp"], 0) << f;
    EXPECT_LT(a2a["fssdp"], a2a["ep"]) << f;
  }
}

TEST(ShardingScenarios, APlainRunReadsTheBaseScenarioDespiteItsVariants) {
  for (const auto& f : scenario_files()) {
    auto sc = scenario::load_scenario(f, {"model.layers=2", "model.moe.first_dense_layers=0"});
    EXPECT_EQ(sc->context.sharding->materialization().sharding_tasks, false) << f << ": the base is EP";
  }
  auto doc = config::Document::parse("[[variants]]\nname = \"x\"\nsett = [\"a=1\"]\n", "v.toml");
  auto v = config::Table::root(doc).tables("variants").at(0);
  EXPECT_EQ(v.string("name"), "x");
  EXPECT_THROW(v.finish(), ConfigError) << "a misspelt variant key is an error";
}

TEST(ShardingScenarios, CompareRunsVariantsSideBySide) {
  fs::path out = fs::temp_directory_path() / fmt::format("moesim_compare_{}", ::getpid());
  fs::path csv = out / "table.csv";
  std::string cmd = fmt::format("{} compare {} --set model.layers=2 --set workload.steps=2 --set workload.seq_len=64 --csv {} --out {} > {} 2>&1",
                                MOESIM_BINARY, (kDir / "hecate_b_gpt_moe_s_16gpu.toml").string(), csv.string(), out.string(),
                                (out / "stdout.txt").string());
  fs::create_directories(out);
  ASSERT_EQ(std::system(cmd.c_str()), 0) << std::ifstream(out / "stdout.txt").rdbuf();
  std::ifstream in(csv);
  std::string header, line;
  std::getline(in, header);
  EXPECT_NE(header.find("speedup"), std::string::npos);
  EXPECT_NE(header.find("sparse_collective_s"), std::string::npos);
  std::map<std::string, std::vector<std::string>> rows;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
    rows[cells[0]] = cells;
  }
  ASSERT_EQ(rows.size(), variants_of(kDir / "hecate_b_gpt_moe_s_16gpu.toml").size());
  EXPECT_DOUBLE_EQ(std::stod(rows["ep"][4]), 1.0) << "the baseline's speedup is 1";
  EXPECT_GT(std::stod(rows["ep"][3]), 0);
  EXPECT_EQ(std::stod(rows["ep"][6]), 0) << "EP has no sparse collectives";
  EXPECT_GT(std::stod(rows["fssdp"][6]), 0) << "FSSDP gathers hot experts";
  EXPECT_GT(std::stod(rows["fsdp"][6]), std::stod(rows["fssdp"][6])) << "FSDP gathers every expert";
  fs::remove_all(out);
}

}  // namespace
}  // namespace moesim::sharding
