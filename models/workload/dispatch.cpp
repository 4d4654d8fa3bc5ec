#include "models/workload/dispatch.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace moesim::workload {

int64_t DispatchPlan::tokens_on(int32_t rank) const {
  int64_t s = 0;
  for (int32_t e = 0; e < experts; ++e) s += expert_tokens[static_cast<size_t>(rank) * experts + e];
  return s;
}

int32_t DispatchPlan::active_experts(int32_t rank) const {
  int32_t s = 0;
  for (int32_t e = 0; e < experts; ++e) s += expert_tokens[static_cast<size_t>(rank) * experts + e] > 0;
  return s;
}

double DispatchPlan::routed_bytes(int32_t rank) const {
  double s = 0;
  for (int32_t d = 0; d < n; ++d) s += bytes[static_cast<size_t>(rank) * n + d];
  return s;
}

double DispatchPlan::sent(int32_t rank) const {
  double s = 0;
  for (int32_t d = 0; d < n; ++d) if (d != rank) s += bytes[static_cast<size_t>(rank) * n + d];
  return s;
}

double DispatchPlan::received(int32_t rank) const {
  double s = 0;
  for (int32_t src = 0; src < n; ++src) if (src != rank) s += bytes[static_cast<size_t>(src) * n + rank];
  return s;
}

std::vector<double> DispatchPlan::combine_bytes() const {
  std::vector<double> t(bytes.size());
  for (int32_t i = 0; i < n; ++i)
    for (int32_t j = 0; j < n; ++j) t[static_cast<size_t>(j) * n + i] = bytes[static_cast<size_t>(i) * n + j];
  return t;
}

double DispatchPlan::total_bytes() const {
  double s = 0;
  for (int32_t r = 0; r < n; ++r) s += sent(r);
  return s;
}

double DispatchPlan::inter_node_bytes(const std::vector<int32_t>& group, const std::vector<int32_t>& node_of) const {
  double s = 0;
  for (int32_t i = 0; i < n; ++i)
    for (int32_t j = 0; j < n; ++j)
      if (node_of[group[i]] != node_of[group[j]]) s += bytes[static_cast<size_t>(i) * n + j];
  return s;
}

double token_bytes(hw::Dtype dtype, int64_t hidden) {
  const double h = static_cast<double>(hidden);
  if (dtype == hw::Dtype::fp8) return h + std::ceil(h / 128.0) * 4.0;
  return h * hw::dtype_bytes(dtype);
}

int64_t expert_capacity(double capacity_factor, int64_t routed_slots, int32_t experts) {
  if (capacity_factor <= 0 || experts <= 0) return 0;
  return static_cast<int64_t>(std::ceil(capacity_factor * static_cast<double>(routed_slots) / experts));
}

double node_hit_probability(int64_t k, double pool, double own) {
  if (own <= 0 || k <= 0) return 0.0;
  if (pool - own < static_cast<double>(k)) return 1.0;
  double miss = 1.0;
  for (int64_t t = 0; t < k; ++t) miss *= (pool - own - static_cast<double>(t)) / (pool - static_cast<double>(t));
  return 1.0 - miss;
}

void add_expected_node_bytes(DispatchPlan& p, const std::vector<int32_t>& group, const std::vector<int32_t>& node_of,
                             int32_t nodes, const std::vector<int64_t>& tokens, int32_t top_k, int32_t max_nodes,
                             int32_t expert_nodes, double bytes_per_token, double nodes_per_token) {
  if (top_k <= 0 || expert_nodes <= 0 || tokens.size() != static_cast<size_t>(p.n) || bytes_per_token <= 0) return;
  for (int32_t n : node_of) nodes = std::max(nodes, n + 1);
  p.node_bytes.assign(static_cast<size_t>(p.n) * nodes, 0.0);
  const double N = expert_nodes, E = p.experts, k = top_k;
  const double g = max_nodes > 0 ? std::min<double>(max_nodes, N) : N;
  const double pool = g * E / N;
  std::vector<double> copies(static_cast<size_t>(nodes));
  for (int32_t s = 0; s < p.n; ++s) {
    const double T = static_cast<double>(tokens[static_cast<size_t>(s)]);
    if (T <= 0) continue;
    std::fill(copies.begin(), copies.end(), 0.0);
    for (int32_t d = 0; d < p.n; ++d)
      copies[static_cast<size_t>(node_of[group[static_cast<size_t>(d)]])] += p.bytes[static_cast<size_t>(s) * p.n + d] / bytes_per_token;
    const int32_t own = node_of[group[static_cast<size_t>(s)]];
    double reached = 0;  // expected distinct nodes per token, own node included
    for (int32_t n = 0; n < nodes; ++n) {
      const double o = copies[static_cast<size_t>(n)] / T * E / k;  // o_sn = x_sn E / k
      copies[static_cast<size_t>(n)] = (g / N) * node_hit_probability(top_k, pool, o);  // now: P(reach n)
      reached += copies[static_cast<size_t>(n)];
    }
    const double scale = nodes_per_token > 0 && reached > 0 ? nodes_per_token / reached : 1.0;
    for (int32_t n = 0; n < nodes; ++n)
      if (n != own)
        p.node_bytes[static_cast<size_t>(s) * nodes + n] = T * std::min(1.0, scale * copies[static_cast<size_t>(n)]) * bytes_per_token;
  }
}

