// 1F1B, PipeDream-Flush (Narayanan et al. 2021, "Efficient Large-Scale Language Model Training on
// GPU Clusters Using Megatron-LM", Sec. 2.2.1, Fig. 4 top): stage s runs min(p-s-1, m) warm-up
// forwards, then alternates one forward and one backward, then drains the remaining backwards.
// Bubble (p-1)/(m+p-1) with uniform stage times, as GPipe, but stage s holds at most p-s
// micro-batches' activations (p on stage 0) instead of m.
#include <algorithm>

#include "models/workload/pipeline_schedule.hpp"
#include "sim/core/config.hpp"

namespace moesim::workload {
namespace {

class OneForwardOneBackward final : public IPipelineSchedule {
 public:
  PipelinePlan plan(int32_t p, int32_t m) const override {
    PipelinePlan out{p, m, p, {}, 1};
    out.slots.resize(static_cast<size_t>(p));
    for (int32_t s = 0; s < p; ++s) {
      auto& o = out.slots[s];
      int32_t warmup = std::min(p - s - 1, m);
      for (int32_t i = 0; i < warmup; ++i) o.push_back(one(fwd(i, s)));
      for (int32_t i = 0; i < m - warmup; ++i) {
        o.push_back(one(fwd(warmup + i, s)));
        o.push_back(one(bwd(i, s)));
      }
      for (int32_t i = m - warmup; i < m; ++i) o.push_back(one(bwd(i, s)));
    }
    return out;
  }
  std::string name() const override { return "1f1b"; }
};

MOESIM_REGISTER(PipelineScheduleRegistry, "1f1b", "1F1B / PipeDream-Flush: warm-up, one forward one backward, drain (Narayanan et al. 2021)",
                [](const config::Table& t) -> std::unique_ptr<IPipelineSchedule> {
                  t.finish();
                  return std::make_unique<OneForwardOneBackward>();
                });

}  // namespace
}  // namespace moesim::workload
