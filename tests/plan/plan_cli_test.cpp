// `moesim plan` end to end: on a small exhaustive space, the configurations it calls feasible are
// exactly those that meet every SLO when each is simulated on its own with `moesim run`, and its
// best is the brute-force optimum; what cannot fit is pruned before simulating; every scenario in
// scenarios/planning runs at small scale.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "sim/plan/prices.hpp"
#include "tests/plan/cli_util.hpp"

namespace moesim::plan::testing {
namespace {

using nlohmann::json;

const char* kPlan = R"(
[plan]
objective = "lowest_cost_per_million_tokens"
[plan.slo]
tpot_s = { max = "2ms" }
[plan.space]
cluster.devices_per_node = [2, 4, 8]
workload.batch = [8, 128]
[[plan.space.zip]]
cluster.device = [{ preset = "h100_sxm" }, { preset = "a100_80gb" }]
cluster.intra_node = [{ kind = "nvswitch", link = { preset = "nvswitch4" } }, { kind = "nvswitch", link = { preset = "nvswitch3" } }]
)";

std::vector<json> rows_of(const fs::path& jsonl) {
  std::vector<json> out;
  std::stringstream s(slurp(jsonl));
  std::string line;
  while (std::getline(s, line)) out.push_back(json::parse(line));
  return out;
}

TEST(PlanCli, FeasibleSetAndOptimumEqualBruteForce) {
  auto dir = scratch("brute");
  auto scenario = write_scenario(dir, kPlan);
  auto r = moesim("plan " + q(scenario) + " -j 2 --out " + q(dir / "plan"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("Pareto front"), std::string::npos) << r.output;
  auto rows = rows_of(dir / "plan/plan.jsonl");
  ASSERT_EQ(rows.size(), 12u);
  auto best = rows_of(dir / "plan/best.jsonl");
  ASSERT_FALSE(best.empty()) << r.output;

  // Brute force: each configuration simulated alone by `moesim run`, judged here.
  const auto prices = default_prices();
  int brute_best = -1, feasible_count = 0, rejected_by_slo = 0;
  double brute_value = INFINITY;
  for (const auto& row : rows) {
    std::string sets;
    const std::string dev = row["device"];
    sets += " --set cluster.devices_per_node=" + row["axes"]["cluster.devices_per_node"].dump();
    sets += " --set workload.batch=" + row["axes"]["workload.batch"].dump();
    sets += " --set 'cluster.device={ preset = \"" + dev + "\" }'";
    sets += std::string(" --set 'cluster.intra_node={ kind = \"nvswitch\", link = { preset = \"") + (dev == "h100_sxm" ? "nvswitch4" : "nvswitch3") + "\" } }'";
    const fs::path out = dir / ("run" + row["point"].dump());
    auto run = moesim("run " + q(scenario) + sets + " --out " + q(out));
    ASSERT_EQ(run.code, 0) << run.output;
    json s = json::parse(slurp(out / "tiny/summary.json"));
    bool fits = true;
    for (const auto& d : s["devices_detail"]) fits = fits && d["memory_peak_bytes"].get<double>() <= d["memory_capacity_bytes"].get<double>();
    const double tpot = s["tpot_s"], tps = s["tokens_per_s"], n = s["devices"];
    const bool feasible = fits && tpot <= 0.002;
    if (fits && !feasible) ++rejected_by_slo;
    EXPECT_EQ(row["feasible"].get<bool>(), feasible) << row.dump() << "\nbrute force tpot " << tpot;
    EXPECT_DOUBLE_EQ(row["metrics"]["tokens_per_s"].get<double>(), tps) << "plan and run disagree on point " << row["point"];
    if (!feasible) continue;
    ++feasible_count;
    const double per_m = n * prices.at(dev).usd_per_hour / (tps * 3600) * 1e6;
    if (per_m < brute_value) brute_value = per_m, brute_best = row["point"];
  }
  ASSERT_GT(feasible_count, 0);
  ASSERT_GT(rejected_by_slo, 0) << "the SLO rejects nothing: the test would not tell a filter from none";
  EXPECT_EQ(best.size(), static_cast<size_t>(feasible_count));
  EXPECT_EQ(best.front()["point"].get<int>(), brute_best);
  EXPECT_TRUE(fs::exists(dir / "plan/pareto.gp"));
  EXPECT_TRUE(fs::exists(dir / "plan/pareto.dat"));
  fs::remove_all(dir);
}

TEST(PlanCli, WhatCannotFitIsPrunedBeforeSimulating) {
  auto dir = scratch("prune");
  // The full 32-layer Mixtral (~87 GiB of weights) on 1 or 2 A100 40GB cannot fit; 8 can.
  auto scenario = write_scenario(dir, R"(
[plan]
objective = "fewest_devices"
[plan.space]
cluster.devices_per_node = [1, 2, 8]
)");
  auto r = moesim("plan " + q(scenario) + " --set model.layers=32 --set 'cluster.device={ preset = \"a100_40gb\" }'"
                  " --set 'cluster.intra_node.link={ preset = \"nvswitch3\" }' -j 2 --out " + q(dir / "p"));
  ASSERT_EQ(r.code, 0) << r.output;
  auto rows = rows_of(dir / "p/plan.jsonl");
  ASSERT_EQ(rows.size(), 3u);
  for (int i : {0, 1}) {
    EXPECT_EQ(rows[i]["status"], "does_not_fit") << rows[i].dump();
    EXPECT_NE(rows[i]["rejected"].get<std::string>().find("does not fit: device"), std::string::npos) << rows[i].dump();
    EXPECT_FALSE(rows[i]["metrics"].contains("tokens_per_s")) << "a pruned point was simulated";
  }
  EXPECT_EQ(rows[2]["status"], "ok") << rows[2].dump();
  EXPECT_NE(r.output.find("2 pruned by the memory estimate"), std::string::npos) << r.output;
  fs::remove_all(dir);
}

TEST(PlanCli, NoFeasibleConfigurationExitsInfeasible) {
  auto dir = scratch("none");
  auto scenario = write_scenario(dir, "\n[plan]\n[plan.slo]\ntpot_s = { max = \"1ns\" }\n[plan.space]\nworkload.batch = [8]\n");
  auto r = moesim("plan " + q(scenario) + " --out " + q(dir / "p"));
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_NE(r.output.find("tpot_s = "), std::string::npos) << r.output;
  fs::remove_all(dir);
}

// Every planning scenario at small scale: 2 layers, 2 tokens (training: 1 step), a narrowed space.
TEST(PlanningScenarios, EachRunsAtSmallScale) {
  auto dir = scratch("scenarios");
  const fs::path root = fs::path(MOESIM_SOURCE_DIR) / "scenarios/planning";
  struct Case {
    std::string file, command, sets;
  };
  const std::vector<Case> cases = {
      {"mixtral_serving_gpu_choice.toml", "plan", "--set model.layers=2 --set workload.generate_tokens=2 --set 'plan.space.cluster.devices_per_node=[8]' --set 'plan.space.workload.batch=[64]'"},
      {"deepseek_v3_serving_nodes.toml", "sweep", "--set model.layers=4 --set workload.generate_tokens=2 --set 'sweep.cluster.nodes=[1, 2]' --set 'sweep.workload.batch=[64]'"},
      {"deepseek_v3_serving_nodes.toml", "plan", "--set model.layers=4 --set workload.generate_tokens=2 --set 'plan.space.cluster.nodes=[2]' --set 'plan.space.workload.batch=[64]'"},
      {"edge_offload_device_choice.toml", "plan", "--set workload.generate_tokens=2 --set 'plan.space.workload.cache_experts=[4]'"},
      {"gpt_moe_training_cluster.toml", "plan", "--set model.layers=2 --set workload.steps=1 --set 'plan.space.cluster.nodes=[1]'"},
  };
  for (const auto& c : cases) {
    auto r = moesim(c.command + " " + q(root / c.file) + " -j 2 --out " + q(dir / c.file) + " " + c.sets);
    EXPECT_TRUE(r.code == 0 || r.code == 3) << c.file << "\n" << r.output;
    for (const auto& name : {"plan.jsonl", "sweep.jsonl"})
      if (fs::exists(dir / c.file / name)) {
        for (const auto& row : rows_of(dir / c.file / name)) EXPECT_NE(row["status"], "error") << c.file << ": " << row.dump();
      }
  }
  auto run = moesim("run " + q(root / "mixtral_serving_gpu_choice.toml") + " --set model.layers=2 --set workload.generate_tokens=2 --out " + q(dir / "run"));
  EXPECT_EQ(run.code, 0) << run.output;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace moesim::plan::testing
