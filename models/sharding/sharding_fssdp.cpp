// kind "fssdp": Fully Sharded Sparse Data Parallelism as in Hecate (Qing et al. 2025, arXiv
// 2502.02581, Sec. 3-4). Every MoE layer's experts are sharded whole over all devices, one copy
// of weights and optimizer state each (trivial sharding = EP's even split; Algorithm 2 re-shards
// heterogeneously every `reshard_interval` iterations from the predicted loads). Every iteration
// and layer, Algorithm 1 materializes P' ⊇ P from the loads predicted over the last `window`
// iterations: copies are gathered from their owners (SparseAllGather, overlapped with the
// attention forward) and their gradients reduced back (SparseReduceScatter, with the attention
// backward); tokens go to the nearest copy (dispatch.hpp). Iteration 0 has no history: P' = P.
#include <fmt/format.h>

#include <map>

#include "models/sharding/load_tracking.hpp"
#include "sim/core/config.hpp"

namespace moesim::sharding {
namespace {

using workload::PlacementRequest;

struct FssdpParams {
  int32_t experts = 0;
  int32_t moe_layers = 0;          // 0 = learned from the requests
  MaterializeParams materialize;   // t, m, topology-aware replica placement
  int32_t window = 5;              // sliding window of the load prediction (Hecate: 5)
  int64_t reshard_interval = 0;    // 0 = trivial sharding forever (Hecate: 100)
  bool rematerialize = false;      // Hecate-RM
  bool per_chunk = false;          // one broadcast/reduce per expert (NCCL group of broadcasts)
};

class Fssdp final : public LoadTrackingStrategy {
 public:
  Fssdp(FssdpParams p, workload::ShardingContext ctx) : LoadTrackingStrategy(std::move(ctx)), p_(p) {}

  ExpertPlacement place(const PlacementRequest& r) override {
    auto key = std::make_pair(r.step, r.moe_layer);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    ExpertPlacement shards = owners_only(owners(r.step, r.moe_layer));
    auto load = history_.predict(r.step, r.moe_layer, p_.window);
    ExpertPlacement out = sparse_materialize(shards, load, p_.materialize, ctx_.node_of);
    return cache_.emplace(key, std::move(out)).first->second;
  }
  workload::Materialization materialization() const override {
    workload::Materialization m;
    m.copies = workload::Materialization::Copies::ephemeral;
    m.sharding_tasks = true;
    m.overlap_attention = true;
    m.rematerialize = p_.rematerialize;
    m.per_chunk = p_.per_chunk;
    return m;
  }
  void observe_load(const workload::LoadObservation& o) override {
    LoadTrackingStrategy::observe_load(o);
    layers_seen_ = std::max(layers_seen_, o.moe_layer + 1);
  }

 private:
  // Shard owners of a layer at `step`: those of the last re-sharding point at or before it.
  std::vector<int32_t> owners(int64_t step, int32_t layer) {
    int64_t epoch = p_.reshard_interval > 0 ? step / p_.reshard_interval * p_.reshard_interval : 0;
    if (epoch == 0) return even_owners(p_.experts, ctx_.devices);
    auto it = shards_.find(epoch);
    if (it == shards_.end()) {
      int32_t L = std::max(p_.moe_layers, layers_seen_);
      std::vector<std::vector<double>> load(static_cast<size_t>(L));
      bool known = true;
      for (int32_t l = 0; l < L; ++l) {
        load[l] = history_.predict(epoch, l, p_.window);
        known = known && load[l].size() == static_cast<size_t>(p_.experts);
      }
      std::vector<std::vector<int32_t>> owners;
      if (known && L > 0) owners = heterogeneous_shards(load, p_.materialize.overlap_degree, ctx_.node_of);
      it = shards_.emplace(epoch, std::move(owners)).first;
    }
    if (layer >= static_cast<int32_t>(it->second.size())) return even_owners(p_.experts, ctx_.devices);
    return it->second[layer];
  }

  FssdpParams p_;
  int32_t layers_seen_ = 0;
  std::map<std::pair<int64_t, int32_t>, ExpertPlacement> cache_;
  std::map<int64_t, std::vector<std::vector<int32_t>>> shards_;
};

FssdpParams read_fssdp(const config::Table& t, const workload::ShardingContext& ctx) {
  FssdpParams p;
  p.experts = ctx.num_experts;
  p.materialize.overlap_degree = static_cast<int32_t>(t.integer_in_or("overlap_degree", 0, 1 << 20, 0));
  p.materialize.memory_slots =
      static_cast<int32_t>(t.integer_in_or("memory_slots", 0, 1 << 20, p.materialize.overlap_degree));
  p.materialize.topology_aware = t.boolean_or("topology_aware", true);
  p.window = static_cast<int32_t>(t.integer_in_or("window", 1, 1 << 16, p.window));
  p.reshard_interval = t.integer_in_or("reshard_interval", 0, int64_t{1} << 40, 0);
  p.moe_layers = static_cast<int32_t>(t.integer_in_or("moe_layers", 0, 1 << 20, 0));
  p.rematerialize = t.boolean_or("rematerialize", false);
  p.per_chunk = t.boolean_or("per_chunk", false);
  t.finish();
  require_even_split("fssdp", ctx);
  return p;
}

MOESIM_REGISTER(workload::ShardingRegistry, "fssdp",
                "Hecate FSSDP: experts sharded once, hot experts materialized per iteration (spAG/spRS)",
                [](const config::Table& t, const workload::ShardingContext& ctx) -> std::unique_ptr<workload::IShardingStrategy> {
                  return std::make_unique<Fssdp>(read_fssdp(t, ctx), ctx);
                });

}  // namespace

}  // namespace moesim::sharding
