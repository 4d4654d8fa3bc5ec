// kind "ep_tp": expert parallelism + tensor parallelism (expert slicing) + data parallelism, as
// DeepSpeed-MoE lays out training and inference (Rajbhandari et al. 2022, arXiv 2201.05596,
// Sec. 5.2 "expert-slicing", Sec. 6.3 "parallelism-coordinated communication"; seed-systems.md
// Sec. 6). World = DP x EP x TP: device d = (r * ep + i) * tp + j is TP rank j of TP group i of
// data-parallel replica r. TP group i owns experts [i * E/ep, (i+1) * E/ep), each sliced over its
// tp ranks (rank j holds slice j: 1/tp of the expert's weights and FLOPs), and the non-expert
// layers are tensor-sliced inside the group (Megatron) and replicated over r (data parallel).
// The All-to-All of replica r runs among the ep devices with TP rank j (the "EP group" of a
// placement request is g = r * tp + j): placement g puts expert e on device (r*ep + e/(E/ep))*tp + j.
// a2a = "coordinated" (Sec. 6.3): every TP rank dispatches 1/tp of its group's tokens, an
// all-gather inside the TP group restores them; "naive": every TP rank sends every token.
// LocMoE's group-wise All-to-All (Li et al. 2024, arXiv 2401.13920, Sec. 5.3) is this same
// mechanism on an Ascend server's TP domain (docs/sharding.md explains the choice).
#include <fmt/format.h>

#include "models/workload/placement.hpp"
#include "sim/core/config.hpp"
#include "sim/core/errors.hpp"

namespace moesim::sharding {
namespace {

struct EpTpParams {
  int32_t experts = 0;
  int32_t ep = 1;  // TP groups per expert-parallel domain (the All-to-All group size)
  int32_t tp = 1;  // devices per TP group (expert slices, non-expert tensor slices)
  bool coordinated = true;
};

class ExpertTensorParallel final : public workload::IShardingStrategy {
 public:
  explicit ExpertTensorParallel(EpTpParams p) : p_(p) {}
  workload::ExpertPlacement place(const workload::PlacementRequest& r) override {
    workload::ExpertPlacement out;
    out.holders.resize(static_cast<size_t>(p_.experts));
    const int32_t replica = r.group / p_.tp, rank = r.group % p_.tp, per_group = p_.experts / p_.ep;
    for (int32_t e = 0; e < p_.experts; ++e) out.holders[e] = {(replica * p_.ep + e / per_group) * p_.tp + rank};
    return out;
  }
  int32_t ep() const override { return p_.ep; }
  workload::TensorParallel tensor_parallel() const override { return {p_.tp, p_.coordinated}; }

 private:
  EpTpParams p_;
};

EpTpParams read_ep_tp(const config::Table& t, const workload::ShardingContext& ctx) {
  EpTpParams p;
  p.experts = ctx.num_experts;
  p.tp = static_cast<int32_t>(t.integer_in_or("tp", 1, ctx.devices, 1));
  int32_t max_ep = std::max(1, ctx.devices / p.tp);
  if (p.experts > 0) max_ep = std::min(max_ep, p.experts);
  p.ep = static_cast<int32_t>(t.integer_in_or("ep", 1, ctx.devices, max_ep));
  p.coordinated = t.choice_or("a2a", {"coordinated", "naive"}, "coordinated") == "coordinated";
  t.finish();
  if (ctx.devices % (p.ep * p.tp) != 0)
    t.fail("ep", fmt::format("{} devices cannot be split into data-parallel replicas of ep x tp = {} x {} devices",
                             ctx.devices, p.ep, p.tp));
  if (p.experts > 0 && p.experts % p.ep != 0)
    throw InfeasibleError(fmt::format("ep_tp: {} experts cannot be split evenly over ep = {} TP groups ({} left over); "
                                      "slice experts with tp instead of ep > E",
                                      p.experts, p.ep, p.experts % p.ep));
  return p;
}

MOESIM_REGISTER(workload::ShardingRegistry, "ep_tp",
                "DeepSpeed-MoE EP x TP (expert slicing) x DP with parallelism-coordinated All-to-All",
                [](const config::Table& t, const workload::ShardingContext& ctx) -> std::unique_ptr<workload::IShardingStrategy> {
                  return std::make_unique<ExpertTensorParallel>(read_ep_tp(t, ctx));
                });

}  // namespace
}  // namespace moesim::sharding
