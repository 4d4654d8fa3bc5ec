#pragma once
// What the whole-cluster sharding strategies (fssdp, fsdp, shadow, relocate) have in common:
// every device is one EP rank (ep = all devices), experts are split evenly over the devices, and
// the strategies that re-place experts remember the loads the step assembler reports
// (LoadHistory, Hecate Sec. 4.2).
#include <fmt/format.h>

#include <memory>
#include <string_view>

#include "models/sharding/algorithms.hpp"
#include "sim/core/config.hpp"
#include "sim/core/errors.hpp"

namespace moesim::sharding {

// Throws InfeasibleError unless the experts of a layer split evenly over the devices of `ctx`.
inline void require_even_split(std::string_view kind, const workload::ShardingContext& ctx) {
  const int32_t experts = ctx.num_experts;
  if (experts > 0 && experts % ctx.devices != 0)
    throw InfeasibleError(fmt::format("{}: {} experts per layer cannot be split evenly over {} devices ({} left over)",
                                      kind, experts, ctx.devices, experts % ctx.devices));
}

// A strategy over all devices of the cluster that records the observed expert loads.
class LoadTrackingStrategy : public workload::IShardingStrategy {
 public:
  explicit LoadTrackingStrategy(workload::ShardingContext ctx) : ctx_(std::move(ctx)) {}
  int32_t ep() const override { return ctx_.devices; }
  void observe_load(const workload::LoadObservation& o) override { history_.record(o); }

 protected:
  // Expert e owned by device e / (E / D), no other holder: EP's static placement.
  ExpertPlacement static_placement(int32_t experts) const { return owners_only(even_owners(experts, ctx_.devices)); }

  workload::ShardingContext ctx_;
  LoadHistory history_;
};

// Registry factory of a strategy constructed from its [parallel] table and the context.
template <class Strategy>
std::unique_ptr<workload::IShardingStrategy> make_strategy(const config::Table& t, const workload::ShardingContext& ctx) {
  return std::make_unique<Strategy>(t, ctx);
}

}  // namespace moesim::sharding
