#include <gtest/gtest.h>

#include "fixtures.hpp"
#include "models/workload/token_costs.hpp"
#include "models/workload/training.hpp"

namespace moesim::workload {
namespace {

using namespace testing;

TrainingParams params() {
  TrainingParams p;
  p.micro_batch_size = 1;
  p.seq_len = 64;
  p.micro_batches = 2;
  return p;
}

double flops_of(const graph::StepGraph& g, const std::string& op) {
  double s = 0;
  for (const auto& t : g.tasks)
    if (t.op == op) s += std::get<graph::ComputeWork>(t.work).flops.value;
  return s;
}

TEST(Training, BackwardIsTwiceForwardAndActivationsAreFreed) {
  auto s = make_setup(tiny_moe(8, 2, 2), 4, 4, 4, round_robin(8, 2));
  auto st = make_training(params(), s->ctx)->build(0);
  const auto& g = st.graph;
  EXPECT_DOUBLE_EQ(flops_of(g, "expert_ffn_bwd"), 2.0 * flops_of(g, "expert_ffn"));
  EXPECT_GT(flops_of(g, "attention_bwd"), 2.0 * flops_of(g, "attention"));  // + gate backward
  double act = 0;
  for (const auto& t : g.tasks) {
    for (const auto& d : t.on_start) if (d.category == graph::MemCategory::activations) act += d.bytes.value;
    for (const auto& d : t.on_end) if (d.category == graph::MemCategory::activations) act += d.bytes.value;
  }
  EXPECT_NEAR(act, 0.0, 1e-3);
  EXPECT_EQ(st.info.tokens, 4 * 64 * 2);
  EXPECT_EQ(st.info.phase, "train");
}

TEST(Training, AllReducesGradientsAndRunsTheOptimizerLast) {
  auto s = make_setup(tiny_moe(8, 2, 2), 8, 4, 4, round_robin(8, 2));  // 2 EP groups of 4
  auto g = make_training(params(), s->ctx)->build(0).graph;
  int dense_ar = 0, expert_ar = 0, optim = 0;
  for (const auto& t : g.tasks) {
    if (t.name.find("expert_grad_allreduce") != std::string::npos) ++expert_ar;
    else if (t.op == "grad_allreduce") ++dense_ar;
    if (t.op == "optimizer") {
      ++optim;
      bool waits_for_reduce = false;
      for (auto d : t.deps) waits_for_reduce |= g.tasks[d].op == "grad_allreduce";
      EXPECT_TRUE(waits_for_reduce);
    }
  }
  EXPECT_EQ(dense_ar, 2 + 1);       // per layer + embeddings
  EXPECT_EQ(expert_ar, 2 * 4);      // per MoE layer, per rank of the EP group
  EXPECT_EQ(optim, 8);
  // Resident: weights, gradients and optimizer state in 2 : 2 : 12.
  double w = sum_bytes(g.resident, 3, graph::MemCategory::weights);
  EXPECT_DOUBLE_EQ(sum_bytes(g.resident, 3, graph::MemCategory::gradients), w);
  EXPECT_DOUBLE_EQ(sum_bytes(g.resident, 3, graph::MemCategory::optimizer_state), 6.0 * w);
  EXPECT_DOUBLE_EQ(w, 2.0 * device_params(s->model, 2));
}

TEST(Training, TwoBatchOverlapHalvesMicroBatchTokens) {
  auto p = params();
  p.two_batch_overlap = true;
  auto s = make_setup(tiny_moe(8, 2, 1), 2, 2, 2, round_robin(8, 2));
  auto g = make_training(p, s->ctx)->build(0).graph;
  int dispatch = 0;
  for (const auto& t : g.tasks) dispatch += t.op == "dispatch";
  EXPECT_EQ(dispatch, 2 * 2);  // 2 accumulation steps x 2 halves, 1 MoE layer
  EXPECT_EQ(s->routing->calls, 4);
}

}  // namespace
}  // namespace moesim::workload
