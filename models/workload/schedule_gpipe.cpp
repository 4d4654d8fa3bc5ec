// GPipe (Huang et al. 2019, "GPipe: Efficient Training of Giant Neural Networks using Pipeline
// Parallelism", Sec. 2.2): every stage runs the forwards of all m micro-batches, then their
// backwards. Bubble (p-1)/(m+p-1) with uniform stage times; activations of all m micro-batches are
// held at once.
#include "models/workload/pipeline_schedule.hpp"
#include "sim/core/config.hpp"

namespace moesim::workload {
namespace {

class GPipe final : public IPipelineSchedule {
 public:
  PipelinePlan plan(int32_t p, int32_t m) const override {
    PipelinePlan out{p, m, p, {}, 1};
    out.slots.resize(static_cast<size_t>(p));
    for (int32_t s = 0; s < p; ++s) {
      for (int32_t i = 0; i < m; ++i) out.slots[s].push_back(one(fwd(i, s)));
      for (int32_t i = 0; i < m; ++i) out.slots[s].push_back(one(bwd(i, s)));
    }
    return out;
  }
  std::string name() const override { return "gpipe"; }
};

MOESIM_REGISTER(PipelineScheduleRegistry, "gpipe", "GPipe: all forwards, then all backwards (Huang et al. 2019)",
                [](const config::Table& t) -> std::unique_ptr<IPipelineSchedule> {
                  t.finish();
                  return std::make_unique<GPipe>();
                });

}  // namespace
}  // namespace moesim::workload
