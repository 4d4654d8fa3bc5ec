#include "validate/layer/lru.hpp"

#include <algorithm>
#include <stdexcept>

namespace moesim::layercheck {

LruSlots::LruSlots(int32_t slots) : slots_(slots) {
  if (slots < 0) throw std::invalid_argument("LruSlots: negative slot count");
  for (int32_t s = slots - 1; s >= 0; --s) free_.push_back(s);
}

CacheAccess LruSlots::access(ExpertId k, const std::vector<ExpertId>& current) {
  CacheAccess a;
  if (auto it = where_.find(k); it != where_.end()) {
    order_.splice(order_.begin(), order_, it->second.first);
    a.hit = true;
    a.slot = it->second.second;
    return a;
  }
  if (free_.empty()) {
    auto victim = order_.end();
    for (auto it = order_.rbegin(); it != order_.rend(); ++it)
      if (std::find(current.begin(), current.end(), *it) == current.end()) {
        victim = std::prev(it.base());
        break;
      }
    if (victim == order_.end()) {
      a.bypass = true;
      return a;
    }
    a.evicted = *victim;
    free_.push_back(where_.at(*victim).second);
    where_.erase(*victim);
    order_.erase(victim);
  }
  a.slot = free_.back();
  free_.pop_back();
  order_.push_front(k);
  where_[k] = {order_.begin(), a.slot};
  return a;
}

std::vector<int32_t> distinct_experts(const std::vector<int32_t>& ids) {
  std::vector<int32_t> out;
  for (int32_t e : ids)
    if (e >= 0) out.push_back(e);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<ReplayEvent> lru_replay(const TokenRoutes& routes, int32_t slots) {
  LruSlots cache(slots);
  std::vector<ReplayEvent> events;
  for (size_t t = 0; t < routes.size(); ++t)
    for (size_t l = 0; l < routes[t].size(); ++l) {
      std::vector<ExpertId> current;
      for (int32_t e : distinct_experts(routes[t][l])) current.push_back(ExpertId{static_cast<int32_t>(l), e});
      for (const auto& k : current) {
        auto a = cache.access(k, current);
        events.push_back(ReplayEvent{static_cast<int64_t>(t), k, a.hit, a.bypass});
      }
    }
  return events;
}

}  // namespace moesim::layercheck
