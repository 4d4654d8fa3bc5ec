#include "models/serving/scheduler.hpp"

#include <fmt/format.h>

#include "sim/core/errors.hpp"

namespace moesim::serving {

SchedulerLimits read_limits(const config::Table& t, SchedulerLimits d) {
  SchedulerLimits l;
  l.max_tokens = t.integer_in_or("max_tokens", 1, int64_t{1} << 30, d.max_tokens);
  l.max_running = t.integer_in_or("max_running", 1, l.max_tokens, std::min(d.max_running, l.max_tokens));
  return l;
}

void IScheduler::check(const std::vector<RequestSpec>& requests, const KvCache& kv) const {
  int64_t most = 0;
  for (int32_t d = 0; d < kv.devices(); ++d) most = std::max(most, kv.capacity(d));
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& r = requests[i];
    if (kv.blocks_for(r.prompt + r.output) + kv.watermark() > most)
      throw InfeasibleError(fmt::format("serving: request {} ({} prompt + {} output tokens) needs {} K/V blocks (+{} watermark); a device holds {}",
                                        i, r.prompt, r.output, kv.blocks_for(r.prompt + r.output), kv.watermark(), most));
  }
}

int64_t decode_running(ServingState& s, Iteration& it) {
  int64_t preempted = 0;
  const std::vector<int64_t> order = s.running();
  for (int64_t id : order) {
    if (std::find(s.running().begin(), s.running().end(), id) == s.running().end()) continue;  // preempted
    if (s.seq(id).in_prefill()) continue;
    bool placed = false;
    while (!(placed = s.reserve(id, s.seq(id).kv_tokens + 1))) {
      const int64_t victim = s.running().back();
      s.preempt(victim, it);
      ++preempted;
      if (victim == id) break;
    }
    if (placed) s.schedule(id, 1, false, it);
  }
  return preempted;
}

void swap_in_all(ServingState& s, Iteration& it, int64_t max_running, int64_t& budget) {
  while (!s.swapped().empty() && budget > 0 && static_cast<int64_t>(s.running().size()) < max_running) {
    const int64_t id = s.swapped().front();
    if (!s.swap_in(it)) break;
    s.schedule(id, 1, false, it);
    --budget;
  }
}

}  // namespace moesim::serving
