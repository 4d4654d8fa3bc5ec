// kind "vllm": the vLLM scheduler (Kwon et al., SOSP'23; vLLM v0 default policy). Prefill first:
// when no request is swapped out, waiting requests are admitted FCFS while their whole prompt fits
// the token budget (max_tokens), the running cap (max_running) and the free K/V blocks (all the
// prompt's blocks, above the watermark); an iteration that admits any prefill runs prefills only.
// Otherwise every running request decodes one token, preempting the most recently admitted one
// when a block is missing, and swapped requests come back while they fit.
#include <fmt/format.h>

#include "models/serving/scheduler.hpp"
#include "sim/core/errors.hpp"

namespace moesim::serving {
namespace {

class Vllm final : public IScheduler {
 public:
  explicit Vllm(SchedulerLimits l) : IScheduler(l) {}

  Iteration schedule(ServingState& s) override {
    Iteration it;
    int64_t budget = limits_.max_tokens;
    if (s.swapped().empty()) {
      while (!s.waiting().empty() && static_cast<int64_t>(s.running().size()) < limits_.max_running) {
        const int64_t id = s.waiting().front();
        const int64_t need = s.seq(id).prefill_left();
        if (need > budget || !s.admit(id, need)) break;
        s.schedule(id, need, true, it);
        budget -= need;
      }
      if (!it.chunks.empty()) return it;
    }
    const int64_t preempted = decode_running(s, it);
    budget -= it.decode_tokens();
    if (preempted == 0) swap_in_all(s, it, limits_.max_running, budget);
    return it;
  }

  // A prompt is never split: each (re)prefill, up to prompt + output - 1 tokens after a recompute,
  // must fit the token budget.
  void check(const std::vector<RequestSpec>& requests, const KvCache& kv) const override {
    IScheduler::check(requests, kv);
    for (size_t i = 0; i < requests.size(); ++i)
      if (requests[i].prompt + requests[i].output - 1 > limits_.max_tokens)
        throw InfeasibleError(fmt::format("serving: request {} ({} prompt + {} output tokens) can need a prefill of {} tokens, "
                                          "over the vllm token budget max_tokens = {} (use kind = \"sarathi\" to chunk prompts)",
                                          i, requests[i].prompt, requests[i].output, requests[i].prompt + requests[i].output - 1,
                                          limits_.max_tokens));
  }
};

}  // namespace

MOESIM_REGISTER(SchedulerRegistry, "vllm", "vLLM (SOSP'23): prefill-first continuous batching, token budget, LIFO preemption",
                [](const config::Table& t) -> std::unique_ptr<IScheduler> {
                  auto l = read_limits(t, SchedulerLimits{8192, 256});
                  t.finish();
                  return std::make_unique<Vllm>(l);
                });

}  // namespace moesim::serving
