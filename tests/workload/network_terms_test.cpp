// Issue 18's workload-side network terms: node-deduplicated dispatch bytes, dispatch/combine wire
// dtypes, the All-to-All microbenchmark traffic, and data-parallel all-reduces on their own stream.
#include <gtest/gtest.h>

#include <cmath>

#include "fixtures.hpp"
#include "models/workload/alltoall_bench.hpp"
#include "models/workload/dispatch.hpp"
#include "models/workload/training.hpp"

namespace moesim::workload {
namespace {

// 4 ranks on 2 nodes (ranks 0,1 on node 0; 2,3 on node 1), one expert per rank, k = 2.
struct TwoNodes {
  routing::LayerRouting r;
  ExpertPlacement place;
  DispatchInput in;
  explicit TwoNodes(std::vector<int32_t> experts) {
    r.tokens = static_cast<int64_t>(experts.size()) / 2;
    r.k = 2;
    r.experts = std::move(experts);
    place.holders = {{0}, {1}, {2}, {3}};
    in.routing = &r;
    in.token_device.assign(static_cast<size_t>(r.tokens), 0);
    in.placement = &place;
    in.group = {0, 1, 2, 3};
    in.node_of = {0, 0, 1, 1};
    in.bytes_per_token = 100;
  }
};

TEST(NodeDedup, ATokenForTwoExpertsOnOneNodeCrossesOnce) {
  // t0 -> experts 2, 3 (both on node 1): 200 bytes to ranks, 100 to the node.
  // t1 -> experts 1, 2: 100 to rank 1 (same node: not counted), 100 to node 1.
  TwoNodes f({2, 3, 1, 2});
  const DispatchPlan p = plan_dispatch(f.in);
  EXPECT_DOUBLE_EQ(p.bytes[0 * 4 + 2] + p.bytes[0 * 4 + 3], 300);
  ASSERT_EQ(p.node_bytes.size(), 4u * 2u);
  EXPECT_DOUBLE_EQ(p.node_bytes[0 * 2 + 1], 200);  // t0 once + t1 once
  EXPECT_DOUBLE_EQ(p.node_bytes[0 * 2 + 0], 0);    // own node: never counted
  // The collectives carry them, scaled to the wire dtype; the combine is the reverse.
  auto d = dispatch_collective(p, f.in.group, 0.5);
  auto c = combine_collective(p, f.in.group, 2.0);
  EXPECT_DOUBLE_EQ(d.node_bytes[0 * 2 + 1], 100);
  EXPECT_DOUBLE_EQ(d.matrix[0 * 4 + 3], 50);
  EXPECT_FALSE(d.combine);
  EXPECT_TRUE(c.combine);
  EXPECT_DOUBLE_EQ(c.matrix[3 * 4 + 0], 200);  // transpose x 2
  EXPECT_DOUBLE_EQ(c.node_bytes[0 * 2 + 1], 400);
}

TEST(WireDtypes, Fp8CarriesOneScalePer128Elements) {
  EXPECT_DOUBLE_EQ(token_bytes(hw::Dtype::fp8, 7168), 7168 + 56 * 4);  // DeepEP: hidden + hidden/128*4
  EXPECT_DOUBLE_EQ(token_bytes(hw::Dtype::bf16, 7168), 14336);
  EXPECT_DOUBLE_EQ(token_bytes(hw::Dtype::fp8, 100), 100 + 4);          // a partial block has a scale
}

TEST(WireDtypes, TrainingDispatchAndCombineUseTheirOwnDtypes) {
  auto m = testing::tiny_moe(8, 2, 2);
  m.dispatch_dtype = hw::Dtype::fp8;
  m.combine_dtype = hw::Dtype::bf16;
  auto s = testing::make_setup(m, 4, 4, 4, testing::round_robin(8, 2));
  TrainingParams p;
  p.seq_len = 64;
  auto g = make_training(p, s->ctx)->build(0).graph;
  double dispatch = 0, combine = 0;
  for (const auto& t : g.tasks) {
    const auto* c = std::get_if<graph::CollectiveWork>(&t.work);
    if (!c || c->kind != graph::CollectiveKind::alltoallv) continue;
    double sum = 0;
    for (double b : c->matrix) sum += b;
    (t.op == "dispatch" ? dispatch : t.op == "combine" ? combine : sum) += sum;
  }
  const double d = static_cast<double>(m.d_model);
  ASSERT_GT(combine, 0);
  EXPECT_NEAR(dispatch / combine, token_bytes(hw::Dtype::fp8, m.d_model) / (2 * d), 1e-12);
}

TEST(AlltoallBench, HitProbabilityClosedForms) {
  EXPECT_DOUBLE_EQ(hit_probability(1, 256, 32), 32.0 / 256);
  EXPECT_DOUBLE_EQ(hit_probability(8, 16, 10), 1.0);  // fewer than k outside: always hit
  EXPECT_NEAR(hit_probability(2, 4, 2), 1.0 - 1.0 / 6, 1e-12);  // C(2,2)/C(4,2)
}

TEST(AlltoallBench, LowLatencyTrafficIsPerSelection) {
  MoeTrafficParams q;
  q.ranks = 16;
  q.tokens = 128;
  q.top_k = 8;
  q.token_bytes = 7408;
  const MoeTraffic t = low_latency_traffic(q);
  double row = 0;
  for (int j = 0; j < 16; ++j) row += t.matrix[static_cast<size_t>(j)];
  EXPECT_DOUBLE_EQ(row, 128 * 8 * 7408.0);  // every selection, the local ones included
  EXPECT_DOUBLE_EQ(t.reported_bytes, row);
}

TEST(AlltoallBench, NormalTrafficDeduplicatesPerRankAndPerNode) {
  MoeTrafficParams q;
  q.ranks = 32;
  q.ranks_per_node = 8;
  q.tokens = 4096;
  q.experts = 256;
  q.top_k = 8;
  q.top_groups = 4;
  q.token_bytes = 1;
  const MoeTraffic t = normal_traffic(q);
  // A node is reached less often than the sum of its ranks (dedup), more than any one rank.
  double to_node1 = 0;
  for (int j = 8; j < 16; ++j) to_node1 += t.matrix[static_cast<size_t>(j)];
  EXPECT_LT(t.node_bytes[1], to_node1);
  EXPECT_GT(t.node_bytes[1], t.matrix[8]);
  // 4 nodes, top-4 groups: every node is a candidate; E[distinct ranks] = 32 x hit(8, 256, 8).
  double ranks = 0;
  for (int j = 0; j < 32; ++j) ranks += t.matrix[static_cast<size_t>(j)];
  EXPECT_NEAR(ranks / 4096, 32 * hit_probability(8, 256, 8), 1e-9);
}

TEST(DataParallelStream, GradientAllReducesLeaveTheCommStream) {
  auto s = testing::make_setup(testing::tiny_moe(8, 2, 2), 8, 4, 4, testing::round_robin(8, 2));
  TrainingParams p;
  p.seq_len = 64;
  auto count = [&](const std::string& dp_stream) {
    p.dp_stream = dp_stream;
    auto g = make_training(p, s->ctx)->build(0).graph;
    int on_io = 0, total = 0;
    for (const auto& t : g.tasks)
      if (t.op == "grad_allreduce") ++total, on_io += t.stream == graph::Stream::io;
    return std::pair{on_io, total};
  };
  const auto [sep_io, sep_total] = count("separate");
  EXPECT_GT(sep_total, 0);
  EXPECT_EQ(sep_io, sep_total);
  EXPECT_EQ(count("comm").first, 0);
}

}  // namespace
}  // namespace moesim::workload
