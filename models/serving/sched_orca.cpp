// kind "orca": Orca iteration-level scheduling with selective batching (Yu et al., OSDI'22). Up to
// max_running requests form the batch; new requests join at iteration boundaries, their whole
// prompt in the same iteration as the running requests' decode tokens. Orca reserves K/V for a
// request's maximum length (prompt + output) when it is admitted, so it never preempts; a request
// waits until that much memory is free (the over-reservation PagedAttention removes).
#include <fmt/format.h>

#include "models/serving/scheduler.hpp"
#include "sim/core/errors.hpp"

namespace moesim::serving {
namespace {

class Orca final : public IScheduler {
 public:
  explicit Orca(SchedulerLimits l) : IScheduler(l) {}

  Iteration schedule(ServingState& s) override {
    Iteration it;
    int64_t budget = limits_.max_tokens;
    for (int64_t id : s.running()) {
      s.schedule(id, 1, false, it);  // blocks reserved at admission
      --budget;
    }
    swap_in_all(s, it, limits_.max_running, budget);  // disaggregated decode pool: prefilled requests
    while (!s.waiting().empty() && static_cast<int64_t>(s.running().size()) < limits_.max_running) {
      const int64_t id = s.waiting().front();
      const Sequence& q = s.seq(id);
      if (q.prefill_left() > budget || !s.admit(id, q.spec.prompt + q.spec.output)) break;
      budget -= q.prefill_left();
      s.schedule(id, q.prefill_left(), true, it);
    }
    return it;
  }

  void check(const std::vector<RequestSpec>& requests, const KvCache& kv) const override {
    IScheduler::check(requests, kv);
    for (size_t i = 0; i < requests.size(); ++i)
      if (requests[i].prompt > limits_.max_tokens)
        throw InfeasibleError(fmt::format("serving: request {} has {} prompt tokens, over the orca max_tokens = {}", i,
                                          requests[i].prompt, limits_.max_tokens));
  }
};

}  // namespace

MOESIM_REGISTER(SchedulerRegistry, "orca", "Orca (OSDI'22): iteration-level batching, whole prompts joining decodes, max-length K/V reservation",
                [](const config::Table& t) -> std::unique_ptr<IScheduler> {
                  auto l = read_limits(t, SchedulerLimits{1 << 20, 64});
                  t.finish();
                  return std::make_unique<Orca>(l);
                });

}  // namespace moesim::serving
