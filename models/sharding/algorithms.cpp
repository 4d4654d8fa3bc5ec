// Placement algorithms (algorithms.hpp). Sources: Qing et al., "Hecate" (arXiv 2502.02581),
// Algorithms 1 and 2 and Sec. 4.2 (sliding-window load prediction, w = 5); Zhai et al.,
// "SmartMoE" (USENIX ATC 2023) and Nie et al., "FlexMoE" (SIGMOD 2023) for load-balancing
// relocation and replication.
#include "models/sharding/algorithms.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

namespace moesim::sharding {

void LoadHistory::record(const workload::LoadObservation& o) {
  seen_[o.moe_layer][o.step][{o.routing_step, o.group}] = o.load;
}

std::vector<double> LoadHistory::predict(int64_t step, int32_t moe_layer, int32_t window) const {
  auto layer = seen_.find(moe_layer);
  if (layer == seen_.end() || window <= 0) return {};
  std::vector<double> sum;
  int32_t used = 0;
  for (auto it = layer->second.lower_bound(step); it != layer->second.begin() && used < window;) {
    --it;
    if (it->first < step - window) break;
    for (const auto& [key, load] : it->second) {
      if (sum.size() < load.size()) sum.resize(load.size(), 0.0);
      for (size_t e = 0; e < load.size(); ++e) sum[e] += static_cast<double>(load[e]);
    }
    ++used;
  }
  for (auto& v : sum) v /= std::max(used, 1);
  return sum;
}

std::vector<int32_t> even_owners(int32_t experts, int32_t devices) {
  std::vector<int32_t> o(static_cast<size_t>(experts));
  int32_t per = std::max(1, experts / std::max(devices, 1));
  for (int32_t e = 0; e < experts; ++e) o[e] = std::min(e / per, devices - 1);
  return o;
}

ExpertPlacement owners_only(const std::vector<int32_t>& owners) {
  ExpertPlacement p;
  for (int32_t d : owners) p.holders.push_back({d});
  return p;
}

std::vector<int32_t> by_load_descending(const std::vector<double>& load) {
  std::vector<int32_t> order(load.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return load[a] > load[b]; });
  return order;
}

namespace {

bool holds(const ExpertPlacement& p, int32_t e, int32_t d) {
  const auto& h = p.holders[e];
  return std::find(h.begin(), h.end(), d) != h.end();
}

// Topology-aware choice of the device for one more replica of e (Algorithm 1, last step): nodes
// without a copy of e first, then nodes with more free slots; inside, the device with the most
// free slots. -1 when no device can take it.
int32_t replica_device(const ExpertPlacement& p, int32_t e, const std::vector<int32_t>& free,
                       const std::vector<int32_t>& node_of, bool topology_aware) {
  const int32_t D = static_cast<int32_t>(free.size());
  int32_t nodes = 0;
  for (int32_t n : node_of) nodes = std::max(nodes, n + 1);
  std::vector<int32_t> node_free(static_cast<size_t>(nodes), 0), node_has(static_cast<size_t>(nodes), 0);
  for (int32_t d = 0; d < D; ++d) {
    if (!holds(p, e, d)) node_free[node_of[d]] += free[d];
    else node_has[node_of[d]] = 1;
  }
  int32_t best = -1;
  auto better = [&](int32_t a, int32_t b) {  // is device a a better target than device b?
    if (b < 0) return true;
    if (topology_aware) {
      int32_t na = node_of[a], nb = node_of[b];
      if (node_has[na] != node_has[nb]) return node_has[na] < node_has[nb];
      if (node_free[na] != node_free[nb]) return node_free[na] > node_free[nb];
      if (na != nb) return na < nb;
    }
    return free[a] > free[b];
  };
  for (int32_t d = 0; d < D; ++d)
    if (free[d] > 0 && !holds(p, e, d) && better(d, best)) best = d;
  return best;
}

}  // namespace

ExpertPlacement sparse_materialize(const ExpertPlacement& owners, const std::vector<double>& load,
                                   const MaterializeParams& p, const std::vector<int32_t>& node_of) {
  ExpertPlacement out = owners;
  const int32_t E = owners.experts(), D = static_cast<int32_t>(node_of.size());
  if (load.size() != static_cast<size_t>(E) || D <= 1) return out;
  int32_t t = std::min(p.overlap_degree, E);
  int32_t m = std::min(p.memory_slots, t);
  if (t <= 0) return out;
  auto order = by_load_descending(load);
  std::vector<int32_t> top(order.begin(), order.begin() + t);
  if (t <= m) {  // enough memory: the hottest t experts everywhere
    for (int32_t e : top)
      for (int32_t d = 0; d < D; ++d)
        if (!holds(out, e, d)) out.holders[e].push_back(d);
    return out;
  }
  if (m <= 0) return out;
  // Memory-bound: |D|*m slots shared in proportion to the predicted load of the top-t experts.
  std::vector<int32_t> free(static_cast<size_t>(D), m);
  int32_t slots = D * m;
  double top_load = 0;
  for (int32_t e : top) top_load += load[e];
  if (top_load <= 0) return out;
  for (int32_t e : top) {
    if (slots <= 0) break;
    int32_t n = static_cast<int32_t>(std::lround(static_cast<double>(D * m) * load[e] / top_load));
    n = std::min({n, slots, D - static_cast<int32_t>(out.holders[e].size())});
    for (int32_t i = 0; i < n; ++i) {
      int32_t d = replica_device(out, e, free, node_of, p.topology_aware);
      if (d < 0) break;
      out.holders[e].push_back(d);
      --free[d];
      --slots;
    }
  }
  return out;
}

