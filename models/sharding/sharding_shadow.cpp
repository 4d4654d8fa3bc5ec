// kind "shadow": FasterMoE's dynamic shadowing (He et al., PPoPP 2022, Sec. 4): experts stay
// where EP puts them; an expert whose load is more than `hot_factor` times the mean is
// "shadowed": its parameters are broadcast from the owner to every device, which then computes
// its own tokens for it locally, and the gradients are reduced back to the owner. FasterMoE
// decides after the gate of the same iteration; here the decision uses the previous iteration's
// loads (loads drift smoothly, Hecate Fig. 3) and the broadcast starts after the gate, on the
// critical path (not hidden under attention). At most `max_shadowed` experts per layer.
#include "models/sharding/load_tracking.hpp"
#include "sim/core/config.hpp"

namespace moesim::sharding {
namespace {

// Keys of [parallel] (kind "shadow"): hot_factor, max_shadowed.
class Shadow final : public LoadTrackingStrategy {
  double hot_factor_;      // shadowed when the load exceeds hot_factor x the mean
  int32_t max_shadowed_;   // at most this many experts per layer

 public:
  Shadow(const config::Table& t, workload::ShardingContext ctx)
      : LoadTrackingStrategy(std::move(ctx)),
        hot_factor_(t.number_in_or("hot_factor", 0.0, 1e6, 2.0)),
        max_shadowed_(static_cast<int32_t>(t.integer_in_or("max_shadowed", 0, 1 << 20, 4))) {
    t.finish();
    require_even_split("shadow", ctx_);
  }
  ExpertPlacement place(const workload::PlacementRequest& r) override {
    ExpertPlacement out = static_placement(ctx_.num_experts);
    auto load = history_.predict(r.step, r.moe_layer, 1);
    if (load.size() != static_cast<size_t>(ctx_.num_experts)) return out;
    double mean = 0;
    for (double v : load) mean += v / static_cast<double>(load.size());
    int32_t n = 0;
    for (int32_t e : by_load_descending(load)) {
      if (n >= max_shadowed_ || load[e] <= hot_factor_ * mean) break;
      for (int32_t d = 0; d < ctx_.devices; ++d)
        if (d != out.holders[e][0]) out.holders[e].push_back(d);
      ++n;
    }
    return out;
  }
  workload::Materialization materialization() const override {
    workload::Materialization m;
    m.copies = workload::Materialization::Copies::ephemeral;
    m.sharding_tasks = true;
    m.overlap_attention = false;
    return m;
  }
};

MOESIM_REGISTER(workload::ShardingRegistry, "shadow",
                "FasterMoE shadowing: experts over hot_factor x mean load broadcast to every device each iteration",
                make_strategy<Shadow>);

}  // namespace
}  // namespace moesim::sharding
