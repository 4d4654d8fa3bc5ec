#pragma once
// D²MoE (Wang et al., MobiCom 2025; seed-systems.md §3) nested bit-planes and their scheduling.
//  - Matryoshka weight quantization: an expert is stored as a base plane of `base_bits` (INT2,
//    group-128 asymmetric: scale + zero point per group) plus 1-bit residual planes with one FP16
//    scale per group each; bit-width b = base_bits + (planes - 1) needs planes 0 .. b - base_bits.
//    Loading INT3 after INT2 loads only the extra plane.
//  - HEBF (Hottest-Expert-Bit-First) load order of one layer: one queue per expert with its missing
//    planes in ascending order; repeatedly pop the queue head needed by the most tokens (tokens whose
//    bit-width uses that plane; ties: lower expert). Plane p of expert j is needed by
//    sum_{b >= base + p} B[j][b] tokens, so hot experts' low planes go first and a high plane
//    wanted by few tokens waits (our reading of "hottest expert" as the head slice's token count).
//  - Memory-budget scheduler (Algorithm 2): a byte budget for resident planes; when the next
//    request does not fit, free planes of other layers, high-bit planes first, then low-bit; among
//    equal planes the previous layer's first (D²MoE frees the layer just executed: in layer order
//    its next use is the farthest, distance d = (layer - current) mod S largest), then the least
//    used. Planes of the layer being executed are never freed; a request that cannot be given
//    room is streamed without caching. (An earlier version freed the least recently used layer
//    instead: on the cyclic layer sweep of decoding that is the layer needed next, so every plane
//    was reloaded before use and the hit rate was 0.)
#include <compare>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "models/offload/precision.hpp"

namespace moesim::offload {

struct NestedLayout {
  Bits base_bits = 2;
  Bits max_bits = 4;
  QuantFormat base_format{128, true};  // group 128, asymmetric (D²MoE MWQ step 1)
  int32_t planes() const { return max_bits - base_bits + 1; }
  int32_t planes_for(Bits b) const;   // planes a bit-width needs (clamped to 1 .. planes())
};

// Bytes of plane `plane` of an expert of `params` weights.
double plane_bytes(double params, int32_t plane, const NestedLayout& layout);

struct PlaneKey {
  int32_t layer = 0;
  int32_t expert = 0;
  int32_t plane = 0;
  constexpr auto operator<=>(const PlaneKey&) const = default;
};

struct SliceLoad {
  int32_t expert = 0;
  int32_t plane = 0;
};
// tokens_by_planes[j][n]: tokens that use expert j with n+1 planes. `resident[j]`: planes of
// expert j already in memory (loaded planes are skipped). Returns the load order.
std::vector<SliceLoad> hebf_order(const std::vector<std::vector<int64_t>>& tokens_by_planes,
                                  const std::vector<int32_t>& resident);

struct PlaneStats {
  double bytes_loaded = 0;
  int64_t plane_loads = 0;
  int64_t plane_hits = 0;
  int64_t bypassed = 0;
  std::map<PlaneKey, int32_t> loads;
};

class PlaneCache {
 public:
  // `moe_layers` (S) orders victims by layer distance; 0 = unknown (least recent layer first).
  explicit PlaneCache(double budget_bytes, int32_t moe_layers = 0) : budget_(budget_bytes), layers_(moe_layers) {}
  void begin_layer(int32_t layer) { layer_ = layer; }
  // Makes `key` resident (bytes = its size), evicting per Algorithm 2. Returns the evicted planes;
  // `cached` false when it could not be kept (streamed through the working buffer).
  std::vector<PlaneKey> load(PlaneKey key, double bytes, bool& cached);
  void touch(PlaneKey key);  // a use of a resident plane (a hit)
  bool contains(PlaneKey key) const { return resident_.count(key) > 0; }
  int32_t resident_planes(int32_t layer, int32_t expert) const;  // leading planes 0..n-1 present
  double used_bytes() const { return used_; }
  const PlaneStats& stats() const { return stats_; }

 private:
  struct Entry { double bytes = 0; int64_t uses = 0; int64_t last = 0; };
  int32_t distance(int32_t layer) const;  // MoE layers from the current one to `layer`'s next use
  double budget_;
  int32_t layers_ = 0;
  int32_t layer_ = 0;
  int64_t clock_ = 0;
  double used_ = 0;
  std::map<PlaneKey, Entry> resident_;
  PlaneStats stats_;
};

}  // namespace moesim::offload