namespace {

int32_t rank_in(const std::vector<int32_t>& group, int32_t device) {
  for (size_t i = 0; i < group.size(); ++i) if (group[i] == device) return static_cast<int32_t>(i);
  return -1;
}

// The copy of an expert that serves a token on `src`: local, else same node, else any; ties
// share round-robin through `turn`.
int32_t choose_holder(const std::vector<int32_t>& holders, int32_t src, const std::vector<int32_t>& node_of,
                      int64_t& turn) {
  if (holders.size() == 1) return holders[0];
  for (int32_t h : holders) if (h == src) return h;
  std::vector<int32_t> near;
  for (int32_t h : holders) if (node_of[h] == node_of[src]) near.push_back(h);
  const auto& pool = near.empty() ? holders : near;
  return pool[static_cast<size_t>(turn++ % static_cast<int64_t>(pool.size()))];
}

// Per (source rank, node): each token's distinct destination nodes other than its own, once.
void add_node_bytes(DispatchPlan& p, const DispatchInput& in, const std::vector<int32_t>& slot_node) {
  const auto& r = *in.routing;
  int32_t nodes = in.nodes;
  for (int32_t n : in.node_of) nodes = std::max(nodes, n + 1);
  p.node_bytes.assign(static_cast<size_t>(p.n) * nodes, 0.0);
  for (int64_t t = 0; t < r.tokens; ++t) {
    const int32_t src_dev = in.token_device[static_cast<size_t>(t)];
    const int32_t src = rank_in(in.group, src_dev), own = in.node_of[src_dev];
    for (int32_t a = 0; a < r.k; ++a) {
      const int32_t node = slot_node[static_cast<size_t>(t * r.k + a)];
      bool seen = node < 0 || node == own;
      for (int32_t b = 0; b < a && !seen; ++b) seen = slot_node[static_cast<size_t>(t * r.k + b)] == node;
      if (!seen) p.node_bytes[static_cast<size_t>(src) * nodes + node] += in.bytes_per_token;
    }
  }
}

}  // namespace

graph::CollectiveWork dispatch_collective(const DispatchPlan& p, const std::vector<int32_t>& group, double scale) {
  graph::CollectiveWork w;
  w.kind = graph::CollectiveKind::alltoallv;
  w.group = group;
  w.matrix = p.bytes;
  for (double& b : w.matrix) b *= scale;
  w.node_bytes = p.node_bytes;
  for (double& b : w.node_bytes) b *= scale;
  return w;
}

graph::CollectiveWork combine_collective(const DispatchPlan& p, const std::vector<int32_t>& group, double scale) {
  graph::CollectiveWork w = dispatch_collective(p, group, scale);
  w.matrix = p.combine_bytes();
  for (double& b : w.matrix) b *= scale;
  w.combine = true;
  return w;
}

DispatchPlan plan_dispatch(const DispatchInput& in) {
  const auto& r = *in.routing;
  const auto& place = *in.placement;
  DispatchPlan p;
  p.n = static_cast<int32_t>(in.group.size());
  p.experts = place.experts();
  p.bytes.assign(static_cast<size_t>(p.n) * p.n, 0.0);
  p.expert_tokens.assign(static_cast<size_t>(p.n) * p.experts, 0);
  if (static_cast<int64_t>(in.token_device.size()) != r.tokens)
    throw std::invalid_argument("plan_dispatch: token_device size differs from the routed tokens");
  for (int32_t e : r.experts) p.routed_slots += (e >= 0 && e < p.experts);
  p.capacity = expert_capacity(in.capacity_factor, p.routed_slots, p.experts);
  std::vector<int64_t> filled(static_cast<size_t>(p.experts), 0);
  std::vector<int64_t> turn(static_cast<size_t>(p.experts), 0);
  std::vector<int32_t> slot_node(r.experts.size(), -1);  // node each served slot went to
  for (int32_t slot = 0; slot < r.k; ++slot) {
    for (int64_t t = 0; t < r.tokens; ++t) {
      size_t i = static_cast<size_t>(t * r.k + slot);
      int32_t e = r.experts[i];
      if (e < 0 || e >= p.experts) continue;
      if (!r.dropped.empty() && r.dropped[i]) { ++p.dropped_slots; continue; }
      if (p.capacity > 0 && filled[e] >= p.capacity) { ++p.dropped_slots; continue; }
      ++filled[e];
      int32_t src_dev = in.token_device[static_cast<size_t>(t)];
      int32_t dst_dev = choose_holder(place.holders[e], src_dev, in.node_of, turn[e]);
      int32_t src = rank_in(in.group, src_dev), dst = rank_in(in.group, dst_dev);
      if (src < 0 || dst < 0) throw std::invalid_argument("plan_dispatch: token or expert outside the EP group");
      p.bytes[static_cast<size_t>(src) * p.n + dst] += in.bytes_per_token;
      ++p.expert_tokens[static_cast<size_t>(dst) * p.experts + e];
      slot_node[i] = in.node_of[dst_dev];
    }
  }
  add_node_bytes(p, in, slot_node);
  return p;
}

