// Pipeline schedules: validity, the bubble formulas on the communication-free replay,
// and the activation limits each promises.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "models/workload/pipeline_replay.hpp"
#include "models/workload/zero.hpp"
#include "sim/core/errors.hpp"

namespace moesim::workload {
namespace {

using K = PipelineOp::Kind;

std::unique_ptr<IPipelineSchedule> schedule(const std::string& text) {
  auto doc = config::Document::parse(text, "test.toml");
  return PipelineScheduleRegistry::instance().create(config::Table::root(doc));
}

// Uniform stage times: forward f per stage (split over the chunks a stage holds), backward 2f,
// B and W f each.
OpDuration uniform(int32_t chunks_per_stage, double f = 1.0) {
  return [=](int32_t, const PipelineOp& op) {
    double t = f / chunks_per_stage;
    return op.kind == K::backward ? 2 * t : t;
  };
}

TEST(PipelineSchedule, EveryKindIsValidAndRunsForwardBeforeBackward) {
  for (const char* kind : {"gpipe", "1f1b", "interleaved_1f1b", "zero_bubble", "dualpipe"})
    for (int32_t p : {2, 4, 8})
      for (int32_t m : {2 * p, 4 * p}) {
        auto s = schedule(std::string("kind = \"") + kind + "\"\n");
        PipelinePlan plan = s->plan(p, m);
        EXPECT_EQ(validate_plan(plan), "") << kind << " p=" << p << " m=" << m;
        EXPECT_NO_THROW(replay(plan, uniform(1))) << kind;
        // Forward of each (micro-batch, chunk) before its backward on the stage that runs both.
        for (int32_t st = 0; st < p; ++st) {
          std::set<std::pair<int32_t, int32_t>> seen;
          for (const auto& slot : plan.slots[st])
            for (const auto& o : slot.ops) {
              if (o.kind == K::forward) seen.insert({o.micro_batch, o.chunk});
              else EXPECT_TRUE(seen.count({o.micro_batch, o.chunk})) << kind << " stage " << st;
            }
        }
      }
}

TEST(PipelineSchedule, OneFOneBBubbleIsTheClosedForm) {
  auto s = schedule("kind = \"1f1b\"\n");
  for (int32_t p : {2, 4, 8})
    for (int32_t m : {1, 3, 8, 32}) {
      auto r = replay(s->plan(p, m), uniform(1));
      EXPECT_NEAR(r.bubble_fraction(), double(p - 1) / (m + p - 1), 1e-12) << "p=" << p << " m=" << m;
    }
}

TEST(PipelineSchedule, GPipeHasTheSameBubbleButHoldsEveryMicroBatch) {
  auto g = schedule("kind = \"gpipe\"\n"), o = schedule("kind = \"1f1b\"\n");
  auto pg = g->plan(4, 16), po = o->plan(4, 16);
  EXPECT_NEAR(replay(pg, uniform(1)).bubble_fraction(), 3.0 / 19.0, 1e-12);
  EXPECT_EQ(PipelineReplay::max_in_flight(pg, 0), 16);
  for (int32_t st = 0; st < 4; ++st) EXPECT_EQ(PipelineReplay::max_in_flight(po, st), 4 - st);
}

TEST(PipelineSchedule, OneFOneBHoldsAtMostPMicroBatchesOnStageZero) {
  auto s = schedule("kind = \"1f1b\"\n");
  for (int32_t p : {2, 4, 8, 16})
    for (int32_t m : {1, p, 3 * p}) EXPECT_EQ(PipelineReplay::max_in_flight(s->plan(p, m), 0), std::min(p, m));
}

TEST(PipelineSchedule, InterleavingDividesTheBubbleTimeByV) {
  auto base = schedule("kind = \"1f1b\"\n");
  const int32_t p = 4, m = 8;
  auto r1 = replay(base->plan(p, m), uniform(1));
  const double ideal = m * 3.0;  // per stage: m x (f + 2f)
  const double bubble1 = r1.makespan - ideal;
  EXPECT_NEAR(bubble1, (p - 1) * 3.0, 1e-9);
  for (int32_t v : {2, 4}) {
    auto s = schedule("kind = \"interleaved_1f1b\"\nvirtual_stages = " + std::to_string(v) + "\n");
    auto r = replay(s->plan(p, m), uniform(v));
    EXPECT_NEAR(r.makespan - ideal, bubble1 / v, 1e-9) << "v=" << v;
  }
}

TEST(PipelineSchedule, InterleavingNeedsMicroBatchesAMultipleOfStages) {
  auto s = schedule("kind = \"interleaved_1f1b\"\n");
  EXPECT_THROW(s->plan(4, 6), InfeasibleError);
}

TEST(PipelineSchedule, ZeroBubbleShrinksTheBubbleAndKeepsOneFOneBMemory) {
  auto zb = schedule("kind = \"zero_bubble\"\n"), o = schedule("kind = \"1f1b\"\n");
  const int32_t p = 4, m = 12;
  auto split = [](int32_t, const PipelineOp& op) { return op.kind == K::backward ? 2.0 : 1.0; };
  auto rz = replay(zb->plan(p, m), split), ro = replay(o->plan(p, m), split);
  EXPECT_NEAR(rz.makespan * p - (m * 3.0 * p), rz.makespan * p * rz.bubble_fraction(), 1e-9);
  // ZB-H1 (Qi et al. 2024, Sec. 3.1): bubble (p-1)(T_F + T_B - T_W) = (p-1) x 1 instead of (p-1) x 3.
  EXPECT_NEAR(rz.makespan - m * 3.0, (p - 1) * 1.0, 1e-9);
  EXPECT_NEAR(ro.makespan - m * 3.0, (p - 1) * 3.0, 1e-9);
  for (int32_t st = 0; st < p; ++st)
    EXPECT_EQ(PipelineReplay::max_in_flight(zb->plan(p, m), st), PipelineReplay::max_in_flight(o->plan(p, m), st));
}

TEST(PipelineSchedule, DualPipeIsBidirectionalWithOverlappedPairs) {
  auto s = schedule("kind = \"dualpipe\"\n");
  const int32_t p = 4, m = 16;
  PipelinePlan plan = s->plan(p, m);
  EXPECT_EQ(plan.parameter_copies, 2);
  auto stage_of = stage_of_chunks(plan);
  EXPECT_EQ(stage_of[0][0], 0);          // first half enters at stage 0
  EXPECT_EQ(stage_of[m - 1][0], p - 1);  // second half enters at the last stage
  int pairs = 0;
  for (const auto& slot : plan.slots[0]) pairs += slot.ops.size() == 2;
  EXPECT_GT(pairs, 0);
  // Without overlap the same order runs op by op.
  auto plain = schedule("kind = \"dualpipe\"\noverlap = false\n")->plan(p, m);
  for (const auto& slot : plain.slots[0]) EXPECT_EQ(slot.ops.size(), 1u);
  EXPECT_THROW(s->plan(3, 12), InfeasibleError);
  EXPECT_THROW(s->plan(4, 6), InfeasibleError);
}

TEST(PipelineSchedule, DualPipeBubbleIsBelowOneFOneB) {
  // DeepSeek-V3 report, Table 2: with F = B = W (full backward 2), DualPipe's bubble is far below
  // 1F1B's (p-1)(F+B) at the same micro-batch count.
  auto d = schedule("kind = \"dualpipe\"\n"), o = schedule("kind = \"1f1b\"\n");
  auto t = [](int32_t, const PipelineOp& op) { return op.kind == K::backward ? 2.0 : 1.0; };
  const int32_t p = 8, m = 32;
  EXPECT_LT(replay(d->plan(p, m), t).makespan, replay(o->plan(p, m), t).makespan);
}

// DeepSeek-V3 technical report (arXiv 2412.19437), Table 2, per schedule: pipeline bubble and
// memory per device, with F a forward chunk, B a full backward chunk, W its weight half, F&B an
// overlapped forward + backward pair:
//   1F1B      (PP-1)(F+B)               parameters 1x, activations PP
//   ZB1P      (PP-1)(F+B-2W)            parameters 1x, activations PP
//   DualPipe  (PP/2-1)(F&B+B-3W)        parameters 2x, activations PP+1
// Bubble = a stage's idle time in the communication-free replay (makespan - the stage's busy time,
// pairs counted at F&B); the formula is the most idle stage's. Activations: micro-batch chunks
// whose forward ran and whose activations are not yet freed (by B, or by W after a split B).
struct ChunkTimes {
  double f, b, w, fb;  // F, full B, W, F&B
};

OpDuration chunk_times(ChunkTimes t) {
  return [t](int32_t, const PipelineOp& op) {
    switch (op.kind) {
      case K::forward: return t.f;
      case K::backward: return t.b;
      case K::backward_input: return t.b - t.w;
      case K::backward_weight: return t.w;
    }
    return 0.0;
  };
}

double max_idle(const PipelineReplay& r) {
  double idle = 0;
  for (double b : r.busy) idle = std::max(idle, r.makespan - b);
  return idle;
}

int32_t activations_until_w(const PipelinePlan& plan, int32_t stage) {
  int32_t now = 0, peak = 0;
  for (const auto& slot : plan.slots[stage])
    for (const auto& o : slot.ops) {
      if (o.kind == K::forward) ++now;
      else if (o.kind == K::backward || o.kind == K::backward_weight) --now;
      peak = std::max(peak, now);
    }
  return peak;
}

TEST(PipelineSchedule, ReportTable2BubblesAndMemory) {
  auto one = schedule("kind = \"1f1b\"\n"), zb = schedule("kind = \"zero_bubble\"\n"), dp = schedule("kind = \"dualpipe\"\n");
  for (int32_t p : {4, 8, 16})
    for (int32_t m : {2 * p, 4 * p, p == 16 ? 120 : 6 * p}) {
      // 1F1B: exact for any F, B. ZB1P: exact while W <= F (a W fits the gap an F leaves in the
      // drain); a longer W leaves (p-1) max(F, B-W) instead (measured, second loop).
      for (ChunkTimes t : {ChunkTimes{1, 2, 1, 0}, ChunkTimes{1.3, 2, 0.8, 0}, ChunkTimes{1, 2.2, 0.9, 0}, ChunkTimes{1, 3, 1, 0}}) {
        auto r1 = replay(one->plan(p, m), chunk_times(t));
        for (double b : r1.busy) EXPECT_NEAR(r1.makespan - b, (p - 1) * (t.f + t.b), 1e-9) << "1f1b p=" << p;
        auto rz = replay(zb->plan(p, m), chunk_times(t));
        for (double b : rz.busy) EXPECT_NEAR(rz.makespan - b, (p - 1) * (t.f + t.b - 2 * t.w), 1e-9) << "zb p=" << p;
      }
      for (ChunkTimes t : {ChunkTimes{1, 2.4, 1.2, 0}, ChunkTimes{1, 2, 1.2, 0}, ChunkTimes{0.8, 2, 1, 0}}) {
        auto rz = replay(zb->plan(p, m), chunk_times(t));
        for (double b : rz.busy) EXPECT_NEAR(rz.makespan - b, (p - 1) * std::max(t.f, t.b - t.w), 1e-9) << "zb, W > F, p=" << p;
      }
      // DualPipe: exact for F = W = B/2 (B's input half = W = F) and any F&B in [B, F+B] (an
      // overlapped pair is no shorter than its longer op, no longer than both in turn).
      for (double fb : {2.0, 2.2, 2.4, 2.9, 3.0}) {
        const ChunkTimes t{1, 2, 1, fb};
        auto r = replay(dp->plan(p, m), chunk_times(t), [fb](int32_t, const PipelineOp&, const PipelineOp&) { return fb; });
        EXPECT_NEAR(max_idle(r), (p / 2 - 1) * (t.fb + t.b - 3 * t.w), 1e-9) << "dualpipe p=" << p << " m=" << m << " F&B=" << fb;
      }
      // Memory: DualPipe holds two parameter copies (a chunk of each direction) and PP+1 chunk
      // activations on every stage; 1F1B PP on its first stage, ZB1P PP on every stage (W frees).
      PipelinePlan d = dp->plan(p, m), z = zb->plan(p, m);
      EXPECT_EQ(d.parameter_copies, 2);
      EXPECT_EQ(one->plan(p, m).parameter_copies, 1);
      for (int32_t st = 0; st < p; ++st) {
        EXPECT_EQ(chunks_of_stages(d)[st].size(), 2u);
        EXPECT_EQ(activations_until_w(d, st), p + 1) << "dualpipe stage " << st;
        EXPECT_EQ(activations_until_w(z, st), p) << "zb stage " << st;
      }
      EXPECT_EQ(PipelineReplay::max_in_flight(one->plan(p, m), 0), p);
    }
}

TEST(PipelineSchedule, DualPipeBubbleAwayFromEqualChunkTimes) {
  // With F != W or B != 2W the replayed bubble of this order departs from the Table 2 closed form,
  // which counts (PP/2-1) F&B, B and -3W slots as if F, B's input half and W were equal. Measured
  // (most idle stage, PP = 16, m = 64; docs/validation.md "DualPipe chunk pair"):
  const int32_t p = 16, m = 64;
  auto dp = schedule("kind = \"dualpipe\"\n");
  struct Row {
    ChunkTimes t;
    double measured;
  };
  for (const Row& row : {Row{{1.2, 2, 1, 3}, 15.4}, Row{{1, 2, 0.8, 3}, 17.2}, Row{{1, 2.4, 1.2, 3}, 11.6}}) {
    const double fb = row.t.fb;
    auto r = replay(dp->plan(p, m), chunk_times(row.t), [fb](int32_t, const PipelineOp&, const PipelineOp&) { return fb; });
    EXPECT_NEAR(max_idle(r), row.measured, 1e-9);
  }
}

TEST(PipelineSchedule, UnknownKindAndKeyAreErrors) {
  EXPECT_THROW(schedule("kind = \"1f2b\"\n"), ConfigError);
  EXPECT_THROW(schedule("kind = \"1f1b\"\nvirtual_stages = 2\n"), ConfigError);
}

}  // namespace
}  // namespace moesim::workload
