// kind "sarathi": Sarathi-Serve stall-free batching (Agrawal et al., OSDI'24). Every iteration first
// gives each running request in its decode phase one token (preempting the most recently admitted
// request when a block is missing), then fills what is left of the token budget with prefill
// chunks: unfinished prompts first, then newly admitted requests, each chunk at most the budget
// left. Decodes are never stalled behind a long prompt; a prompt takes ceil(prompt / chunk)
// iterations. K/V blocks are allocated chunk by chunk.
#include "models/serving/scheduler.hpp"

namespace moesim::serving {
namespace {

class Sarathi final : public IScheduler {
 public:
  explicit Sarathi(SchedulerLimits l) : IScheduler(l) {}

  Iteration schedule(ServingState& s) override {
    Iteration it;
    const int64_t preempted = decode_running(s, it);
    int64_t budget = limits_.max_tokens - it.decode_tokens();
    if (preempted == 0) swap_in_all(s, it, limits_.max_running, budget);
    // Prompts already started, in admission order.
    const std::vector<int64_t> order = s.running();
    for (int64_t id : order) {
      if (budget <= 0) break;
      Sequence& q = s.seq(id);
      if (!q.in_prefill()) continue;
      const int64_t chunk = std::min(budget, q.prefill_left());
      if (!s.reserve(id, q.kv_tokens + chunk)) continue;
      s.schedule(id, chunk, true, it);
      budget -= chunk;
    }
    while (budget > 0 && preempted == 0 && !s.waiting().empty() &&
           static_cast<int64_t>(s.running().size()) < limits_.max_running) {
      const int64_t id = s.waiting().front();
      const int64_t chunk = std::min(budget, s.seq(id).prefill_left());
      if (!s.admit(id, chunk)) break;
      s.schedule(id, chunk, true, it);
      budget -= chunk;
    }
    return it;
  }
};

}  // namespace

MOESIM_REGISTER(SchedulerRegistry, "sarathi", "Sarathi-Serve (OSDI'24): chunked prefills piggybacked on decodes under a token budget",
                [](const config::Table& t) -> std::unique_ptr<IScheduler> {
                  auto l = read_limits(t, SchedulerLimits{512, 256});
                  t.finish();
                  return std::make_unique<Sarathi>(l);
                });

}  // namespace moesim::serving