DispatchPlan plan_dispatch_counts(const CountDispatchInput& in) {
  const auto& c = *in.counts;
  const auto& place = *in.placement;
  DispatchPlan p;
  p.n = static_cast<int32_t>(in.group.size());
  p.experts = place.experts();
  if (c.sources != p.n || c.experts != p.experts)
    throw std::invalid_argument("plan_dispatch_counts: counts are not group x experts");
  p.bytes.assign(static_cast<size_t>(p.n) * p.n, 0.0);
  p.expert_tokens.assign(static_cast<size_t>(p.n) * p.experts, 0);
  p.dropped_slots = c.dropped_slots;
  int32_t max_device = 0;
  for (int32_t d : in.group) max_device = std::max(max_device, d);
  std::vector<int32_t> rank_of(static_cast<size_t>(max_device) + 1, -1);
  for (size_t i = 0; i < in.group.size(); ++i) rank_of[static_cast<size_t>(in.group[i])] = static_cast<int32_t>(i);
  auto rank = [&](int32_t device) {
    const int32_t r = device >= 0 && device <= max_device ? rank_of[static_cast<size_t>(device)] : -1;
    if (r < 0) throw std::invalid_argument("plan_dispatch_counts: expert outside the EP group");
    return r;
  };
  std::vector<int32_t> pool;
  for (int32_t e = 0; e < p.experts; ++e) {
    const auto& holders = place.holders[static_cast<size_t>(e)];
    int64_t turn = 0;
    for (int32_t src = 0; src < p.n; ++src) {
      const int64_t n = c.counts[static_cast<size_t>(src) * p.experts + e];
      if (n == 0) continue;
      p.routed_slots += n;
      const int32_t src_dev = in.group[static_cast<size_t>(src)];
      pool.clear();
      if (holders.size() == 1) pool.push_back(holders[0]);
      for (int32_t h : holders) if (pool.empty() && h == src_dev) pool.push_back(h);
      if (pool.empty())
        for (int32_t h : holders) if (in.node_of[h] == in.node_of[src_dev]) pool.push_back(h);
      if (pool.empty()) pool = holders;
      const int64_t h = static_cast<int64_t>(pool.size());
      for (int64_t j = 0; j < h; ++j) {  // round-robin from `turn`: member j gets n / h, plus one of the remainder
        const int64_t share = n / h + (((j - turn % h) + h) % h < n % h ? 1 : 0);
        if (share == 0) continue;
        const int32_t dst = rank(pool[static_cast<size_t>(j)]);
        p.bytes[static_cast<size_t>(src) * p.n + dst] += static_cast<double>(share) * in.bytes_per_token;
        p.expert_tokens[static_cast<size_t>(dst) * p.experts + e] += share;
      }
      if (h > 1) turn += n;
    }
  }
  p.routed_slots += p.dropped_slots;
  if (!in.tokens.empty()) {
    std::vector<int32_t> expert_node;  // distinct nodes holding the group's experts
    for (const auto& holders : place.holders)
      for (int32_t h : holders) expert_node.push_back(in.node_of[h]);
    std::sort(expert_node.begin(), expert_node.end());
    const auto n_nodes = std::unique(expert_node.begin(), expert_node.end()) - expert_node.begin();
    add_expected_node_bytes(p, in.group, in.node_of, in.nodes, in.tokens, c.top_k, c.max_nodes,
                            static_cast<int32_t>(n_nodes), in.bytes_per_token, c.nodes_per_token);
  }
  return p;
}

}  // namespace moesim::workload