std::vector<std::vector<int32_t>> heterogeneous_shards(const std::vector<std::vector<double>>& layer_load,
                                                       int32_t overlap_degree, const std::vector<int32_t>& node_of) {
  const int32_t L = static_cast<int32_t>(layer_load.size()), D = static_cast<int32_t>(node_of.size());
  if (L == 0) return {};
  const int32_t E = static_cast<int32_t>(layer_load[0].size());
  int32_t nodes = 0;
  for (int32_t n : node_of) nodes = std::max(nodes, n + 1);
  std::vector<int32_t> free(static_cast<size_t>(D), E * L / D);
  for (int32_t d = 0; d < (E * L) % D; ++d) ++free[d];
  std::vector<std::vector<int32_t>> owner(static_cast<size_t>(L), std::vector<int32_t>(static_cast<size_t>(E), -1));
  int32_t t = std::clamp(overlap_degree, 0, E);
  // J' (underloaded experts) of each layer, and the layers by their hottest J' expert.
  std::vector<std::vector<int32_t>> cold(static_cast<size_t>(L));
  std::vector<double> cold_max(static_cast<size_t>(L), 0.0);
  for (int32_t l = 0; l < L; ++l) {
    auto order = by_load_descending(layer_load[l]);
    cold[l].assign(order.begin() + t, order.end());
    if (!cold[l].empty()) cold_max[l] = layer_load[l][cold[l].front()];
  }
  auto layers = by_load_descending(cold_max);
  for (int32_t l : layers) {
    std::vector<double> dev_load(static_cast<size_t>(D), 0.0), node_load(static_cast<size_t>(nodes), 0.0);
    std::vector<int32_t> node_free(static_cast<size_t>(nodes), 0);
    for (int32_t d = 0; d < D; ++d) node_free[node_of[d]] += free[d];
    for (int32_t e : cold[l]) {
      int32_t bn = -1;
      for (int32_t n = 0; n < nodes; ++n) {
        if (node_free[n] <= 0) continue;
        if (bn < 0 || node_load[n] < node_load[bn] || (node_load[n] == node_load[bn] && node_free[n] < node_free[bn])) bn = n;
      }
      int32_t bd = -1;
      for (int32_t d = 0; d < D; ++d) {
        if (node_of[d] != bn || free[d] <= 0) continue;
        if (bd < 0 || dev_load[d] < dev_load[bd] || (dev_load[d] == dev_load[bd] && free[d] < free[bd])) bd = d;
      }
      owner[l][e] = bd;
      --free[bd];
      --node_free[bn];
      dev_load[bd] += layer_load[l][e];
      node_load[bn] += layer_load[l][e];
    }
  }
  // J fills the remaining slots: the device with the most free slots, lowest id first.
  for (int32_t l = 0; l < L; ++l)
    for (int32_t e = 0; e < E; ++e) {
      if (owner[l][e] >= 0) continue;
      int32_t bd = static_cast<int32_t>(std::max_element(free.begin(), free.end()) - free.begin());
      owner[l][e] = bd;
      --free[bd];
    }
  return owner;
}

ExpertPlacement balanced_relocation(const std::vector<double>& load, int32_t devices, int32_t replica_slots) {
  const int32_t E = static_cast<int32_t>(load.size()), D = devices;
  std::vector<int32_t> free(static_cast<size_t>(D), E / D);
  for (int32_t d = 0; d < E % D; ++d) ++free[d];
  std::vector<double> dev_load(static_cast<size_t>(D), 0.0);
  ExpertPlacement out;
  out.holders.assign(static_cast<size_t>(E), {});
  auto least_loaded = [&](auto&& ok) {
    int32_t best = -1;
    for (int32_t d = 0; d < D; ++d)
      if (ok(d) && (best < 0 || dev_load[d] < dev_load[best])) best = d;
    return best;
  };
  for (int32_t e : by_load_descending(load)) {
    int32_t d = least_loaded([&](int32_t x) { return free[x] > 0; });
    out.holders[e] = {d};
    --free[d];
    dev_load[d] += load[e];
  }
  // Replicas: the expert with the most load per copy gets one more copy; the tokens split evenly.
  std::vector<int32_t> extra(static_cast<size_t>(D), replica_slots);
  for (int32_t r = 0; r < replica_slots * D; ++r) {
    int32_t e = -1;
    for (int32_t x = 0; x < E; ++x) {
      if (static_cast<int32_t>(out.holders[x].size()) >= D) continue;
      if (e < 0 || load[x] / out.holders[x].size() > load[e] / out.holders[e].size()) e = x;
    }
    if (e < 0 || load[e] <= 0) break;
    int32_t d = least_loaded([&](int32_t x) {
      return extra[x] > 0 && std::find(out.holders[e].begin(), out.holders[e].end(), x) == out.holders[e].end();
    });
    if (d < 0) break;
    double share_before = load[e] / out.holders[e].size();
    out.holders[e].push_back(d);
    double share_after = load[e] / out.holders[e].size();
    for (int32_t h : out.holders[e]) dev_load[h] += (h == d ? share_after : share_after - share_before);
    --extra[d];
  }
  return out;
}

}  // namespace moesim::sharding
