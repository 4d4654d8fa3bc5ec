// kind "fsdp": FSDP / ZeRO-3 applied to the MoE layers (Rajbhandari et al. 2020, ZeRO Sec. 5;
// Zhao et al. 2023, PyTorch FSDP): every device owns E/D experts' weights, gradients and
// optimizer state, and all-gathers EVERY expert of a layer before using it (forward, and again
// before backward: ZeRO-3 frees gathered parameters after use), then reduce-scatters the
// gradients. All tokens are processed on their own device (no All-to-All), at |E| times the
// parameter traffic of the dense layer: the naive baseline of Hecate Sec. 2 (Eq. "O(S)").
#include "models/sharding/load_tracking.hpp"
#include "sim/core/config.hpp"

namespace moesim::sharding {
namespace {

struct FsdpParams {
  int32_t experts = 0;
  bool rematerialize = true;  // ZeRO-3 / FSDP reshard_after_forward
};

class Fsdp final : public LoadTrackingStrategy {
 public:
  Fsdp(FsdpParams p, workload::ShardingContext ctx) : LoadTrackingStrategy(std::move(ctx)), p_(p) {}
  ExpertPlacement place(const workload::PlacementRequest&) override {
    ExpertPlacement out = static_placement(p_.experts);
    for (auto& h : out.holders)
      for (int32_t d = 0; d < ctx_.devices; ++d)
        if (d != h[0]) h.push_back(d);
    return out;
  }
  workload::Materialization materialization() const override {
    workload::Materialization m;
    m.copies = workload::Materialization::Copies::ephemeral;
    m.sharding_tasks = true;
    m.full_gather = true;
    m.overlap_attention = true;  // FSDP prefetches the next layer's all-gather
    m.rematerialize = p_.rematerialize;
    return m;
  }
  void observe_load(const workload::LoadObservation&) override {}  // placement is static: nothing to remember

 private:
  FsdpParams p_;
};

MOESIM_REGISTER(workload::ShardingRegistry, "fsdp",
                "FSDP / ZeRO-3 over MoE layers: every expert all-gathered on every device (naive baseline)",
                [](const config::Table& t, const workload::ShardingContext& ctx) -> std::unique_ptr<workload::IShardingStrategy> {
                  FsdpParams p;
                  p.experts = ctx.num_experts;
                  p.rematerialize = t.boolean_or("rematerialize", true);
                  t.finish();
                  require_even_split("fsdp", ctx);
                  return std::make_unique<Fsdp>(p, ctx);
                });

}  // namespace
}  // namespace moesim::sharding
