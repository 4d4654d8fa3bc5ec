// ZeRO partitioning and the parameters each device of a pipeline stage holds (zero.hpp).
#include "models/workload/zero.hpp"

#include <algorithm>
#include <set>

#include "models/workload/step_assembler.hpp"
#include "models/workload/token_costs.hpp"

namespace moesim::workload {

ZeroBytes zero_bytes_per_param(int32_t stage, double dp, double w, double g, double k) {
  ZeroBytes z;
  z.weights = stage >= 3 ? w / dp : w;
  z.gradients = stage >= 2 ? g / dp : g;
  z.optimizer = stage >= 1 ? k / dp : k;
  return z;
}

std::vector<std::vector<int32_t>> chunks_of_stages(const PipelinePlan& plan) {
  std::vector<std::vector<int32_t>> out(static_cast<size_t>(plan.stages));
  for (int32_t s = 0; s < plan.stages; ++s) {
    std::set<int32_t> c;
    for (const auto& slot : plan.slots[s])
      for (const auto& o : slot.ops) c.insert(o.chunk);
    out[s].assign(c.begin(), c.end());
  }
  return out;
}

double chunk_dense_params(const model::ModelSpec& m, const Layout& layout, int32_t chunk) {
  double p = 0;
  for (int32_t l = layout.chunk_first_layer[chunk]; l < layout.chunk_first_layer[chunk + 1]; ++l)
    p += layer_non_expert_params(m, l);
  const bool first = chunk == 0, last = chunk == layout.chunks() - 1;
  if (first && last) return p + embedding_params(m);
  // Split of model::outside_layer_params: the input embedding (and learned positions) on the
  // first chunk, the LM head (a copy of the embedding when tied, as Megatron keeps) and the final
  // norm on the last.
  const double vd = static_cast<double>(m.vocab_size) * static_cast<double>(m.d_model);
  const double rest = embedding_params(m) - (m.tie_embeddings ? vd : 2.0 * vd);  // positions + final norm
  if (first) return p + vd;
  if (last) return p + vd + rest;
  return p;
}

std::vector<DeviceParams> stage_device_params(const WorkloadContext& ctx, const Layout& layout,
                                              const std::vector<int32_t>& chunks, int64_t step) {
  const auto& m = *ctx.model;
  graph::StepGraph scratch;
  StepInfo info;
  StepAssembler a(ctx, scratch, info, 0);  // for the strategy's device arrangement only
  const int32_t D = a.devices(), tp = a.tp();
  std::vector<DeviceParams> out(static_cast<size_t>(D));
  double dense = 0;
  for (int32_t c : chunks) dense += chunk_dense_params(m, layout, c);
  for (auto& p : out) {
    p.dense = dense / tp;
    p.dense_dp = D / tp;
    p.chunks = chunks;
  }
  if (m.experts <= 0 || !ctx.sharding) return out;
  const bool ephemeral = ctx.sharding->materialization().copies == Materialization::Copies::ephemeral;
  const double per_expert = expert_params(m) / tp;
  for (int32_t c : chunks)
    for (int32_t l = layout.chunk_first_layer[c]; l < layout.chunk_first_layer[c + 1]; ++l) {
      if (!m.is_moe_layer(l)) continue;
      // Copies of each expert's slice: counted among the devices of one TP rank (d % tp).
      std::vector<int32_t> copies(static_cast<size_t>(m.experts * tp), 0);
      std::vector<std::vector<int32_t>> held(static_cast<size_t>(D));
      for (int32_t g = 0; g < D / a.ep(); ++g) {
        ExpertPlacement place = ctx.sharding->place(PlacementRequest{step, a.moe_index(l), g});
        for (int32_t d : a.group_devices(g)) {
          held[d] = ephemeral ? place.owned_by(d) : place.held_by(d);
          for (int32_t e : held[d]) ++copies[static_cast<size_t>(e * tp + d % tp)];
        }
      }
      for (int32_t d = 0; d < D; ++d)
        for (int32_t e : held[d]) {
          out[d].expert += per_expert;
          int32_t n = ephemeral ? 1 : copies[static_cast<size_t>(e * tp + d % tp)];
          out[d].expert_per_dp += per_expert / std::max(1, n);
        }
    }
  return out;
}

ZeroBytes resident_bytes(const DeviceParams& p, const Layout& layout, double w, double g, double k) {
  ZeroBytes d = zero_bytes_per_param(layout.zero_dense, p.dense_dp, w, g, k);
  ZeroBytes out{p.dense * d.weights, p.dense * d.gradients, p.dense * d.optimizer};
  // Experts: the replicated share (p.expert) or the partitioned one (p.expert_per_dp) per category.
  auto part = [&](int32_t from_stage, double bytes) { return (layout.zero_expert >= from_stage ? p.expert_per_dp : p.expert) * bytes; };
  out.weights += part(3, w);
  out.gradients += part(2, g);
  out.optimizer += part(1, k);
  return out;
}

}  // namespace moesim::workload
