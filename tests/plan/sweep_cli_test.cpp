// `moesim sweep` end to end on a tiny scenario: shards i/K cover every point exactly once and merge
// into the unsharded output byte for byte; -j does not change the output; an invalid point is a
// row with its error; a sweep killed midway and resumed gives the same files as an uninterrupted
// run (no loss, no duplicates), even with a cut last line.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/plan/cli_util.hpp"

namespace moesim::plan::testing {
namespace {

const char* kSweep = R"(
[sweep]
parallel.ep = [8, 3, 4]     # ep = 3 cannot split 8 devices: an invalid point
workload.batch = [8, 16]
repeat = 2
)";

std::vector<nlohmann::json> rows_of(const fs::path& jsonl) {
  std::vector<nlohmann::json> out;
  std::stringstream s(slurp(jsonl));
  std::string line;
  while (std::getline(s, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(SweepCli, ShardsCoverEveryPointOnceAndMergeIntoTheFullSweep) {
  auto dir = scratch("shards");
  auto scenario = write_scenario(dir, kSweep);
  auto full = moesim("sweep " + q(scenario) + " -j 2 --out " + q(dir / "full"));
  ASSERT_EQ(full.code, 0) << full.output;
  auto one = moesim("sweep " + q(scenario) + " -j 1 --out " + q(dir / "serial"));
  ASSERT_EQ(one.code, 0) << one.output;
  EXPECT_EQ(slurp(dir / "full/sweep.jsonl"), slurp(dir / "serial/sweep.jsonl")) << "-j changed the output";
  EXPECT_EQ(slurp(dir / "full/sweep.csv"), slurp(dir / "serial/sweep.csv"));

  const int K = 3;
  std::multiset<int> seen;
  for (int i = 0; i < K; ++i) {
    auto r = moesim("sweep " + q(scenario) + " -j 2 --shard " + std::to_string(i) + "/" + std::to_string(K) + " --out " + q(dir / "sharded"));
    ASSERT_EQ(r.code, 0) << r.output;
    for (const auto& row : rows_of(dir / "sharded" / ("sweep.shard-" + std::to_string(i) + "-of-3.jsonl"))) {
      EXPECT_EQ(row["point"].get<int>() % K, i);
      seen.insert(row["point"].get<int>());
    }
  }
  ASSERT_EQ(seen.size(), 12u);
  for (int p = 0; p < 12; ++p) EXPECT_EQ(seen.count(p), 1u) << "point " << p;
  auto m = moesim("sweep merge " + q(dir / "sharded"));
  ASSERT_EQ(m.code, 0) << m.output;
  EXPECT_EQ(slurp(dir / "sharded/sweep.jsonl"), slurp(dir / "full/sweep.jsonl"));
  EXPECT_EQ(slurp(dir / "sharded/sweep.csv"), slurp(dir / "full/sweep.csv"));
  // A missing shard is reported, not merged silently.
  fs::remove(dir / "sharded/sweep.shard-1-of-3.jsonl");
  auto gap = moesim("sweep merge " + q(dir / "sharded") + " --out " + q(dir / "gap"));
  EXPECT_EQ(gap.code, 1) << gap.output;
  EXPECT_NE(gap.output.find("missing"), std::string::npos) << gap.output;
  EXPECT_EQ(moesim("sweep " + q(scenario) + " --shard 3/3").code, 2);
  fs::remove_all(dir);
}

TEST(SweepCli, AnInvalidPointIsARowWithItsError) {
  auto dir = scratch("invalid");
  auto scenario = write_scenario(dir, kSweep);
  auto r = moesim("sweep " + q(scenario) + " -j 2 --out " + q(dir / "o"));
  ASSERT_EQ(r.code, 0) << r.output;
  auto rows = rows_of(dir / "o/sweep.jsonl");
  ASSERT_EQ(rows.size(), 12u);
  int errors = 0;
  for (const auto& row : rows) {
    if (row["axes"]["parallel.ep"] == 3) {
      ++errors;
      EXPECT_EQ(row["status"], "error");
      EXPECT_NE(row["error"].get<std::string>().find("parallel.ep"), std::string::npos) << row.dump();
    } else {
      EXPECT_EQ(row["status"], "ok") << row.dump();
      EXPECT_GT(row["metrics"]["tokens_per_s"].get<double>(), 0);
      EXPECT_TRUE(row["metrics"]["memory_fits"].get<bool>());
    }
  }
  EXPECT_EQ(errors, 4);
  // Repeats run different seeds of the same configuration.
  EXPECT_EQ(rows[0]["metrics"]["seed"], 1);
  EXPECT_EQ(rows[1]["metrics"]["seed"], 2);
  EXPECT_EQ(lines_of(dir / "o/sweep.csv"), 13u);
  fs::remove_all(dir);
}

TEST(SweepCli, KilledMidwayThenResumedEqualsAnUninterruptedRun) {
  auto dir = scratch("resume");
  auto scenario = write_scenario(dir, kSweep);
  const std::string more = " --set sweep.repeat=4";  // 24 points
  auto clean = moesim("sweep " + q(scenario) + more + " -j 2 --out " + q(dir / "clean"));
  ASSERT_EQ(clean.code, 0) << clean.output;

  const fs::path out = dir / "killed";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::freopen("/dev/null", "w", stdout);
    execl(MOESIM_BINARY, MOESIM_BINARY, "sweep", scenario.c_str(), "--set", "sweep.repeat=4", "-j", "1", "--out", out.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (lines_of(out / "sweep.jsonl") < 5 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  const size_t at_kill = lines_of(out / "sweep.jsonl");
  ASSERT_GE(at_kill, 5u);
  ASSERT_LT(at_kill, 24u) << "the sweep finished before it could be killed";
  EXPECT_FALSE(fs::exists(out / "sweep.csv")) << "the final files are written only at the end";
  // A write cut short by the kill.
  std::ofstream(out / "sweep.jsonl", std::ios::app) << R"({"point": 23, "points": 24, "key": "0)";

  auto resumed = moesim("sweep " + q(scenario) + more + " -j 2 --resume --out " + q(out));
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("from the existing output"), std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find("incomplete line"), std::string::npos) << resumed.output;
  EXPECT_EQ(slurp(out / "sweep.jsonl"), slurp(dir / "clean/sweep.jsonl"));
  EXPECT_EQ(slurp(out / "sweep.csv"), slurp(dir / "clean/sweep.csv"));
  // Resuming a finished sweep runs nothing and changes nothing.
  auto again = moesim("sweep " + q(scenario) + more + " --resume --out " + q(out));
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_NE(again.output.find("(0 run, 24 from the existing output"), std::string::npos) << again.output;
  EXPECT_EQ(slurp(out / "sweep.jsonl"), slurp(dir / "clean/sweep.jsonl"));
  fs::remove_all(dir);
}

TEST(SweepCli, BadSweepTablesAreConfigErrors) {
  auto dir = scratch("bad");
  auto scenario = write_scenario(dir, "\n[sweep]\nworkload.batch = 8\n");
  auto r = moesim("sweep " + q(scenario) + " --out " + q(dir / "o"));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("tiny.toml:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("sweep.workload.batch"), std::string::npos) << r.output;
  auto none = write_scenario(dir, "");
  EXPECT_EQ(moesim("sweep " + q(none)).code, 2);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace moesim::plan::testing
