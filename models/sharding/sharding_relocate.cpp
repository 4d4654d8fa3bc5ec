// kind "relocate": SmartMoE / FlexMoE-style periodic expert rearrangement (Zhai et al., ATC 2023;
// Nie et al., SIGMOD 2023). Every `interval` iterations (SmartMoE: best at 25) the experts of each
// layer are re-placed from the loads of the last `window` iterations: hottest first onto the
// least-loaded device with a free slot, plus `replica_slots` persistent replicas per device
// (FlexMoE; 0 = SmartMoE's swaps only). Replicas are full copies with their own optimizer state
// and their gradients all-reduced over the holders (Hecate Eq. 2); every move ships parameters and
// optimizer state (>= 6x the fp16 weights under mixed-precision Adam, Hecate Sec. 2).
#include <map>

#include "models/sharding/load_tracking.hpp"
#include "sim/core/config.hpp"

namespace moesim::sharding {
namespace {

// Keys of [parallel] (kind "relocate"): interval, window, replica_slots.
class Relocate final : public LoadTrackingStrategy {
 public:
  Relocate(const config::Table& t, workload::ShardingContext ctx)
      : LoadTrackingStrategy(std::move(ctx)),
        interval_(t.integer_in_or("interval", 1, int64_t{1} << 40, 25)),
        window_(static_cast<int32_t>(t.integer_in_or("window", 1, 1 << 16, 5))),
        replica_slots_(static_cast<int32_t>(t.integer_in_or("replica_slots", 0, 1 << 16, 0))) {
    t.finish();
    require_even_split("relocate", ctx_);
  }
  ExpertPlacement place(const workload::PlacementRequest& r) override {
    int64_t epoch = r.step / interval_ * interval_;
    auto key = std::make_pair(epoch, r.moe_layer);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    auto load = epoch > 0 ? history_.predict(epoch, r.moe_layer, window_) : std::vector<double>{};
    ExpertPlacement out = load.size() == static_cast<size_t>(ctx_.num_experts)
                              ? balanced_relocation(load, ctx_.devices, replica_slots_)
                              : static_placement(ctx_.num_experts);
    return cache_.emplace(key, std::move(out)).first->second;
  }
  workload::Materialization materialization() const override {
    workload::Materialization m;  // persistent replicas, their all-reduce and migration emitted here
    m.sharding_tasks = true;
    return m;
  }

 private:
  int64_t interval_;         // iterations between re-placements (SmartMoE: best at 25)
  int32_t window_;           // iterations of load history averaged
  int32_t replica_slots_;    // persistent replicas per device (FlexMoE; 0 = swaps only)
  std::map<std::pair<int64_t, int32_t>, ExpertPlacement> cache_;
};

MOESIM_REGISTER(workload::ShardingRegistry, "relocate",
                "SmartMoE/FlexMoE: experts re-placed (and hot ones replicated) every `interval` iterations",
                make_strategy<Relocate>);

}  // namespace
}  // namespace moesim::sharding
