// Interleaved 1F1B (Narayanan et al. 2021, Sec. 2.2.2, Fig. 4 bottom; Megatron-LM
// forward_backward_pipelining_with_interleaving): each stage holds v model chunks (chunk k*p + s
// of the p*v chunks lives on stage s), micro-batches go through the stages v times. The k-th
// forward of a stage is micro-batch (k / (p v)) p + k mod p of local chunk (k mod p v) / p; the
// backwards run the local chunks in reverse. Warm-up: (p - s - 1) * 2 + (v - 1) * p forwards.
// Bubble time (p-1)/v stage-chunk times: the 1F1B bubble divided by v. Needs m % p == 0.
#include <fmt/format.h>

#include <algorithm>

#include "models/workload/pipeline_schedule.hpp"
#include "sim/core/config.hpp"
#include "sim/core/errors.hpp"

namespace moesim::workload {
namespace {

class Interleaved final : public IPipelineSchedule {
 public:
  explicit Interleaved(int32_t v) : v_(v) {}
  int32_t chunks(int32_t p) const override { return p * v_; }
  PipelinePlan plan(int32_t p, int32_t m) const override {
    if (m % p != 0)
      throw InfeasibleError(fmt::format("interleaved_1f1b needs micro_batches ({}) to be a multiple of pp ({})", m, p));
    PipelinePlan out{p, m, p * v_, {}, 1};
    out.slots.resize(static_cast<size_t>(p));
    const int32_t total = m * v_;
    for (int32_t s = 0; s < p; ++s) {
      auto f = [&](int32_t k) {
        int32_t local = (k % (p * v_)) / p;
        return fwd((k / (p * v_)) * p + k % p, local * p + s);
      };
      auto b = [&](int32_t k) {
        int32_t local = v_ - 1 - (k % (p * v_)) / p;
        return bwd((k / (p * v_)) * p + k % p, local * p + s);
      };
      auto& o = out.slots[s];
      int32_t warmup = std::min((p - s - 1) * 2 + (v_ - 1) * p, total);
      for (int32_t k = 0; k < warmup; ++k) o.push_back(one(f(k)));
      for (int32_t k = 0; k < total - warmup; ++k) {
        o.push_back(one(f(warmup + k)));
        o.push_back(one(b(k)));
      }
      for (int32_t k = total - warmup; k < total; ++k) o.push_back(one(b(k)));
    }
    return out;
  }
  std::string name() const override { return "interleaved_1f1b"; }

 private:
  int32_t v_;
};

MOESIM_REGISTER(PipelineScheduleRegistry, "interleaved_1f1b",
                "interleaved 1F1B: v model chunks per stage, bubble / v (Narayanan et al. 2021)",
                [](const config::Table& t) -> std::unique_ptr<IPipelineSchedule> {
                  auto v = static_cast<int32_t>(t.integer_in_or("virtual_stages", 1, 64, 2));
                  t.finish();
                  return std::make_unique<Interleaved>(v);
                });

}  // namespace
}  // namespace moesim::workload
