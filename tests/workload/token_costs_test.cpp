// The workload's per-token costs come from model_math (one implementation), and the attention
// task of a training iteration is priced like FlashAttention: a guard against charging prefill and
// training as if every token re-read the whole K/V (the decode pattern), which made GPT-MoE-S
// attention on an A100 ~50x too slow.
#include <gtest/gtest.h>

#include "fixtures.hpp"
#include "hardware/compute_model.hpp"
#include "hardware/readers.hpp"
#include "models/model_reader.hpp"
#include "models/workload/inference.hpp"
#include "models/workload/token_costs.hpp"
#include "models/workload/training.hpp"

namespace moesim::workload {
namespace {

using namespace testing;

double sum_of(const graph::StepGraph& g, const std::string& op, int32_t layer, bool bytes) {
  double s = 0;
  for (const auto& t : g.tasks)
    if (t.op == op && t.layer == layer) {
      const auto& w = std::get<graph::ComputeWork>(t.work);
      s += bytes ? w.bytes.value : w.flops.value;
    }
  return s;
}

double seconds_of(const graph::StepGraph& g, const std::string& op, int32_t layer) {
  double s = 0;
  for (const auto& t : g.tasks)
    if (t.op == op && t.layer == layer) s += std::get<graph::ComputeWork>(t.work).duration.value;
  return s;
}

TEST(TokenCosts, TasksAreSumsOfTheModelOperators) {
  model::ModelSpec m = tiny_moe(8, 2, 2);
  m.shared_experts = 1;
  m.shared_expert_ffn_dim = 256;
  auto span = model::sequence_span(512, true);
  LayerTokenCosts c = layer_token_costs(m, 1, span);
  double attn = 0, attn_bwd = 0, attn_bytes = 0;
  for (const auto& op : model::layer_ops_per_token(m, 1, span)) {
    if (op.op == "attention_proj" || op.op == "attention_core" || op.op == "norm") {
      attn += op.flops.value;
      attn_bytes += op.activation_bytes.value;
      attn_bwd += model::backward_of(op).flops.value;
    }
    if (op.op == "gate") {
      EXPECT_DOUBLE_EQ(c.gate.flops, op.flops.value);
    }
    if (op.op == "shared_expert") {
      EXPECT_DOUBLE_EQ(c.shared_expert.flops, op.flops.value);
    }
  }
  EXPECT_DOUBLE_EQ(c.attention.flops, attn);
  EXPECT_DOUBLE_EQ(c.attention.activation_bytes, attn_bytes);
  EXPECT_DOUBLE_EQ(c.attention_bwd.flops, attn_bwd);
  EXPECT_DOUBLE_EQ(c.expert.flops, model::expert_ffn_per_token(m).flops.value);
  EXPECT_DOUBLE_EQ(c.expert.weight_bytes, model::expert_weight_bytes(m).value);
  EXPECT_DOUBLE_EQ(lm_head_costs(m).flops, model::lm_head_per_token(m).flops.value);
  EXPECT_DOUBLE_EQ(c.kv_bytes, model::kv_cache_bytes_per_token(m, 1).value);
  // The double overload is the decode pattern (one query over `context` keys).
  EXPECT_DOUBLE_EQ(layer_token_costs(m, 1, 300.0).attention.activation_bytes,
                   layer_token_costs(m, 1, model::decode_span(300)).attention.activation_bytes);
}

TEST(TokenCosts, TrainingBackwardIsTwoToTwoAndAHalfTimesForward) {
  auto s = make_setup(tiny_moe(8, 2, 2), 2, 2, 2, round_robin(8, 2));
  TrainingParams p;
  p.micro_batch_size = 2;
  p.seq_len = 256;
  auto g = make_training(p, s->ctx)->build(0).graph;
  LayerTokenCosts c = layer_token_costs(s->model, 0, model::sequence_span(256, true));
  double T = 2.0 * 512;  // tokens over both devices
  double fwd = sum_of(g, "attention", 0, false), bwd = sum_of(g, "attention_bwd", 0, false);
  EXPECT_DOUBLE_EQ(fwd, T * c.attention.flops);
  double attn_bwd = bwd - T * 2.0 * c.gate.flops;  // the attention backward task also runs the gate's
  EXPECT_NEAR(attn_bwd, T * c.attention_bwd.flops, 1e-6 * attn_bwd);
  EXPECT_GT((fwd + attn_bwd) / fwd, 3.0);
  EXPECT_LT((fwd + attn_bwd) / fwd, 3.5);
  EXPECT_DOUBLE_EQ(sum_of(g, "expert_ffn_bwd", 0, false), 2.0 * sum_of(g, "expert_ffn", 0, false));
}

TEST(TokenCosts, PrefillAttentionBytesAreLinearAndDecodeBytesFollowTheCache) {
  auto s = make_setup(tiny_moe(8, 2, 1), 1, 1, 1, round_robin(8, 2));
  auto bytes = [&](int64_t prompt, int64_t step) {
    InferenceParams p;
    p.batch = 2;
    p.prompt_tokens = prompt;
    p.generate_tokens = 4;
    auto g = make_inference(p, s->ctx)->build(step).graph;
    return sum_of(g, "attention", 0, true) - layer_token_costs(s->model, 0, 1.0).attention.weight_bytes;
  };
  EXPECT_NEAR(bytes(4096, 0) / bytes(2048, 0), 2.0, 1e-9);  // prefill: O(T), not O(T * S)
  // Decode: each step's single query per request reads the request's whole cache.
  double kv = layer_token_costs(s->model, 0, 1.0).kv_bytes;
  EXPECT_NEAR(bytes(2048, 2) - bytes(2048, 1), 2 * kv, 1e-6);  // one more cached token per request
  EXPECT_GT(bytes(4096, 1) - bytes(2048, 1), 2 * 2047 * kv);
}

// Hand calculation (docs/models.md): GPT-MoE-S (d = 768, 12 heads) at 8192 tokens per GPU (4 x
// 2048), one layer: projections 2*T*4d^2 = 38.7 GFLOP, scores 2*2*T*S*d with causal mean S = 1024
// 25.8 GFLOP; forward + backward ~3x = 0.19 TFLOP; at half the fp16 peak of an A100 (312 TFLOP/s)
// ~1.2 ms. The simulated attention + attention_bwd tasks of one layer must be within 3x of it.
TEST(TokenCosts, GptMoeSAttentionOnA100IsWithinThreeTimesTheHandCalculation) {
  model::ModelSpec m;
  hw::DeviceSpec dev;
  try {
    m = model::load_catalog_model("hecate_gpt_moe_s");
    auto doc = config::Document::parse("preset = \"a100_40gb\"\n", "test");
    dev = hw::read_device(config::Table::root(doc));
  } catch (const std::exception& e) {
    GTEST_SKIP() << "catalog not readable: " << e.what();
  }
  m.layers = 1;
  auto s = make_setup(m, 1, 1, 1, round_robin(static_cast<int32_t>(m.experts), static_cast<int32_t>(m.top_k)));
  s->ctx.compute_time = [dev](const graph::ComputeWork& w) {
    return hw::op_time(dev, w.flops, w.bytes, w.dtype, w.gemm_m, w.kernels);
  };
  TrainingParams p;
  p.micro_batch_size = 4;
  p.seq_len = 2048;
  auto g = make_training(p, s->ctx)->build(0).graph;
  const double T = 8192, d = 768, S = 1024;
  double hand_flops = 3.0 * (2 * T * 4 * d * d + 2 * 2 * T * S * d);
  double hand_s = hand_flops / (0.5 * 312e12);
  double sim_s = seconds_of(g, "attention", 0) + seconds_of(g, "attention_bwd", 0);
  EXPECT_GT(sim_s, hand_s / 3.0) << sim_s;
  EXPECT_LT(sim_s, hand_s * 3.0) << sim_s;
  double sim_flops = sum_of(g, "attention", 0, false) + sum_of(g, "attention_bwd", 0, false);
  EXPECT_NEAR(sim_flops / hand_flops, 1.0, 0.15);
}

}  // namespace
}  // namespace moesim::workload
