// Expert parallelism (GShard, Lepikhin et al. 2020; DeepSpeed-MoE): the devices form groups of
// `ep` consecutive ranks; inside a group, expert e lives on rank group*ep + e / (E/ep), so every
// device owns E/ep experts and non-expert weights are replicated on every device. Groups beyond the
// first are data-parallel replicas of the whole expert set. When ep is a multiple of E (e.g.
// Mixtral's 8 experts at EP16), each expert has ep/E copies on consecutive ranks, tokens split
// evenly between the copies and their gradients all-reduced among them (expert data parallelism,
// DeepSpeed-MoE, Rajbhandari et al. 2022, Sec. 5).
#include <fmt/format.h>

#include "models/workload/placement.hpp"
#include "sim/core/errors.hpp"

namespace moesim::workload {

std::vector<int32_t> ExpertPlacement::owned_by(int32_t device) const {
  std::vector<int32_t> out;
  for (int32_t e = 0; e < experts(); ++e)
    if (!holders[e].empty() && holders[e][0] == device) out.push_back(e);
  return out;
}

std::vector<int32_t> ExpertPlacement::held_by(int32_t device) const {
  std::vector<int32_t> out;
  for (int32_t e = 0; e < experts(); ++e)
    for (int32_t d : holders[e])
      if (d == device) { out.push_back(e); break; }
  return out;
}

namespace {

struct EpParams {
  int32_t ep = 1;
  int32_t experts = 1;
};

class ExpertParallel final : public IShardingStrategy {
 public:
  explicit ExpertParallel(EpParams p) : p_(p) {}
  ExpertPlacement place(const PlacementRequest& r) override {
    ExpertPlacement out;
    out.holders.resize(static_cast<size_t>(p_.experts));
    int32_t base = r.group * p_.ep;
    if (p_.experts >= p_.ep) {
      int32_t per_device = p_.experts / p_.ep;
      for (int32_t e = 0; e < p_.experts; ++e) out.holders[e] = {base + e / per_device};
      return out;
    }
    int32_t copies = p_.ep / p_.experts;
    for (int32_t e = 0; e < p_.experts; ++e)
      for (int32_t c = 0; c < copies; ++c) out.holders[e].push_back(base + e * copies + c);
    return out;
  }
  int32_t ep() const override { return p_.ep; }

 private:
  EpParams p_;
};

EpParams read_ep(const config::Table& t, const ShardingContext& ctx) {
  EpParams p;
  p.experts = ctx.num_experts;
  p.ep = static_cast<int32_t>(t.integer_in_or("ep", 1, ctx.devices, ctx.devices));
  t.finish();
  if (ctx.devices % p.ep != 0)
    t.fail("ep", fmt::format("{} devices cannot be split into expert-parallel groups of {}", ctx.devices, p.ep));
  bool even = p.experts >= p.ep ? p.experts % p.ep == 0 : p.ep % p.experts == 0;
  if (p.experts > 0 && !even)
    throw InfeasibleError(fmt::format("{} experts cannot be split evenly over ep = {} devices ({} left over)", p.experts,
                                      p.ep, p.experts >= p.ep ? p.experts % p.ep : p.ep % p.experts));
  return p;
}

MOESIM_REGISTER(ShardingRegistry, "ep", "expert parallelism: E/ep experts per device, non-expert weights replicated",
                [](const config::Table& t, const ShardingContext& ctx) -> std::unique_ptr<IShardingStrategy> {
                  return std::make_unique<ExpertParallel>(read_ep(t, ctx));
                });

}  // namespace
}  // namespace moesim::workload
