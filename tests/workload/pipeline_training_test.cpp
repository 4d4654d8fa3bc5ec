// The pipelined training builder: stage-to-stage sends, per-device order, ZeRO memory
// against the closed form, and pp = 1 against the plain builder.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "fixtures.hpp"
#include "models/workload/layout.hpp"
#include "models/workload/pipeline_training.hpp"
#include "models/workload/token_costs.hpp"
#include "models/workload/zero.hpp"

namespace moesim::workload {
namespace {

using namespace testing;

struct Rig {
  std::unique_ptr<Setup> setup;
  Layout layout;
};

// `devices` on nodes of 4; [parallel] keys in `parallel`; the EP strategy over one stage.
Rig make_rig(int32_t devices, int32_t ep, const std::string& parallel, int64_t layers = 4) {
  Rig r;
  auto doc = config::Document::parse(parallel, "parallel.toml");
  std::vector<int32_t> node_of;
  for (int32_t d = 0; d < devices; ++d) node_of.push_back(d / 4);
  config::Table t = config::Table::root(doc);
  r.layout = read_layout(t, layers, node_of);
  r.setup = make_setup(tiny_moe(8, 2, layers), r.layout.stage_size(), 4, ep, round_robin(8, 2));
  r.setup->ctx.cluster.devices = devices;
  r.setup->ctx.cluster.node_of = node_of;
  r.setup->ctx.layout = &r.layout;
  return r;
}

TrainingParams params(int64_t micro_batches = 4) {
  TrainingParams p;
  p.seq_len = 64;
  p.micro_batches = micro_batches;
  return p;
}

std::vector<int32_t> devices_of(const graph::Task& t) { return graph::StepGraph::devices_of(t); }

TEST(PipelineTraining, StagesSendActivationsAndGradientsBetweenPeers) {
  auto r = make_rig(8, 4, "pp = 2\n");
  auto g = make_pipeline_training(params(), r.setup->ctx)->build(0).graph;
  EXPECT_NO_THROW(g.validate());
  int fwd = 0, bwd = 0;
  for (const auto& t : g.tasks) {
    if (t.op != "pp_send" && t.op != "pp_send_bwd") continue;
    const auto& w = std::get<graph::CollectiveWork>(t.work);
    ASSERT_EQ(w.group.size(), 2u);
    EXPECT_EQ(w.group[1] - w.group[0], t.op == "pp_send" ? 4 : -4);  // device i of stage 0 <-> device i of stage 1
    EXPECT_DOUBLE_EQ(w.matrix[1], 64 * 256 * 2.0);                  // tokens x d_model x bf16
    (t.op == "pp_send" ? fwd : bwd)++;
  }
  EXPECT_EQ(fwd, 4 * 4);  // micro-batches x devices per stage
  EXPECT_EQ(bwd, 4 * 4);
  // Layers 0-1 on devices 0-3, layers 2-3 and the LM head on devices 4-7.
  for (const auto& t : g.tasks) {
    if (t.layer < 0 || t.stream != graph::Stream::compute) continue;
    for (int32_t d : devices_of(t)) EXPECT_EQ(d / 4, t.layer / 2) << t.name;
  }
}

TEST(PipelineTraining, EveryDeviceRunsEachForwardBeforeItsBackward) {
  for (const char* kind : {"1f1b", "gpipe", "zero_bubble", "dualpipe"}) {
    auto r = make_rig(8, 4, fmt::format("pp = 2\n[schedule]\nkind = \"{}\"\n", kind));
    auto g = make_pipeline_training(params(), r.setup->ctx)->build(0).graph;
    EXPECT_NO_THROW(g.validate()) << kind;
    std::map<std::tuple<int32_t, int32_t, int32_t>, size_t> first_fwd;  // (device, mb, layer)
    for (size_t i = 0; i < g.tasks.size(); ++i) {
      const auto& t = g.tasks[i];
      if (t.op != "attention" && t.op != "attention_bwd") continue;
      int32_t d = std::get<graph::ComputeWork>(t.work).device;
      auto key = std::make_tuple(d, t.micro_batch, t.layer);
      if (t.op == "attention") first_fwd.emplace(key, i);
      else {
        ASSERT_TRUE(first_fwd.count(key)) << kind << " " << t.name;
        EXPECT_LT(first_fwd[key], i);
      }
    }
  }
}

TEST(PipelineTraining, ZeroResidentMemoryIsTheClosedForm) {
  for (int32_t zero : {0, 1, 2, 3}) {
    auto r = make_rig(8, 2, fmt::format("pp = 2\nzero_stage = {}\n", zero));
    auto g = make_pipeline_training(params(), r.setup->ctx)->build(0).graph;
    const auto& m = r.setup->model;
    // Stage 0 holds layers 0-1 and the embedding; dense data-parallel group = its 4 devices. EP2:
    // 4 experts per device per MoE layer, each on 2 devices (2 EP groups per stage).
    double dense = layer_non_expert_params(m, 0) + layer_non_expert_params(m, 1) + double(m.vocab_size) * m.d_model;
    double expert = 2 * 4 * expert_params(m);
    auto Z = [&](int32_t stage, double dp) { return zero_bytes_per_param(stage, dp, 2, 2, 12); };
    // ZeRO paper Sec. 5.1: 16 psi at stage 0; 4 psi + 12 psi / N_d; 2 psi + 14 psi / N_d; 16 psi / N_d.
    const double closed[4] = {16.0, 4.0 + 12.0 / 4, 2.0 + 14.0 / 4, 16.0 / 4};
    EXPECT_DOUBLE_EQ(Z(zero, 4).total(), closed[zero]);
    double want = dense * Z(zero, 4).total() + expert * Z(zero, 2).total();
    double got = 0;
    for (auto c : {graph::MemCategory::weights, graph::MemCategory::gradients, graph::MemCategory::optimizer_state})
      got += sum_bytes(g.resident, 0, c);
    EXPECT_NEAR(got, want, want * 1e-12) << "ZeRO-" << zero;
    // The static estimate reports the same resident bytes.
    auto est = estimate_training_memory(params(), r.setup->ctx);
    double est_resident = est[0].by_category[0] + est[0].by_category[1] + est[0].by_category[2];
    if (zero < 3) EXPECT_NEAR(est_resident, want, want * 1e-12);
  }
}

TEST(PipelineTraining, ExpertZeroStageIsSeparate) {
  auto r = make_rig(8, 2, "pp = 2\nzero_stage = 1\nexpert_zero_stage = 0\n");
  auto g = make_pipeline_training(params(), r.setup->ctx)->build(0).graph;
  const auto& m = r.setup->model;
  double dense = layer_non_expert_params(m, 0) + layer_non_expert_params(m, 1) + double(m.vocab_size) * m.d_model;
  double want = dense * (4.0 + 12.0 / 4) + 2 * 4 * expert_params(m) * 16.0;
  EXPECT_NEAR(sum_bytes(g.resident, 0, graph::MemCategory::optimizer_state) + sum_bytes(g.resident, 0, graph::MemCategory::weights) +
                  sum_bytes(g.resident, 0, graph::MemCategory::gradients),
              want, want * 1e-12);
}

double total_flops(const graph::StepGraph& g, const std::string& op) {
  double s = 0;
  for (const auto& t : g.tasks)
    if (t.op == op) s += std::get<graph::ComputeWork>(t.work).flops.value;
  return s;
}

TEST(PipelineTraining, OneStageDoesTheSameWorkAsThePlainBuilder) {
  // pp = 1 with ZeRO-1 takes the pipelined builder: the same forward/backward work and the same
  // All-to-All bytes as the plain builder (only the gradient and optimizer tasks differ).
  auto r = make_rig(4, 4, "zero_stage = 1\n");
  auto piped = make_pipeline_training(params(), r.setup->ctx)->build(0);
  auto plain = make_training(params(), r.setup->ctx)->build(0);
  for (const char* op : {"attention", "attention_bwd", "expert_ffn", "expert_ffn_bwd", "dense_ffn", "lm_head", "lm_head_bwd"})
    EXPECT_DOUBLE_EQ(total_flops(piped.graph, op), total_flops(plain.graph, op)) << op;
  EXPECT_DOUBLE_EQ(piped.info.a2a_bytes, plain.info.a2a_bytes);
  EXPECT_EQ(piped.info.tokens, plain.info.tokens);
}

TEST(PipelineTraining, RecomputationKeepsLessAndPaysAForward) {
  auto none = make_rig(8, 4, "pp = 2\n");
  auto full = make_rig(8, 4, "pp = 2\nrecompute = \"full\"\n");
  auto est_none = estimate_training_memory(params(), none.setup->ctx);
  auto est_full = estimate_training_memory(params(), full.setup->ctx);
  EXPECT_LT(est_full[0].by_category[3], est_none[0].by_category[3]);
  auto g = make_pipeline_training(params(), full.setup->ctx)->build(0).graph;
  EXPECT_NO_THROW(g.validate());
  int recompute = 0;
  double act = 0;
  for (const auto& t : g.tasks) {
    recompute += t.op == "recompute";
    for (const auto* v : {&t.on_start, &t.on_end})
      for (const auto& d : *v)
        if (d.category == graph::MemCategory::activations) act += d.bytes.value;
  }
  EXPECT_EQ(recompute, 4 * 8);  // one per micro-batch per device
  EXPECT_NEAR(act, 0.0, 1e-3);  // every activation allocated is freed
}

TEST(PipelineTraining, LayoutErrorsNameTheKey) {
  std::vector<int32_t> nodes(8, 0);
  auto bad = [&](const std::string& text) {
    auto doc = config::Document::parse(text, "p.toml");
    config::Table t = config::Table::root(doc);
    read_layout(t, 4, nodes);
  };
  EXPECT_THROW(bad("pp = 3\n"), ConfigError);
  EXPECT_THROW(bad("pp = 2\nstage_layers = [1, 2]\n"), ConfigError);
  EXPECT_THROW(bad("pp = 2\nrecompute = \"some\"\n"), ConfigError);
  EXPECT_THROW(bad("zero_stage = 4\n"), ConfigError);
  auto doc = config::Document::parse("pp = 2\nstage_layers = [1, 3]\n", "p.toml");
  Layout l = read_layout(config::Table::root(doc), 4, nodes);
  EXPECT_EQ(l.chunk_first_layer, (std::vector<int32_t>{0, 1, 4}));
}

// Found by fuzz_scenario_toml (heap-buffer-overflow): stages that are not a multiple of a node
// (3 nodes of 8 GPUs in 2 stages of 12) dealt node-sized blocks to a third stage.
TEST(PipelineTraining, StagesThatSplitANodeStillCoverEveryDeviceOnce) {
  std::vector<int32_t> nodes;
  for (int32_t n = 0; n < 3; ++n)
    for (int32_t g = 0; g < 8; ++g) nodes.push_back(n);
  for (const char* placement : {"consecutive", "round_robin"}) {
    auto doc = config::Document::parse(fmt::format("pp = 2\nstage_placement = \"{}\"\n", placement), "p.toml");
    Layout l = read_layout(config::Table::root(doc), 4, nodes);
    ASSERT_EQ(l.stage_devices.size(), 2u) << placement;
    std::vector<int> seen(24, 0);
    for (const auto& stage : l.stage_devices) {
      EXPECT_EQ(stage.size(), 12u) << placement;
      for (int32_t d : stage) ++seen.at(static_cast<size_t>(d));
    }
    for (int c : seen) EXPECT_EQ(c, 1) << placement;
  }
}

}  // namespace
}  // namespace moesim::workload
