// Zero-bubble ZB-H1 (Qi et al. 2024, "Zero Bubble Pipeline Parallelism", ICLR, Sec. 3.1, Fig. 3):
// the backward is split into B (gradient of the input, which the previous stage waits for) and W
// (gradient of the weights, which nobody waits for). The 1F1B order is kept for F and B; stage s
// keeps up to s W passes pending (the later the stage, the sooner its B reaches the previous one)
// and runs one W after each B, the rest at the end. With T_F = T_B = T_W the bubble is
// (p-1)(T_F + T_B - T_W), the paper's ZB-H1 figure, against 1F1B's (p-1)(T_F + T_B + T_W)
// (tests/workload/pipeline_schedule_test.cpp). Micro-batches before their B: as 1F1B (p - s);
// the last stages hold up to s more whose W is pending (their activations stay until W).
#include <algorithm>
#include <deque>

#include "models/workload/pipeline_schedule.hpp"
#include "sim/core/config.hpp"

namespace moesim::workload {
namespace {

using K = PipelineOp::Kind;

class ZeroBubbleH1 final : public IPipelineSchedule {
 public:
  PipelinePlan plan(int32_t p, int32_t m) const override {
    PipelinePlan out{p, m, p, {}, 1};
    out.slots.resize(static_cast<size_t>(p));
    for (int32_t s = 0; s < p; ++s) {
      auto& o = out.slots[s];
      std::deque<int32_t> pending;  // micro-batches whose W has not run
      const size_t deferred = static_cast<size_t>(s);
      auto backward = [&](int32_t i, bool drain) {
        o.push_back(one(PipelineOp{K::backward_input, i, s}));
        pending.push_back(i);
        if (drain || pending.size() > deferred) {
          o.push_back(one(PipelineOp{K::backward_weight, pending.front(), s}));
          pending.pop_front();
        }
      };
      int32_t warmup = std::min(p - s - 1, m);
      for (int32_t i = 0; i < warmup; ++i) o.push_back(one(fwd(i, s)));
      for (int32_t i = 0; i < m - warmup; ++i) {
        o.push_back(one(fwd(warmup + i, s)));
        backward(i, false);
      }
      for (int32_t i = m - warmup; i < m; ++i) backward(i, true);
      for (int32_t i : pending) o.push_back(one(PipelineOp{K::backward_weight, i, s}));
    }
    return out;
  }
  std::string name() const override { return "zero_bubble"; }
};

MOESIM_REGISTER(PipelineScheduleRegistry, "zero_bubble",
                "zero-bubble ZB-H1: backward split into input (B) and weight (W) gradients (Qi et al. 2024)",
                [](const config::Table& t) -> std::unique_ptr<IPipelineSchedule> {
                  t.finish();
                  return std::make_unique<ZeroBubbleH1>();
                });

}  // namespace
}  // namespace moesim::workload
