#include "models/offload/nested_planes.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace moesim::offload {

int32_t NestedLayout::planes_for(Bits b) const { return std::clamp(b - base_bits + 1, 1, planes()); }

double plane_bytes(double params, int32_t plane, const NestedLayout& layout) {
  if (plane == 0) return quantized_bytes(params, layout.base_bits, layout.base_format);
  double groups = std::ceil(params / static_cast<double>(std::max<int64_t>(layout.base_format.group_size, 1)));
  return params / 8.0 + groups * 2.0;  // 1 bit per weight + an FP16 scale per group
}

std::vector<SliceLoad> hebf_order(const std::vector<std::vector<int64_t>>& tokens_by_planes,
                                  const std::vector<int32_t>& resident) {
  const size_t E = tokens_by_planes.size();
  std::vector<int32_t> head(E), need_planes(E, 0);
  for (size_t j = 0; j < E; ++j) {
    for (size_t n = 0; n < tokens_by_planes[j].size(); ++n)
      if (tokens_by_planes[j][n] > 0) need_planes[j] = static_cast<int32_t>(n) + 1;
    head[j] = j < resident.size() ? resident[j] : 0;
  }
  auto demand = [&](size_t j, int32_t plane) {  // tokens using plane `plane` of expert j
    int64_t d = 0;
    for (size_t n = static_cast<size_t>(plane); n < tokens_by_planes[j].size(); ++n) d += tokens_by_planes[j][n];
    return d;
  };
  std::vector<SliceLoad> out;
  while (true) {
    int64_t best = -1;
    size_t pick = 0;
    for (size_t j = 0; j < E; ++j) {
      if (head[j] >= need_planes[j]) continue;
      int64_t d = demand(j, head[j]);
      if (d > best) best = d, pick = j;
    }
    if (best < 0) break;
    out.push_back(SliceLoad{static_cast<int32_t>(pick), head[pick]});
    ++head[pick];
  }
  return out;
}

int32_t PlaneCache::distance(int32_t layer) const {
  if (layers_ <= 0) return 0;
  return ((layer - layer_) % layers_ + layers_) % layers_;
}

int32_t PlaneCache::resident_planes(int32_t layer, int32_t expert) const {
  int32_t n = 0;
  while (resident_.count(PlaneKey{layer, expert, n})) ++n;
  return n;
}

void PlaneCache::touch(PlaneKey key) {
  auto& e = resident_.at(key);
  ++e.uses;
  e.last = ++clock_;
  ++stats_.plane_hits;
}

std::vector<PlaneKey> PlaneCache::load(PlaneKey key, double bytes, bool& cached) {
  stats_.bytes_loaded += bytes;
  ++stats_.plane_loads;
  ++stats_.loads[key];
  std::vector<PlaneKey> victims;
  double freeable = 0;
  for (const auto& [k, e] : resident_)
    if (k.layer != layer_) victims.push_back(k), freeable += e.bytes;
  cached = used_ - freeable + bytes <= budget_ * (1 + 1e-12);
  if (!cached) {
    ++stats_.bypassed;
    return {};
  }
  // High planes first, then the previous layer first (farthest next use), then the least used,
  // then the least recently used (Algorithm 2).
  std::sort(victims.begin(), victims.end(), [&](const PlaneKey& a, const PlaneKey& b) {
    const auto& ea = resident_.at(a);
    const auto& eb = resident_.at(b);
    return std::tuple(-a.plane, -distance(a.layer), ea.uses, ea.last, a) <
           std::tuple(-b.plane, -distance(b.layer), eb.uses, eb.last, b);
  });
  std::vector<PlaneKey> evicted;
  for (const auto& v : victims) {
    if (used_ + bytes <= budget_ * (1 + 1e-12)) break;
    used_ -= resident_.at(v).bytes;
    resident_.erase(v);
    evicted.push_back(v);
  }
  resident_[key] = Entry{bytes, 1, ++clock_};
  used_ += bytes;
  return evicted;
}

}  // namespace moesim::offload
