// DualPipe (DeepSeek-V3 technical report, 2024, Sec. 3.2.1, Fig. 5; the order below follows the
// reference implementation deepseek-ai/DualPipe, dualpipe.py, steps 1-8). Micro-batches enter from
// both ends: the first m/2 go stage 0 -> p-1 ("forward direction"), the other m/2 go p-1 -> 0, so
// stage s holds chunk s of the first direction and chunk p-1-s of the second (two copies of the
// parameters, Sec. 3.2.1). In the steady phase a forward chunk of one direction and a backward chunk
// of the other run as one overlapped pair: the builder interleaves their tasks so that each one's
// All-to-All runs under the other's computation (Fig. 4). The drain splits backwards into B and W
// as zero-bubble does. Needs p even and m even with m >= 2p. `overlap = false` runs each pair one
// op after the other (same order, no overlap): the baseline for the overlap's benefit.
#include <fmt/format.h>

#include <algorithm>
#include <deque>

#include "models/workload/pipeline_schedule.hpp"
#include "sim/core/config.hpp"
#include "sim/core/errors.hpp"

namespace moesim::workload {
namespace {

using K = PipelineOp::Kind;

class DualPipe final : public IPipelineSchedule {
 public:
  explicit DualPipe(bool overlap) : overlap_(overlap) {}

  PipelinePlan plan(int32_t p, int32_t m) const override {
    if (p % 2 != 0 || m % 2 != 0 || m < 2 * p)
      throw InfeasibleError(fmt::format("dualpipe needs an even pp and an even micro_batches >= 2 pp (pp = {}, micro_batches = {})", p, m));
    PipelinePlan out{p, m, p, {}, 2};
    out.slots.resize(static_cast<size_t>(p));
    for (int32_t s = 0; s < p; ++s) out.slots[s] = rank_order(s, p, m);
    return out;
  }
  std::string name() const override { return "dualpipe"; }

 private:
  struct Rank {
    int32_t s, p, half_m;
    std::vector<PipelineSlot>* out;
    int32_t next_f[2] = {0, 0}, next_b[2] = {0, 0};
    std::deque<PipelineOp> weights;  // B passes whose W is pending (zero-bubble split)
    // Phase 0 is the direction in which this rank sits in the first half of the path.
    int32_t direction(int32_t phase) const { return s < p / 2 ? phase : 1 - phase; }
    int32_t chunk(int32_t phase) const { return direction(phase) == 0 ? s : p - 1 - s; }
    int32_t mb(int32_t phase, int32_t i) const { return direction(phase) * half_m + i; }
    PipelineOp f(int32_t ph) { return fwd(mb(ph, next_f[ph]++), chunk(ph)); }
    PipelineOp b(int32_t ph, bool zb) {
      PipelineOp o{zb ? K::backward_input : K::backward, mb(ph, next_b[ph]++), chunk(ph)};
      if (zb) weights.push_back(PipelineOp{K::backward_weight, o.micro_batch, o.chunk});
      return o;
    }
    PipelineOp w() {
      PipelineOp o = weights.front();
      weights.pop_front();
      return o;
    }
  };

  void pair(Rank& r, PipelineOp a, PipelineOp b) const {
    if (overlap_) r.out->push_back(PipelineSlot{{a, b}});
    else {
      r.out->push_back(one(a));
      r.out->push_back(one(b));
    }
  }

  std::vector<PipelineSlot> rank_order(int32_t s, int32_t p, int32_t m) const {
    std::vector<PipelineSlot> o;
    Rank r{s, p, m / 2, &o};
    const int32_t half_ranks = p / 2, half_rank = std::min(s, p - 1 - s);
    const bool middle = half_rank == half_ranks - 1;
    for (int32_t i = 0; i < (half_ranks - half_rank - 1) * 2; ++i) o.push_back(one(r.f(0)));  // 1: nF0
    for (int32_t i = 0; i < half_rank + 1; ++i) {                                               // 2: nF0F1
      o.push_back(one(r.f(0)));
      o.push_back(one(r.f(1)));
    }
    for (int32_t i = 0; i < half_ranks - half_rank - 1; ++i) {  // 3: nB1W1F1 (zero bubble)
      o.push_back(one(r.b(1, true)));
      o.push_back(one(r.w()));
      o.push_back(one(r.f(1)));
    }
    for (int32_t i = 0; i < r.half_m - p + half_rank + 1; ++i) {  // 4: nF0B1F1B0 (main)
      if (i == 0 && middle) {  // the reference does not overlap these two, to shrink the bubble
        o.push_back(one(r.f(0)));
        o.push_back(one(r.b(1, false)));
      } else {
        PipelineOp a = r.f(0);
        pair(r, a, r.b(1, false));
      }
      PipelineOp a = r.f(1);
      pair(r, a, r.b(0, false));
    }
    for (int32_t i = 0; i < half_ranks - half_rank - 1; ++i) {  // 5: nB1F1B0
      o.push_back(one(r.b(1, false)));
      PipelineOp a = r.f(1);
      pair(r, a, r.b(0, false));
    }
    bool zb = false;  // 6: nB1B0, the second half with zero bubble
    for (int32_t i = 0; i < half_rank + 1; ++i) {
      if (i == (half_rank + 1) / 2 && half_rank % 2 == 1) zb = true;
      o.push_back(one(r.b(1, zb)));
      if (i == (half_rank + 1) / 2 && half_rank % 2 == 0) zb = true;
      o.push_back(one(r.b(0, zb)));
    }
    for (int32_t i = 0; i < half_ranks - half_rank - 1; ++i) {  // 7: nWB0
      o.push_back(one(r.w()));
      o.push_back(one(r.b(0, true)));
    }
    while (!r.weights.empty()) o.push_back(one(r.w()));  // 8: nW
    return o;
  }

  bool overlap_;
};

MOESIM_REGISTER(PipelineScheduleRegistry, "dualpipe",
                "DualPipe: bidirectional, forward and backward chunks overlapped (DeepSeek-V3 report Sec. 3.2.1)",
                [](const config::Table& t) -> std::unique_ptr<IPipelineSchedule> {
                  bool overlap = t.boolean_or("overlap", true);
                  t.finish();
                  return std::make_unique<DualPipe>(overlap);
                });

}  // namespace
}  // namespace moesim::workload
