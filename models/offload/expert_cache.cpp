#include "models/offload/expert_cache.hpp"

#include <algorithm>

namespace moesim::offload {

std::vector<std::vector<double>> CalibrationTrace::counts() const {
  std::vector<std::vector<double>> c(static_cast<size_t>(layers), std::vector<double>(static_cast<size_t>(experts), 0.0));
  for (const auto& t : tokens)
    for (size_t l = 0; l < t.experts.size() && l < c.size(); ++l)
      for (int32_t e : t.experts[l])
        if (e >= 0 && e < experts) c[l][static_cast<size_t>(e)] += 1.0;
  return c;
}

ExpertCache::ExpertCache(double capacity_bytes, ICachePolicy& policy) : capacity_(capacity_bytes), policy_(policy) {}

std::optional<std::vector<ExpertKey>> ExpertCache::make_room(double bytes, const CacheClock& now, const ExpertKey* incoming) {
  if (bytes > capacity_) return std::nullopt;
  double evictable = 0;
  std::vector<ExpertKey> candidates;
  for (const auto& [k, b] : resident_)
    if (!protected_.count(k) && policy_.evictable(k)) candidates.push_back(k), evictable += b;
  if (used_ - evictable + bytes > capacity_ * (1 + 1e-12)) return std::nullopt;
  if (incoming && used_ + bytes > capacity_ * (1 + 1e-12) && !policy_.admit(*incoming, candidates, now)) return std::nullopt;
  std::vector<ExpertKey> evicted;
  while (used_ + bytes > capacity_ * (1 + 1e-12)) {
    ExpertKey v = policy_.choose_victim(candidates, now);
    candidates.erase(std::find(candidates.begin(), candidates.end(), v));
    used_ -= resident_.at(v);
    resident_.erase(v);
    if (unused_prefetch_.erase(v)) ++stats_.prefetch_wasted;
    policy_.on_evict(v);
    evicted.push_back(v);
  }
  return evicted;
}

void ExpertCache::insert(ExpertKey k, double bytes, const CacheClock& now, bool by_prefetch) {
  resident_[k] = bytes;
  used_ += bytes;
  if (by_prefetch) unused_prefetch_.insert(k);
  policy_.on_insert(k, now);
}

AccessOutcome ExpertCache::access(ExpertKey k, double bytes, const CacheClock& now) {
  AccessOutcome out;
  out.hit = contains(k);
  policy_.on_access(k, now, out.hit);
  protect(k);
  if (out.hit) {
    ++stats_.hits;
    if (unused_prefetch_.erase(k)) ++stats_.prefetch_used, out.prefetched = true;
    return out;
  }
  ++stats_.misses;
  stats_.bytes_loaded += bytes;
  ++stats_.loads[k];
  auto room = make_room(bytes, now, &k);
  if (!room) {
    ++stats_.bypasses;
    out.bypass = true;
    return out;
  }
  out.evicted = std::move(*room);
  insert(k, bytes, now, false);
  return out;
}

std::optional<std::vector<ExpertKey>> ExpertCache::prefetch(ExpertKey k, double bytes, const CacheClock& now) {
  if (contains(k)) return std::nullopt;
  auto room = make_room(bytes, now);
  if (!room) return std::nullopt;
  ++stats_.prefetches;
  stats_.bytes_loaded += bytes;
  ++stats_.loads[k];
  insert(k, bytes, now, true);
  return room;
}

bool ExpertCache::preload(ExpertKey k, double bytes) {
  if (contains(k) || used_ + bytes > capacity_) return false;
  insert(k, bytes, CacheClock{}, false);
  stats_.preload_bytes += bytes;
  return true;
}

}  // namespace moesim::offload
