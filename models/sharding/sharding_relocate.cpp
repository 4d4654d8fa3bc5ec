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

struct RelocateParams {
  int32_t experts = 0;
  int64_t interval = 25;
  int32_t window = 5;
  int32_t replica_slots = 0;
};

class Relocate final : public LoadTrackingStrategy {
 public:
  Relocate(RelocateParams p, workload::ShardingContext ctx) : LoadTrackingStrategy(std::move(ctx)), p_(p) {}
  ExpertPlacement place(const workload::PlacementRequest& r) override {
    int64_t epoch = r.step / p_.interval * p_.interval;
    auto key = std::make_pair(epoch, r.moe_layer);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    auto load = epoch > 0 ? history_.predict(epoch, r.moe_layer, p_.window) : std::vector<double>{};
    ExpertPlacement out = load.size() == static_cast<size_t>(p_.experts)
                              ? balanced_relocation(load, ctx_.devices, p_.replica_slots)
                              : static_placement(p_.experts);
    return cache_.emplace(key, std::move(out)).first->second;
  }
  workload::Materialization materialization() const override {
    workload::Materialization m;  // persistent replicas, their all-reduce and migration emitted here
    m.sharding_tasks = true;
    return m;
  }

 private:
  RelocateParams p_;
  std::map<std::pair<int64_t, int32_t>, ExpertPlacement> cache_;
};

MOESIM_REGISTER(workload::ShardingRegistry, "relocate",
                "SmartMoE/FlexMoE: experts re-placed (and hot ones replicated) every `interval` iterations",
                [](const config::Table& t, const workload::ShardingContext& ctx) -> std::unique_ptr<workload::IShardingStrategy> {
                  RelocateParams p;
                  p.experts = ctx.num_experts;
                  p.interval = t.integer_in_or("interval", 1, int64_t{1} << 40, p.interval);
                  p.window = static_cast<int32_t>(t.integer_in_or("window", 1, 1 << 16, p.window));
                  p.replica_slots = static_cast<int32_t>(t.integer_in_or("replica_slots", 0, 1 << 16, p.replica_slots));
                  t.finish();
                  require_even_split("relocate", ctx);
                  return std::make_unique<Relocate>(p, ctx);
                });

}  // namespace
}  // namespace moesim::sharding
