#pragma once
// The expert cache of mb_offload: N slots of one expert each, least-recently-used replacement.
// Written independently of the simulator's ExpertCache (models/offload/expert_cache.hpp) (tests/validate compare the
// two miss sequences), with the same documented rules (docs/offload.md):
//   - an access to a resident expert is a hit and makes it the most recent;
//   - a miss takes a free slot, else evicts the least recently used expert that is not used by
//     the layer being executed (those are protected); when every resident expert is protected the
//     expert is streamed through a working buffer without being cached ("bypass").
// Within a layer a token's experts are accessed in ascending id order (the simulator's order for
// one token: experts by decreasing load, ties by id).
#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <vector>

namespace moesim::layercheck {

struct ExpertId {
  int32_t layer = 0;
  int32_t expert = 0;
  auto operator<=>(const ExpertId&) const = default;
};

struct CacheAccess {
  bool hit = false;
  bool bypass = false;
  int32_t slot = -1;                // where the expert is (or goes); -1 for a bypass
  std::optional<ExpertId> evicted;  // the victim of a miss
};

class LruSlots {
 public:
  explicit LruSlots(int32_t slots);
  // `current`: the experts of the layer being executed (protected from eviction).
  CacheAccess access(ExpertId k, const std::vector<ExpertId>& current);
  int32_t slots() const { return slots_; }

 private:
  int32_t slots_;
  std::list<ExpertId> order_;  // front = most recently used
  std::map<ExpertId, std::pair<std::list<ExpertId>::iterator, int32_t>> where_;
  std::vector<int32_t> free_;
};

// One decode run: per token, per MoE layer, the token's experts (any order, duplicates ignored).
using TokenRoutes = std::vector<std::vector<std::vector<int32_t>>>;

struct ReplayEvent {
  int64_t token = 0;
  ExpertId key;
  bool hit = false;
  bool bypass = false;
};

// Every access of the run, in order, through an LruSlots of `slots` slots.
std::vector<ReplayEvent> lru_replay(const TokenRoutes& routes, int32_t slots);

// The distinct experts of a list, ascending, without kNoExpert (-1).
std::vector<int32_t> distinct_experts(const std::vector<int32_t>& ids);

}  // namespace moesim::layercheck
