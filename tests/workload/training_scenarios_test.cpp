// The scenarios of scenarios/training/ run end to end at small scale (each test is its
// own process: one SimGrid engine per process), and DualPipe's overlap hides All-to-All time.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "../offload/run_child.hpp"

#include <array>
#include <cstdio>
#include <sys/wait.h>

#include "tests/support/cli.hpp"

namespace moesim::report {
namespace {

namespace fs = std::filesystem;
const fs::path kTraining = fs::path(MOESIM_SOURCE_DIR) / "scenarios/training";

// 2 nodes x 4 GPUs, 2 stages, a 4-layer model, short sequences.
std::vector<std::string> small(std::vector<std::string> extra = {}) {
  std::vector<std::string> s = {"cluster.nodes=2", "cluster.devices_per_node=4", "cluster.inter_node.nics_per_node=4", "parallel.pp=2", "model.layers=4",
                                "workload.seq_len=128", "workload.micro_batches=4"};
  s.insert(s.end(), extra.begin(), extra.end());
  return s;
}

using Metrics = offload::testing::Metrics;

// Each run in a forked child (one SimGrid engine per process).
Metrics run(const std::string& file, const std::vector<std::string>& sets) {
  return offload::testing::run_in_child([&] { return scenario::load_scenario(kTraining / file, sets); });
}

void expect_pipeline_metrics(const Metrics& m) {
  ASSERT_TRUE(m.count("pipeline_bubble_fraction"));
  double bubble = m.at("pipeline_bubble_fraction");
  EXPECT_GE(bubble, 0);
  EXPECT_LT(bubble, 1);
  EXPECT_GT(m.at("a2a_exposed_s_per_step") + m.at("a2a_hidden_s_per_step"), 0);
  EXPECT_GT(m.at("memory_peak_bytes"), 0);
}

const std::vector<std::string> kDeepSeekSmall = {"parallel.ep=4", "routing.max_nodes=1"};

TEST(TrainingScenarios, DeepSeekV3DualPipeRunsSmall) {
  expect_pipeline_metrics(run("deepseek_v3_2048_h800_dualpipe.toml", small(kDeepSeekSmall)));
}

TEST(TrainingScenarios, DeepSeekV3OneFOneBRunsSmall) {
  expect_pipeline_metrics(run("deepseek_v3_2048_h800_1f1b.toml", small(kDeepSeekSmall)));
}

TEST(TrainingScenarios, MixtralTp8PpEpRunsSmall) {
  // 2 stages of 4 GPUs: TP2 x EP2 (8 experts, 4 per EP rank), interleaved with 2 virtual stages.
  expect_pipeline_metrics(run("mixtral_8x22b_128_h100_tp8_pp4_ep4.toml", small({"parallel.tp=2", "parallel.ep=2"})));
}

TEST(TrainingScenarios, Qwen3RunsSmall) {
  expect_pipeline_metrics(run("qwen3_30b_a3b_64_h100.toml", small({"parallel.ep=4"})));
}

TEST(TrainingScenarios, DualPipeOverlapExposesNoMoreAllToAllThanTheSameOrderWithout) {
  auto sets = small(kDeepSeekSmall);
  sets.push_back("workload.micro_batches=8");
  auto overlapped = run("deepseek_v3_2048_h800_dualpipe.toml", sets);
  sets.push_back("parallel.schedule.overlap=false");
  auto sequential = run("deepseek_v3_2048_h800_dualpipe.toml", sets);
  ASSERT_TRUE(overlapped.count("a2a_exposed_s_per_step") && sequential.count("a2a_exposed_s_per_step"));
  EXPECT_LE(overlapped.at("a2a_exposed_s_per_step"), sequential.at("a2a_exposed_s_per_step"));
  EXPECT_GT(overlapped.at("a2a_hidden_s_per_step"), sequential.at("a2a_hidden_s_per_step"));
}

TEST(TrainingScenarios, DeepSeekV3ReportLayoutRunsSmallWithCountLevelNodeDedup) {
  // scenarios/scale/deepseek_v3_train_pp16_dualpipe_h800.toml shrunk: 4 nodes x 4 GPUs, 2 stages of
  // 2 nodes (EP8 over both), count-level routing forced, node_dedup All-to-All: each stage's plans
  // carry expected node bytes over the whole cluster's 4 nodes (a stage sees only 2 of them).
  const fs::path scale = fs::path(MOESIM_SOURCE_DIR) / "scenarios/scale/deepseek_v3_train_pp16_dualpipe_h800.toml";
  std::vector<std::string> sets = {"cluster.nodes=4", "cluster.devices_per_node=4", "cluster.inter_node.nics_per_node=4",
                                   "parallel.pp=2", "parallel.ep=8", "model.layers=4", "workload.seq_len=256",
                                   "workload.micro_batches=4", "routing.max_nodes=2", "routing.count_sampling=\"on\""};
  auto dedup = offload::testing::run_in_child([&] { return scenario::load_scenario(scale, sets); });
  expect_pipeline_metrics(dedup);
  sets.push_back("engine.alltoall=\"direct\"");
  auto direct = offload::testing::run_in_child([&] { return scenario::load_scenario(scale, sets); });
  // Deduplicated, a token crosses to a node once, not once per expert there: less All-to-All time.
  EXPECT_LT(dedup.at("a2a_exposed_s_per_step") + dedup.at("a2a_hidden_s_per_step"),
            direct.at("a2a_exposed_s_per_step") + direct.at("a2a_hidden_s_per_step"));
}

// A2A tasks of device 0 whose next computation on that device (in stream order) belongs to another
// micro-batch: the computation that runs while the All-to-All is in flight.
int a2a_followed_by_other_micro_batch(const graph::StepGraph& g) {
  auto on0 = [](const graph::Task& t) {
    if (const auto* c = std::get_if<graph::CollectiveWork>(&t.work)) return !c->group.empty() && std::find(c->group.begin(), c->group.end(), 0) != c->group.end();
    if (const auto* w = std::get_if<graph::ComputeWork>(&t.work)) return w->device == 0;
    return false;
  };
  int n = 0;
  for (size_t i = 0; i < g.tasks.size(); ++i) {
    const auto& t = g.tasks[i];
    if (!on0(t) || (t.op != "dispatch" && t.op != "combine" && t.op != "dispatch_bwd" && t.op != "combine_bwd")) continue;
    for (size_t j = i + 1; j < g.tasks.size(); ++j)
      if (on0(g.tasks[j]) && g.tasks[j].stream == graph::Stream::compute) {
        n += g.tasks[j].micro_batch != t.micro_batch;
        break;
      }
  }
  return n;
}

TEST(TrainingScenarios, DualPipePairsPutEachChunksAllToAllBetweenTheOtherChunksComputations) {
  // Report Fig. 4: in an overlapped pair, one chunk's dispatch/combine runs while the other chunk
  // computes. In the built graph, after an All-to-All of one micro-batch the device's next
  // computation is the other micro-batch's; run op by op (overlap = false), almost never.
  auto sets = small(kDeepSeekSmall);
  sets.push_back("workload.micro_batches=8");
  sets.push_back("model.layers=8");  // 5 MoE layers (the first 3 are dense)
  auto pairs = scenario::load_scenario(kTraining / "deepseek_v3_2048_h800_dualpipe.toml", sets);
  const int overlapped = a2a_followed_by_other_micro_batch(pairs->workload->build(0).graph);
  sets.push_back("parallel.schedule.overlap=false");
  auto ops = scenario::load_scenario(kTraining / "deepseek_v3_2048_h800_dualpipe.toml", sets);
  const int sequential = a2a_followed_by_other_micro_batch(ops->workload->build(0).graph);
  std::printf("A2A followed by the other micro-batch: %d overlapped, %d op by op\n", overlapped, sequential);
  EXPECT_GT(overlapped, 4 * std::max(sequential, 1)) << overlapped << " vs " << sequential;
}

bool same_work(const graph::Work& a, const graph::Work& b) {
  if (a.index() != b.index()) return false;
  if (const auto* x = std::get_if<graph::ComputeWork>(&a)) {
    const auto& y = std::get<graph::ComputeWork>(b);
    return x->device == y.device && x->flops.value == y.flops.value && x->duration.value == y.duration.value;
  }
  if (const auto* x = std::get_if<graph::CollectiveWork>(&a)) {
    const auto& y = std::get<graph::CollectiveWork>(b);
    return x->kind == y.kind && x->group == y.group && x->matrix == y.matrix && x->bytes.value == y.bytes.value;
  }
  return true;
}

TEST(TrainingScenarios, OneStageGraphsEqualThePlainBuilderTaskForTask) {
  // pp = 1 written out (and the other layout keys at their defaults) builds the graph the scenario
  // builds without them: same tasks, same order, same dependencies, same work and memory.
  const fs::path ex = fs::path(MOESIM_SOURCE_DIR) / "scenarios/examples/mixtral_train_2x8_a100_ep16.toml";
  std::vector<std::string> base = {"model.layers=2", "workload.seq_len=256", "workload.micro_batches=2"};
  auto with = base;
  for (const char* k : {"parallel.pp=1", "parallel.zero_stage=0", "parallel.recompute=\"none\"", "parallel.stage_placement=\"consecutive\""})
    with.push_back(k);
  auto a = scenario::load_scenario(ex, base), b = scenario::load_scenario(ex, with);
  auto ga = a->workload->build(0).graph, gb = b->workload->build(0).graph;
  ASSERT_EQ(ga.tasks.size(), gb.tasks.size());
  for (size_t i = 0; i < ga.tasks.size(); ++i) {
    const auto &x = ga.tasks[i], &y = gb.tasks[i];
    ASSERT_EQ(x.name, y.name) << i;
    EXPECT_EQ(x.deps, y.deps) << x.name;
    EXPECT_EQ(x.stream, y.stream) << x.name;
    EXPECT_TRUE(same_work(x.work, y.work)) << x.name;
    EXPECT_EQ(x.on_start.size(), y.on_start.size()) << x.name;
    EXPECT_EQ(x.on_end.size(), y.on_end.size()) << x.name;
  }
  ASSERT_EQ(ga.resident.size(), gb.resident.size());
  for (size_t i = 0; i < ga.resident.size(); ++i) EXPECT_EQ(ga.resident[i].bytes.value, gb.resident[i].bytes.value);
}

std::pair<int, std::string> moesim(const std::string& args) {
  auto r = moesim::test_support::run_moesim(args);
  return {r.code, r.output};
}

TEST(TrainingScenarios, CheckAggregatesIdenticalDevicesAtFullScale) {
  // 2,048 devices: one memory line per stage (128 identical devices each), not 2,048.
  auto [code, out] = moesim("check " + (kTraining / "deepseek_v3_2048_h800_dualpipe.toml").string());
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("memory: devices 0-127: stage 0: peak"), std::string::npos) << out;
  int lines = 0;
  for (size_t at = out.find("memory: "); at != std::string::npos; at = out.find("memory: ", at + 1)) ++lines;
  EXPECT_EQ(lines, 16);
  auto verbose = moesim("check --verbose " + (kTraining / "deepseek_v3_2048_h800_dualpipe.toml").string());
  EXPECT_NE(verbose.second.find("memory: device 2047: stage 15: peak"), std::string::npos);
  // Over capacity: one finding line for all the devices it concerns.
  auto over = moesim("check " + (kTraining / "deepseek_v3_2048_h800_dualpipe.toml").string() +
                     " --set parallel.pp=2 --set parallel.schedule.kind='\"1f1b\"'");
  EXPECT_EQ(over.first, 1) << over.second;
  EXPECT_NE(over.second.find("finding: model does not fit: devices 0-1023: stage 0: over by"), std::string::npos) << over.second;
}

}  // namespace
}  // namespace moesim::report
