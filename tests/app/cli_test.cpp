// `moesim run` / `moesim check` as a user calls them: exit codes, messages, outputs on disk,
// determinism, and the example scenarios at small scale (each a few seconds).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tests/support/cli.hpp"

namespace {

namespace fs = std::filesystem;
const fs::path kRoot = MOESIM_SOURCE_DIR;
const fs::path kExamples = kRoot / "scenarios/examples";
const fs::path kTrace = kRoot / "../shared/data/routing/olmoe-1b-7b_layer0_vllm.jsonl";

using Result = moesim::test_support::CliResult;
using moesim::test_support::slurp;

Result moesim(const std::string& args) { return moesim::test_support::run_moesim(args); }

fs::path scratch(const std::string& tag) {
  auto d = fs::temp_directory_path() / ("moesim_cli_" + tag + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

const char* kSmallDecode = " --set workload.batch=16 --set workload.generate_tokens=2 --set model.layers=4";

TEST(Cli, QuickstartRunsPrintsATableAndWritesOutputs) {
  auto out = scratch("quick");
  auto r = moesim("run " + q(kExamples / "quickstart.toml") + kSmallDecode + " --out " + q(out));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("tokens/s"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("TPOT"), std::string::npos) << r.output;
  for (auto f : {"summary.json", "steps.csv", "layers.csv", "memory.csv", "timeline.json", "resolved.toml"})
    EXPECT_TRUE(fs::exists(out / "quickstart" / f)) << f;
  auto summary = nlohmann::json::parse(slurp(out / "quickstart" / "summary.json"));
  EXPECT_EQ(summary["steps"], 2);
  EXPECT_GT(summary["tokens_per_s"].get<double>(), 0);
  EXPECT_NE(slurp(out / "quickstart" / "resolved.toml").find("batch = 16"), std::string::npos);
  fs::remove_all(out);
}

TEST(Cli, SameScenarioAndSeedGiveByteIdenticalOutputs) {
  auto a = scratch("det_a"), b = scratch("det_b");
  std::string args = "run " + q(kExamples / "mixtral_ep8_decode.toml") + kSmallDecode;
  ASSERT_EQ(moesim(args + " --out " + q(a)).code, 0);
  ASSERT_EQ(moesim(args + " --out " + q(b)).code, 0);
  for (auto f : {"summary.json", "steps.csv", "layers.csv", "memory.csv", "timeline.json", "resolved.toml"})
    EXPECT_EQ(slurp(a / "mixtral_ep8_decode" / f), slurp(b / "mixtral_ep8_decode" / f)) << f;
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(Cli, TimelineOpensAsChromeTraceWithEveryDevice) {
  auto out = scratch("trace");
  ASSERT_EQ(moesim("run " + q(kExamples / "mixtral_ep8_prefill.toml") +
                   " --set workload.batch=2 --set workload.prompt_tokens=64 --set model.layers=2 --out " + q(out)).code, 0);
  auto j = nlohmann::json::parse(slurp(out / "mixtral_ep8_prefill" / "timeline.json"));
  std::set<int> devices, named;
  std::set<std::string> ops;
  for (const auto& e : j["traceEvents"]) {
    if (e["ph"] == "X") devices.insert(e["pid"].get<int>()), ops.insert(e["cat"].get<std::string>());
    if (e["ph"] == "M" && e["name"] == "process_name") named.insert(e["pid"].get<int>());
  }
  EXPECT_EQ(devices.size(), 8u);
  EXPECT_EQ(named.size(), 8u);
  for (auto op : {"attention", "gate", "dispatch", "expert_ffn", "combine"}) EXPECT_TRUE(ops.count(op)) << op;
  fs::remove_all(out);
}

double step_time(const fs::path& dir) {
  return nlohmann::json::parse(slurp(dir / "summary.json"))["step_time_s"]["mean"].get<double>();
}

// Sum over MoE layers of a layers.csv column.
double column_sum(const fs::path& csv, const std::string& column) {
  std::ifstream f(csv);
  std::string header, line;
  std::getline(f, header);
  int idx = 0, want = -1;
  std::stringstream hs(header);
  for (std::string c; std::getline(hs, c, ','); ++idx) if (c == column) want = idx;
  double s = 0;
  while (std::getline(f, line)) {
    std::stringstream ls(line);
    std::string c;
    for (int i = 0; std::getline(ls, c, ','); ++i) if (i == want) s += std::stod(c);
  }
  return s;
}

TEST(Cli, SkewedRoutingProducesTheStragglerItsAssignmentImplies) {
  auto out = scratch("straggler");
  std::string small = " --set model.layers=4 --set workload.batch=8 --out " + q(out);
  ASSERT_EQ(moesim("run " + q(kExamples / "straggler_uniform.toml") + small).code, 0);
  ASSERT_EQ(moesim("run " + q(kExamples / "straggler_skewed.toml") + small).code, 0);
  auto uni = out / "straggler_uniform", skew = out / "straggler_skewed";
  double tu = step_time(uni), ts = step_time(skew);
  EXPECT_GT(ts, tu * 1.1) << "skewed " << ts << " vs uniform " << tu;
  // The slowest device's expert GEMMs and the All-to-All are what grew: the step-time difference
  // is the difference of the critical path's MoE parts (within 30%: attention, gate are equal).
  double implied = (column_sum(skew / "layers.csv", "expert_max_s") + column_sum(skew / "layers.csv", "a2a_s")) -
                   (column_sum(uni / "layers.csv", "expert_max_s") + column_sum(uni / "layers.csv", "a2a_s"));
  EXPECT_GT(implied, 0);
  EXPECT_NEAR(ts - tu, implied, 0.3 * implied);
  // Skew shows as the max over devices exceeding the mean.
  EXPECT_GT(column_sum(skew / "layers.csv", "expert_max_s"), 1.5 * column_sum(skew / "layers.csv", "expert_mean_s"));
  fs::remove_all(out);
}

TEST(Cli, TrainingScenarioRunsAtSmallScale) {
  auto out = scratch("train");
  auto r = moesim("run " + q(kExamples / "mixtral_train_2x8_a100_ep16.toml") +
                  " --set workload.steps=1 --set workload.seq_len=128 --set workload.micro_batches=1 --set model.layers=2 --out " + q(out));
  ASSERT_EQ(r.code, 0) << r.output;
  auto summary = nlohmann::json::parse(slurp(out / "mixtral_train_2x8_a100_ep16" / "summary.json"));
  EXPECT_EQ(summary["workload"], "training");
  EXPECT_GT(summary["inter_node_bytes"].get<double>(), 0);
  EXPECT_EQ(summary["devices_detail"].size(), 16u);
  fs::remove_all(out);
}

TEST(Cli, OlmoeReplaysTheRealTrace) {
  if (!fs::exists(kTrace)) GTEST_SKIP() << "routing trace absent: " << kTrace;
  auto out = scratch("olmoe");
  auto r = moesim("run " + q(kExamples / "olmoe_ep8_trace.toml") +
                  " --set workload.batch=8 --set workload.generate_tokens=2 --set model.layers=2 --out " + q(out));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("note"), std::string::npos) << r.output;  // layer reuse reported
  fs::remove_all(out);
}

TEST(Cli, CheckAcceptsAGoodScenario) {
  auto r = moesim("check " + q(kExamples / "quickstart.toml"));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("ok"), std::string::npos) << r.output;
}

TEST(Cli, CheckReportsAModelThatDoesNotFit) {
  auto r = moesim("check " + q(kExamples / "quickstart.toml") + " --set parallel.ep=1 --set cluster.devices_per_node=1");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("model does not fit: device 0: over by"), std::string::npos) << r.output;
}

TEST(Cli, TypoInAKeyIsFileLineColWithDidYouMean) {
  auto dir = scratch("typo");
  fs::create_directories(dir);
  std::string text = slurp(kExamples / "quickstart.toml");
  auto pos = text.find("prompt_tokens");
  text.replace(pos, 13, "promt_tokens");
  std::ofstream(dir / "typo.toml") << text;
  auto r = moesim("check " + q(dir / "typo.toml"));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("typo.toml:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("prompt_tokens"), std::string::npos) << r.output;
  auto rr = moesim("run " + q(dir / "typo.toml") + " --out " + q(dir / "out"));
  EXPECT_EQ(rr.code, 2);
  EXPECT_FALSE(fs::exists(dir / "out" / "quickstart"));
  fs::remove_all(dir);
}

TEST(Cli, MissingScenarioFileIsAnIoError) {
  auto r = moesim("run /nonexistent/scenario.toml");
  EXPECT_EQ(r.code, 4) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/scenario.toml"), std::string::npos) << r.output;
  EXPECT_EQ(moesim("check /nonexistent/scenario.toml").code, 4);
}

TEST(Cli, BadSetIsABadInputError) {
  auto base = q(kExamples / "quickstart.toml");
  auto r = moesim("check " + base + " --set workload.batch");
  EXPECT_EQ(r.code, 2) << r.output;
  auto r2 = moesim("check " + base + " --set workload.bacth=4");
  EXPECT_EQ(r2.code, 2) << r2.output;
  EXPECT_NE(r2.output.find("batch"), std::string::npos) << r2.output;
  auto r3 = moesim("check " + base + " --set workload.batch=\\\"many\\\"");
  EXPECT_EQ(r3.code, 2) << r3.output;
}

TEST(Cli, MemoryOverflowFailsOnlyWhenAsked) {
  auto out = scratch("overflow");
  std::string args = "run " + q(kExamples / "quickstart.toml") +
                     " --set workload.batch=8 --set workload.generate_tokens=1 --set model.layers=2"
                     " --set cluster.device.memory_capacity=\\\"2GiB\\\" --out " + q(out);
  auto r = moesim(args);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("over capacity"), std::string::npos) << r.output;
  auto summary = nlohmann::json::parse(slurp(out / "quickstart" / "summary.json"));
  EXPECT_FALSE(summary["findings"].empty());
  auto r2 = moesim(args + " --set output.fail_on_memory_overflow=true");
  EXPECT_EQ(r2.code, 1) << r2.output;
  fs::remove_all(out);
}

}  // namespace
