#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "fixtures.hpp"
#include "models/workload/inference.hpp"
#include "models/workload/token_costs.hpp"

namespace moesim::workload {
namespace {

using namespace testing;

double compute_seconds(const graph::StepGraph& g, const std::string& op, int32_t device) {
  double s = 0;
  for (const auto& t : g.tasks)
    if (t.op == op)
      if (auto* w = std::get_if<graph::ComputeWork>(&t.work); w && w->device == device) s += w->duration.value;
  return s;
}

int count_op(const graph::StepGraph& g, const std::string& op) {
  return static_cast<int>(std::count_if(g.tasks.begin(), g.tasks.end(), [&](const auto& t) { return t.op == op; }));
}

void expect_well_formed(const graph::StepGraph& g) {
  for (size_t i = 0; i < g.tasks.size(); ++i)
    for (auto d : g.tasks[i].deps) EXPECT_LT(d, static_cast<graph::TaskId>(i)) << g.tasks[i].name;
}

InferenceParams params(int64_t batch, int64_t prompt, int64_t gen) {
  InferenceParams p;
  p.batch = batch;
  p.prompt_tokens = prompt;
  p.generate_tokens = gen;
  return p;
}

TEST(Inference, PrefillThenDecodeStepsWithLayersAndCollectives) {
  auto s = make_setup(tiny_moe(8, 2, 2), 4, 4, 4, round_robin(8, 2));
  auto w = make_inference(params(8, 16, 3), s->ctx);
  ASSERT_EQ(w->steps(), 3);
  auto prefill = w->build(0);
  auto decode = w->build(1);
  expect_well_formed(prefill.graph);
  EXPECT_EQ(prefill.info.phase, "prefill");
  EXPECT_EQ(decode.info.phase, "decode");
  EXPECT_EQ(prefill.info.tokens, 8 * 16);
  EXPECT_EQ(decode.info.tokens, 8);
  EXPECT_EQ(count_op(prefill.graph, "dispatch"), 2);   // one per MoE layer (one EP group)
  EXPECT_EQ(count_op(prefill.graph, "combine"), 2);
  EXPECT_EQ(count_op(prefill.graph, "expert_ffn"), 2 * 4);
  EXPECT_EQ(prefill.info.routed_slots, 2 * 8 * 16 * 2);
  // Every device appears in the collectives, and the matrix has the group size squared.
  for (const auto& t : prefill.graph.tasks)
    if (auto* c = std::get_if<graph::CollectiveWork>(&t.work)) {
      EXPECT_EQ(c->group.size(), 4u);
      EXPECT_EQ(c->matrix.size(), 16u);
    }
  EXPECT_GT(prefill.info.a2a_bytes, 0);
  EXPECT_EQ(prefill.info.inter_node_bytes, 0);  // one node
}

// Local permutation (step_assembler.cpp, local_permute): per rank and MoE layer, a gather of
// 2 x S_r bytes before the dispatch and a scatter-add of S_r + T_r bytes after the combine, with
// S_r = the rank's routed slots x row bytes and T_r = its tokens x row bytes; zero FLOPs.
TEST(Inference, PermuteAndUnpermuteMoveTheRoutedRowsOnEachRank) {
  auto m = tiny_moe(8, 2, 2);
  auto s = make_setup(m, 4, 4, 4, round_robin(8, 2));
  auto prefill = make_inference(params(8, 16, 1), s->ctx)->build(0);
  const double row = static_cast<double>(m.d_model) * hw::dtype_bytes(m.activation_dtype);
  const double tokens = 8.0 * 16 / 4, slots = tokens * 2;
  std::map<std::pair<std::string, int32_t>, double> bytes;
  std::map<std::string, int> count;
  for (size_t i = 0; i < prefill.graph.tasks.size(); ++i) {
    const auto& t = prefill.graph.tasks[i];
    if (t.op != "permute" && t.op != "unpermute") continue;
    const auto& w = std::get<graph::ComputeWork>(t.work);
    EXPECT_EQ(w.flops.value, 0.0) << t.name;
    EXPECT_GT(w.duration.value, 0.0) << t.name;
    bytes[{t.op, w.device}] += w.bytes.value;
    ++count[t.op];
  }
  EXPECT_EQ(count["permute"], 2 * 4);
  EXPECT_EQ(count["unpermute"], 2 * 4);
  for (int32_t d = 0; d < 4; ++d) {
    EXPECT_DOUBLE_EQ((bytes[{"permute", d}]), 2 * 2 * slots * row) << d;
    EXPECT_DOUBLE_EQ((bytes[{"unpermute", d}]), 2 * (slots + tokens) * row) << d;
  }
  // The dispatch waits for the gather, the scatter-add for the combine.
  auto index_of = [&](const std::string& op) {
    for (size_t i = 0; i < prefill.graph.tasks.size(); ++i)
      if (prefill.graph.tasks[i].op == op) return static_cast<graph::TaskId>(i);
    return graph::TaskId(-1);
  };
  const auto& dispatch = prefill.graph.tasks[static_cast<size_t>(index_of("dispatch"))];
  EXPECT_NE(std::find(dispatch.deps.begin(), dispatch.deps.end(), index_of("permute")), dispatch.deps.end());
  const auto& unpermute = prefill.graph.tasks[static_cast<size_t>(index_of("unpermute"))];
  EXPECT_NE(std::find(unpermute.deps.begin(), unpermute.deps.end(), index_of("combine")), unpermute.deps.end());
}

TEST(Inference, KvCacheGrowsByOneTokenPerRequestPerStep) {
  auto m = tiny_moe(8, 2, 2);
  auto s = make_setup(m, 2, 2, 2, round_robin(8, 2));
  auto w = make_inference(params(4, 10, 4), s->ctx);
  double kv_tok = 0;
  for (int l = 0; l < 2; ++l) kv_tok += layer_token_costs(m, l, 0).kv_bytes;
  auto s1 = w->build(1), s2 = w->build(2);
  double r1 = sum_bytes(s1.graph.resident, 0, graph::MemCategory::kv_cache);
  double r2 = sum_bytes(s2.graph.resident, 0, graph::MemCategory::kv_cache);
  EXPECT_DOUBLE_EQ(r1, 2 * 10 * kv_tok);  // 2 requests on device 0, prompt written by prefill
  EXPECT_DOUBLE_EQ(r2 - r1, 2 * kv_tok);
  // Weights: replicated non-expert weights plus 4 experts per MoE layer.
  double wts = sum_bytes(s1.graph.resident, 0, graph::MemCategory::weights);
  double expect = 0;
  for (int l = 0; l < 2; ++l) expect += layer_non_expert_params(m, l);
  expect = (expect + embedding_params(m) + 2 * 4 * expert_params(m)) * 2.0;
  EXPECT_DOUBLE_EQ(wts, expect);
}

TEST(Inference, TransientMemoryIsBalancedAndKvPersists) {
  auto m = tiny_moe(8, 2, 2);
  auto s = make_setup(m, 2, 2, 2, round_robin(8, 2));
  auto w = make_inference(params(4, 10, 2), s->ctx);
  auto st = w->build(1);
  std::vector<double> net(graph::kMemCategories, 0.0);
  for (const auto& t : st.graph.tasks) {
    for (const auto& d : t.on_start) if (d.device == 0) net[static_cast<size_t>(d.category)] += d.bytes.value;
    for (const auto& d : t.on_end) if (d.device == 0) net[static_cast<size_t>(d.category)] += d.bytes.value;
  }
  EXPECT_NEAR(net[static_cast<size_t>(graph::MemCategory::a2a_buffers)], 0, 1e-6);
  EXPECT_NEAR(net[static_cast<size_t>(graph::MemCategory::workspace)], 0, 1e-6);
  double kv_tok = 0;
  for (int l = 0; l < 2; ++l) kv_tok += layer_token_costs(m, l, 0).kv_bytes;
  EXPECT_DOUBLE_EQ(net[static_cast<size_t>(graph::MemCategory::kv_cache)], 2 * kv_tok);
  auto peaks = sequential_memory_peaks(st.graph, 2);
  EXPECT_GT(peaks[0].total, sum_bytes(st.graph.resident, 0, graph::MemCategory::weights));
}

TEST(Inference, SkewedRoutingMakesOneDeviceTheExpertStraggler) {
  // Every token picks experts 0 and 1, both on device 0.
  auto skew = make_setup(tiny_moe(8, 2, 2), 4, 4, 4, [](int64_t, int32_t, int64_t, int32_t slot) { return slot; });
  auto uni = make_setup(tiny_moe(8, 2, 2), 4, 4, 4, round_robin(8, 2));
  auto ws = make_inference(params(16, 32, 1), skew->ctx);
  auto wu = make_inference(params(16, 32, 1), uni->ctx);
  auto gs = ws->build(0).graph, gu = wu->build(0).graph;
  EXPECT_GT(compute_seconds(gs, "expert_ffn", 0), compute_seconds(gu, "expert_ffn", 0));
  EXPECT_EQ(compute_seconds(gs, "expert_ffn", 1), 0.0);
  auto flops_on = [](const graph::StepGraph& g, int32_t dev) {
    double f = 0;
    for (const auto& t : g.tasks)
      if (t.op == "expert_ffn" && std::get<graph::ComputeWork>(t.work).device == dev)
        f += std::get<graph::ComputeWork>(t.work).flops.value;
    return f;
  };
  EXPECT_DOUBLE_EQ(flops_on(gs, 0), 4.0 * flops_on(gu, 0));  // all 4 devices' slots land on device 0
  // Same total expert work either way (same tokens and k): skew only moves it.
  double total_s = 0, total_u = 0;
  for (const auto& t : gs.tasks) if (t.op == "expert_ffn") total_s += std::get<graph::ComputeWork>(t.work).flops.value;
  for (const auto& t : gu.tasks) if (t.op == "expert_ffn") total_u += std::get<graph::ComputeWork>(t.work).flops.value;
  EXPECT_DOUBLE_EQ(total_s, total_u);
}

TEST(Inference, TwoBatchOverlapSplitsIntoTwoIndependentMicroBatches) {
  auto s = make_setup(tiny_moe(8, 2, 2), 2, 2, 2, round_robin(8, 2));
  auto p = params(8, 16, 1);
  p.two_batch_overlap = true;
  auto g = make_inference(p, s->ctx)->build(0).graph;
  EXPECT_EQ(count_op(g, "dispatch"), 4);
  std::set<int32_t> mbs;
  for (const auto& t : g.tasks) mbs.insert(t.micro_batch);
  EXPECT_EQ(mbs, (std::set<int32_t>{0, 1}));
  // No task of one micro-batch waits for a task of the other.
  for (const auto& t : g.tasks)
    for (auto d : t.deps) EXPECT_EQ(g.tasks[d].micro_batch, t.micro_batch) << t.name;
  EXPECT_EQ(s->routing->calls, 4);
}

TEST(Inference, DropsAreCountedWithACapacityFactor) {
  auto s = make_setup(tiny_moe(8, 2, 1), 2, 2, 2, [](int64_t, int32_t, int64_t, int32_t slot) { return slot; });
  auto p = params(4, 8, 1);
  p.capacity_factor = 1.0;
  auto info = make_inference(p, s->ctx)->build(0).info;
  // 64 slots, capacity ceil(64/8) = 8 per expert; experts 0 and 1 keep 8 each.
  EXPECT_EQ(info.routed_slots, 64);
  EXPECT_EQ(info.dropped_slots, 48);
}

TEST(Inference, ReadsParamsAndRejectsUnknownKeys) {
  auto doc = config::Document::parse("batch = 3\nprompt_tokens = 7\nphases = \"decode\"\n", "w.toml");
  auto p = read_inference_params(config::Table::root(doc));
  EXPECT_EQ(p.batch, 3);
  EXPECT_EQ(p.prompt_tokens, 7);
  EXPECT_EQ(p.phases, "decode");
  auto bad = config::Document::parse("bach = 3\n", "w.toml");
  EXPECT_THROW(read_inference_params(config::Table::root(bad)), ConfigError);
}

}  // namespace
}  // namespace moesim::workload
