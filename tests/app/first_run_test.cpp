// What a new user meets on a first run of the README's commands: `check` says how much memory
// each device needs and has left (identical devices grouped), `compare` shows inference columns
// for inference variants and no speedup across cluster sizes, the summary's prefill throughput
// counts prompt tokens, timeline.json slices of one track never overlap and transfers have flow
// arrows to their consumers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <tuple>

#include "sim/report/metrics.hpp"
#include "tests/support/cli.hpp"

namespace moesim::test_support {
namespace {

namespace fs = std::filesystem;
const fs::path kRoot = MOESIM_SOURCE_DIR;
const fs::path kExamples = kRoot / "scenarios/examples";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string l; std::getline(ss, l);) out.push_back(l);
  return out;
}

TEST(FirstRun, CheckPrintsPeakAndHeadroomGroupingIdenticalDevices) {
  auto r = run_moesim("check " + quoted(kExamples / "quickstart.toml"));
  ASSERT_EQ(r.code, 0) << r.output;
  // Eight identical devices: one memory line for all of them, with peak, capacity and headroom.
  EXPECT_NE(r.output.find("memory: devices 0-7: peak "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("headroom"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("device 3:"), std::string::npos) << "identical devices printed one by one:\n" << r.output;
  auto v = run_moesim("check " + quoted(kExamples / "quickstart.toml") + " --verbose");
  ASSERT_EQ(v.code, 0) << v.output;
  int per_device = 0;
  for (const auto& l : lines_of(v.output)) per_device += l.starts_with("memory: device ");
  EXPECT_EQ(per_device, 8) << v.output;
}

TEST(FirstRun, CompareShowsInferenceColumnsAndNoSpeedupAcrossClusterSizes) {
  const fs::path dir = scratch_dir("first_run_compare");
  // The tiny Mixtral decode with a prefill step, on 8 and on 4 GPUs of one node.
  const fs::path file = write_tiny_scenario(dir, "[[variants]]\nname = \"gpus8\"\n[[variants]]\nname = \"gpus4\"\n"
                                                 "set = [\"cluster.devices_per_node=4\"]\n");
  auto r = run_moesim("compare " + quoted(file) + " --set workload.phases=both --out " + quoted(dir));
  ASSERT_EQ(r.code, 0) << r.output;
  auto lines = lines_of(r.output);
  auto header = std::find_if(lines.begin(), lines.end(), [](const std::string& l) { return l.starts_with("variant"); });
  ASSERT_NE(header, lines.end()) << r.output;
  for (const char* col : {"TTFT ms", "TPOT ms", "tokens/s", "kv_cache GiB"})
    EXPECT_NE(header->find(col), std::string::npos) << col << " missing:\n" << r.output;
  EXPECT_EQ(header->find("iter ms"), std::string::npos) << "training column on an inference table:\n" << r.output;
  // Rows aligned: every row as long as the header, its separators at the same places.
  for (auto row = header + 1; row != header + 3; ++row) {
    EXPECT_EQ(row->size(), header->size()) << *row;
    EXPECT_EQ(row->find('|'), header->find('|')) << *row;
  }
  EXPECT_NE((header + 2)->find("n/a"), std::string::npos) << "speedup across 8 vs 4 devices:\n" << r.output;
  EXPECT_NE(r.output.find("different number of devices"), std::string::npos) << r.output;
  // The CSV: the speedup cell empty for gpus4, TTFT/TPOT filled, memory split by category.
  std::ifstream in(dir / "tiny-compare" / "compare.csv");
  std::string head, first, second;
  std::getline(in, head), std::getline(in, first), std::getline(in, second);
  for (const char* col : {",ttft_s,", ",tpot_s,", ",prefill_tokens_per_s,", ",peak_kv_cache_bytes", ",peak_expert_cache_bytes"})
    EXPECT_NE(head.find(col), std::string::npos) << col << " missing: " << head;
  EXPECT_NE(second.find("gpus4,ep,4,"), std::string::npos) << second;
  EXPECT_NE(second.find(",,"), std::string::npos) << "speedup cell should be empty: " << second;
  fs::remove_all(dir);
}

TEST(FirstRun, AllToAllWallTimeCountsConcurrentGroupsOnce) {
  // Two TP ranks' dispatches run over the same 2 ms, a combine 1 ms later: 3 ms in flight, not 5.
  graph::StepGraph g;
  graph::StepTimeline t;
  const std::vector<std::tuple<std::string, double, double>> spans = {
      {"dispatch", 0.0, 2e-3}, {"dispatch", 0.0, 2e-3}, {"expert_ffn", 2e-3, 3e-3}, {"combine", 3e-3, 4e-3}};
  for (const auto& [op, start, end] : spans) {
    graph::Task task;
    task.op = op;
    g.tasks.push_back(task);
    t.tasks.push_back({static_cast<graph::TaskId>(t.tasks.size()), start, end});
  }
  EXPECT_NEAR(report::a2a_wall_seconds(g, t), 3e-3, 1e-15);
}

TEST(FirstRun, PrefillThroughputCountsPromptTokens) {
  const fs::path dir = scratch_dir("first_run_prefill");
  auto r = run_moesim("run " + quoted(kExamples / "quickstart.toml") +
                      " --set workload.phases=\\\"both\\\" --set workload.batch=16 --set workload.prompt_tokens=256"
                      " --set workload.generate_tokens=2 --set model.layers=2 --out " + quoted(dir));
  ASSERT_EQ(r.code, 0) << r.output;
  auto j = nlohmann::json::parse(slurp(dir / "quickstart" / "summary.json"));
  ASSERT_TRUE(j.contains("prefill_tokens_per_s")) << j.dump(2);
  // steps.csv row 1 is the prefill step: 16 x 256 prompt tokens over its duration.
  auto steps = lines_of(slurp(dir / "quickstart" / "steps.csv"));
  ASSERT_GE(steps.size(), 2u);
  std::vector<std::string> cells;
  std::stringstream ss(steps[1]);
  for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
  ASSERT_EQ(cells[1], "prefill");
  EXPECT_EQ(std::stoll(cells[2]), 16 * 256);
  const double expected = 16.0 * 256.0 / std::stod(cells[6]);
  EXPECT_NEAR(j["prefill_tokens_per_s"].get<double>(), expected, 1e-6 * expected);
  EXPECT_GT(j["prefill_tokens_per_s"].get<double>(), 100.0 * j["tokens_per_s"].get<double>())
      << "prompt tokens per second should far exceed the output tokens per second of a 2-token decode";
  fs::remove_all(dir);
}

TEST(FirstRun, TimelineSlicesOfATrackNeverOverlapAndTransfersHaveFlows) {
  const fs::path dir = scratch_dir("first_run_timeline");
  auto r = run_moesim("run " + quoted(kExamples / "quickstart.toml") +
                      " --set workload.batch=16 --set workload.generate_tokens=2 --set model.layers=2 --out " + quoted(dir));
  ASSERT_EQ(r.code, 0) << r.output;
  auto j = nlohmann::json::parse(slurp(dir / "quickstart" / "timeline.json"));
  std::map<std::pair<int, int>, std::vector<std::pair<int64_t, int64_t>>> tracks;  // (pid, tid) -> [start, end) ns
  std::map<int64_t, int> flow_ends;
  for (const auto& e : j["traceEvents"]) {
    const std::string ph = e["ph"];
    if (ph == "X") {
      const int64_t start = std::llround(e["ts"].get<double>() * 1e3), dur = std::llround(e["dur"].get<double>() * 1e3);
      tracks[{e["pid"].get<int>(), e["tid"].get<int>()}].push_back({start, start + dur});
    }
    if (ph == "s") ++flow_ends[e["id"].get<int64_t>()];
    if (ph == "f") flow_ends[e["id"].get<int64_t>()] += 10;
  }
  size_t slices = 0;
  for (auto& [track, spans] : tracks) {
    std::sort(spans.begin(), spans.end());
    slices += spans.size();
    for (size_t i = 1; i < spans.size(); ++i)
      EXPECT_GE(spans[i].first, spans[i - 1].second) << "overlap on pid " << track.first << " tid " << track.second;
  }
  EXPECT_GT(slices, 10u);
  ASSERT_FALSE(flow_ends.empty()) << "no flow arrows";
  for (const auto& [id, n] : flow_ends) EXPECT_EQ(n, 11) << "flow " << id << " lacks its start or its end";
  fs::remove_all(dir);
}

TEST(FirstRun, ShippedSmallTraceIsItsGeneratorsOutputAndRunsWithoutShared) {
  const fs::path dir = scratch_dir("first_run_trace");
  const fs::path shipped = kRoot / "scenarios/traces/olmoe_like_small.jsonl";
  // From the repository root, as its comment says (the generator's path is recorded in the trace).
  auto gen = run_moesim("trace gen scenarios/routing/olmoe_like_small.toml -o " + quoted(dir / "t.jsonl"),
                        "cd " + quoted(kRoot) + " && ");
  ASSERT_EQ(gen.code, 0) << gen.output;
  EXPECT_EQ(slurp(dir / "t.jsonl"), slurp(shipped)) << "the shipped trace is not what its generator writes";
  // Skewed like the real OLMoE layer (max/mean 6.0): the sample of 512 tokens lands near it.
  auto stats = run_moesim("trace stats " + quoted(shipped));
  ASSERT_EQ(stats.code, 0) << stats.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(stats.output, m, std::regex(R"(max/mean\s+([0-9.]+))"))) << stats.output;
  EXPECT_NEAR(std::stod(m[1]), 6.0, 1.0) << stats.output;
  auto run = run_moesim("run " + quoted(kExamples / "olmoe_ep8_small_trace.toml") +
                        " --set workload.batch=8 --set workload.generate_tokens=2 --set model.layers=2 --out " + quoted(dir));
  EXPECT_EQ(run.code, 0) << run.output;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace moesim::test_support
