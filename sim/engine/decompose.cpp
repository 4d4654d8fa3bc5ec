// Collectives, copies and storage reads as phases of flows (algorithms in decompose.hpp).
#include "sim/engine/decompose.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <utility>

#include "hardware/storage_model.hpp"
#include "sim/core/errors.hpp"
#include "sim/graph/chain.hpp"

namespace moesim::engine {
namespace {

using graph::CollectiveKind;
using graph::CollectiveWork;

// Accumulates bytes per (src, dst) device pair, dropping self-pairs, in a deterministic order.
// Beside the bytes, the bytes the pair's flow makes the SMs of its source and of its destination
// move (SM budget, docs/engine.md): by default all of them at both ends (the sender's SMs push
// them, the receiver's copy them out of its buffer); node_dedup says otherwise for forwarders.
class PairBytes {
 public:
  void add(int32_t src, int32_t dst, double bytes) { add(src, dst, bytes, bytes, bytes); }
  void add(int32_t src, int32_t dst, double bytes, double sm_src, double sm_dst) {
    if (src == dst || bytes <= 0) return;
    Cell& c = bytes_[{src, dst}];
    c.bytes += bytes;
    c.sm_src += sm_src;
    c.sm_dst += sm_dst;
  }
  Phase phase(double latency_steps = 1.0) const {
    Phase p;
    p.latency_steps = latency_steps;
    p.flows.reserve(bytes_.size());
    for (const auto& [k, c] : bytes_)
      p.flows.push_back({Endpoints::device_to_device, k.first, k.second, c.bytes, 0.0, c.sm_src, c.sm_dst});
    return p;
  }

 private:
  struct Cell {
    double bytes = 0, sm_src = 0, sm_dst = 0;
  };
  std::map<std::pair<int32_t, int32_t>, Cell> bytes_;
};

size_t n_of(const CollectiveWork& c) { return c.group.size(); }

// Phases moved into the result (a braced list would copy every flow: initializer_list is const).
template <class... P>
std::vector<Phase> phases_of(P&&... p) {
  std::vector<Phase> v;
  v.reserve(sizeof...(p));
  (v.push_back(std::forward<P>(p)), ...);
  return v;
}
double at(const CollectiveWork& c, size_t i, size_t j) { return c.matrix[i * n_of(c) + j]; }

// Direct pairs straight from the matrix, without the map (large P).
std::vector<Phase> matrix_direct(const CollectiveWork& c) {
  Phase p;
  const size_t n = n_of(c);
  size_t count = 0;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) count += at(c, i, j) > 0 && c.group[i] != c.group[j];
  p.flows.reserve(count);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) {
      const double b = at(c, i, j);
      if (b > 0 && c.group[i] != c.group[j]) p.flows.push_back({Endpoints::device_to_device, c.group[i], c.group[j], b, 0.0, b, b});
    }
  return phases_of(std::move(p));
}

// Members grouped by node: local index of each member, and the member at (node, local).
struct NodeLayout {
  std::vector<int32_t> local;                         // per member
  std::map<int32_t, std::vector<size_t>> members;     // node -> member indices in group order
};

NodeLayout layout_of(const CollectiveWork& c, const hw::Topology& topo) {
  NodeLayout l;
  l.local.resize(n_of(c));
  for (size_t i = 0; i < n_of(c); ++i) {
    auto& m = l.members[topo.node_of(c.group[i])];
    l.local[i] = static_cast<int32_t>(m.size());
    m.push_back(i);
  }
  return l;
}

// Strided copies of 2DH (Tutel, Hwang et al. MLSys 2023, Sec. 3.3; DeepSpeed-MoE hierarchical
// all-to-all): before each phase a sender regroups what it sends by destination (local rank for
// phase 1, node for phase 2) with one strided copy, read + write of its outgoing bytes at the
// device's memory rate: t_copy(i) = 2 * out_bytes(i) / (memory_bandwidth * memory_efficiency).
// The copy runs on the sender before its flows start (added to their fixed latency). Devices
// without a memory bandwidth (0) skip it.
void add_stride_copies(std::vector<Phase>& phases, const hw::Topology& topo) {
  for (Phase& p : phases) {
    std::map<int32_t, double> out;
    for (const Flow& f : p.flows) out[f.src] += f.bytes;
    for (Flow& f : p.flows) {
      const hw::DeviceSpec& d = topo.device(f.src);
      const double rate = d.memory_bandwidth.value * d.memory_efficiency;
      if (rate > 0) f.fixed_latency += 2.0 * out[f.src] / rate;
    }
  }
}

std::vector<Phase> alltoall_hierarchical(const CollectiveWork& c, const hw::Topology& topo) {
  const NodeLayout l = layout_of(c, topo);
  const size_t per = l.members.begin()->second.size();
  for (const auto& [node, m] : l.members)
    if (m.size() != per)
      throw InfeasibleError(fmt::format("hierarchical all-to-all needs the same number of ranks on every node "
                                        "(node {} has {}, node {} has {})", l.members.begin()->first, per, node, m.size()));
  PairBytes intra, inter;
  for (size_t i = 0; i < n_of(c); ++i) {
    const int32_t ni = topo.node_of(c.group[i]);
    for (size_t j = 0; j < n_of(c); ++j) {
      const double b = at(c, i, j);
      if (b <= 0) continue;
      const size_t peer = l.members.at(ni)[static_cast<size_t>(l.local[j])];  // (n_i, local_j)
      intra.add(c.group[i], c.group[peer], b);
      inter.add(c.group[peer], c.group[j], b);
    }
  }
  std::vector<Phase> phases = phases_of(intra.phase(), inter.phase());
  add_stride_copies(phases, topo);
  return phases;
}

std::vector<Phase> node_dedup_dispatch(const CollectiveWork& c, const hw::Topology& topo);

// A combine runs the flows of its dispatch backwards: the transpose's dispatch, each flow reversed.
std::vector<Phase> alltoall_node_dedup(const CollectiveWork& c, const hw::Topology& topo) {
  if (!c.combine) return node_dedup_dispatch(c, topo);
  CollectiveWork t = c;
  const size_t n = n_of(c);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) t.matrix[i * n + j] = c.matrix[j * n + i];
  std::vector<Phase> phases = node_dedup_dispatch(t, topo);
  for (Phase& p : phases)
    for (Flow& f : p.flows) {
      std::swap(f.src, f.dst);
      std::swap(f.sm_src_s, f.sm_dst_s);  // a combine's SMs mirror its dispatch's
    }
  return phases;
}

std::vector<Phase> node_dedup_dispatch(const CollectiveWork& c, const hw::Topology& topo) {
  const NodeLayout l = layout_of(c, topo);
  const size_t nodes = static_cast<size_t>(topo.node_count());
  if (!c.node_bytes.empty() && c.node_bytes.size() != n_of(c) * nodes)
    throw InfeasibleError(fmt::format("node_dedup: node_bytes has {} entries, needs group size x nodes = {}",
                                      c.node_bytes.size(), n_of(c) * nodes));
  // SM budget: a byte costs one SM pass where it starts (the sender stages it), one on every
  // forwarder (reads the RDMA buffer and stores to the NVLink peer: counted as the forwarder's
  // send) and one where it ends (the receiver copies it out); so the inter-node flow costs its
  // forwarder only what ends there (own), not the bytes it passes on.
  PairBytes pairs;
  for (size_t i = 0; i < n_of(c); ++i) {
    const int32_t ni = topo.node_of(c.group[i]);
    std::map<int32_t, double> to_node;  // bytes i sends to each other node (undeduplicated)
    std::map<int32_t, double> own;      // of those, bytes for the forwarder itself
    for (size_t j = 0; j < n_of(c); ++j) {
      const double b = at(c, i, j);
      if (b <= 0) continue;
      const int32_t nj = topo.node_of(c.group[j]);
      if (nj == ni) { pairs.add(c.group[i], c.group[j], b); continue; }
      const auto& dst_members = l.members.at(nj);
      const size_t fwd = dst_members[static_cast<size_t>(l.local[i]) % dst_members.size()];
      if (fwd == j) own[nj] += b;
      pairs.add(c.group[fwd], c.group[j], b);  // NVLink fan-out on the destination node
      to_node[nj] += b;
    }
    for (const auto& [nj, b] : to_node) {
      const auto& dst_members = l.members.at(nj);
      const size_t fwd = dst_members[static_cast<size_t>(l.local[i]) % dst_members.size()];
      const double dedup = c.node_bytes.empty() ? b : c.node_bytes[i * nodes + static_cast<size_t>(nj)];
      pairs.add(c.group[i], c.group[fwd], dedup, dedup, own[nj]);
    }
  }
  return phases_of(pairs.phase());
}

std::vector<Phase> ring(const CollectiveWork& c, double bytes_per_edge, double steps) {
  PairBytes p;
  const size_t n = n_of(c);
  for (size_t i = 0; i < n; ++i) p.add(c.group[i], c.group[(i + 1) % n], bytes_per_edge);
  return phases_of(p.phase(steps));
}

std::vector<Phase> all_pairs(const CollectiveWork& c, double bytes_per_pair) {
  PairBytes p;
  for (int32_t a : c.group)
    for (int32_t b : c.group) p.add(a, b, bytes_per_pair);
  return phases_of(p.phase());
}

std::vector<Phase> rooted(const CollectiveWork& c, bool from_root) {
  PairBytes p;
  for (int32_t d : c.group) from_root ? p.add(c.root, d, c.bytes.value) : p.add(d, c.root, c.bytes.value);
  return phases_of(p.phase());
}

// Pipelined chain broadcast / reduce (NCCL's ring broadcast and reduce: the payload streams
// through the members in chunks, so every hop carries the bytes once and, for payloads much larger
// than a chunk, T = (n-1)·α + bytes / B_slowest hop; Patarasuk & Yuan 2009, NCCL docs
// "Collective operations"), in graph::chain_order. Reduce runs the chain backwards.
std::vector<Phase> rooted_chain(const CollectiveWork& c, bool from_root, const hw::Topology& topo) {
  const std::vector<int32_t> order = graph::chain_order(c.root, c.group, [&](int32_t d) { return topo.node_of(d); });
  PairBytes p;
  for (size_t i = 0; i + 1 < order.size(); ++i)
    from_root ? p.add(order[i], order[i + 1], c.bytes.value) : p.add(order[i + 1], order[i], c.bytes.value);
  return phases_of(p.phase(static_cast<double>(order.size() - 1)));
}

using Algorithm = std::function<std::vector<Phase>(const CollectiveWork&, const hw::Topology&)>;

const std::map<std::string, Algorithm>& alltoall_table() {
  static const std::map<std::string, Algorithm> t = {
      {"direct", [](const CollectiveWork& c, const hw::Topology&) { return matrix_direct(c); }},
      {"hierarchical", alltoall_hierarchical},
      {"node_dedup", alltoall_node_dedup},
  };
  return t;
}

std::vector<Phase> ring_kind(const CollectiveWork& c, bool use_ring) {
  const double n = static_cast<double>(n_of(c)), b = c.bytes.value;
  switch (c.kind) {
    case CollectiveKind::all_gather: return use_ring ? ring(c, (n - 1) * b, n - 1) : all_pairs(c, b);
    case CollectiveKind::reduce_scatter: return use_ring ? ring(c, (n - 1) / n * b, n - 1) : all_pairs(c, b / n);
    case CollectiveKind::all_reduce: {
      if (use_ring) return ring(c, 2 * (n - 1) / n * b, 2 * (n - 1));
      auto first = all_pairs(c, b / n), second = all_pairs(c, b / n);
      first.push_back(std::move(second.front()));
      return first;
    }
    default: return {};
  }
}

// LogP sender overhead (hw::LinkSpec::message_overhead, o of the flow's first hop): a rank's
// flows of a phase start once it has posted all of them, n_src x o late (ring phases: once per
// step). Additive (T = n·o + transfer) rather than LogP's pipelined posting: exact when overhead
// or bandwidth dominates, the same in the exact and fast network modes, and the form the IPC
// calibration fits (validate/calibrate/fit.hpp).
// A flow is one message, or ceil(bytes / message_bytes) messages when the collective says how
// large its messages are (CollectiveWork::message_bytes: DeepEP low-latency, one per token copy).
double messages_of(const Flow& f, double message_bytes) {
  return message_bytes > 0 ? std::max(1.0, std::ceil(f.bytes / message_bytes)) : 1.0;
}

// With message-size regimes on the first hop (hw::LinkRegime), o is the regime of one message's
// size and the flow carries bytes / efficiency_r, so every hop moves it at efficiency_r x its rate
// (hardware/storage_model.hpp message_overhead/_efficiency).
void add_message_overhead(std::vector<Phase>& phases, const hw::Topology& topo, double message_bytes) {
  if (!topo.has_message_overhead()) return;
  for (Phase& p : phases) {
    std::map<int32_t, double> posted;  // sender -> sum of o over its messages
    for (Flow& f : p.flows) {
      if (f.kind != Endpoints::device_to_device) continue;
      const std::vector<hw::EdgeId> r = topo.route(f.src, f.dst);
      if (r.empty()) continue;
      const hw::LinkSpec& first = topo.edge(r.front()).link;
      const double messages = messages_of(f, message_bytes);
      const Bytes message(f.bytes / messages);
      posted[f.src] += messages * hw::message_overhead(first, message).value;
      f.bytes /= hw::message_efficiency(first, message);
    }
    for (Flow& f : p.flows)
      if (f.kind == Endpoints::device_to_device) f.fixed_latency += posted[f.src] * p.latency_steps;
  }
}

std::vector<Phase> collective_phases(const CollectiveWork& c, const hw::Topology& topo, const std::string& alltoall,
                                     const std::string& ring_algo) {
  switch (c.kind) {
    case CollectiveKind::alltoallv: {
      const std::string& name = c.algorithm.empty() ? alltoall : c.algorithm;
      auto it = alltoall_table().find(name);
      if (it == alltoall_table().end())
        throw InfeasibleError(fmt::format("unknown all-to-all algorithm '{}' (valid values: direct, hierarchical, node_dedup)", name));
      return it->second(c, topo);
    }
    case CollectiveKind::send_recv: return matrix_direct(c);
    case CollectiveKind::broadcast:
    case CollectiveKind::reduce: {
      const std::string& name = c.algorithm.empty() ? ring_algo : c.algorithm;
      if (name != "ring" && name != "direct")
        throw InfeasibleError(fmt::format("unknown {} algorithm '{}' (valid values: ring, direct)", graph::collective_name(c.kind), name));
      const bool bcast = c.kind == CollectiveKind::broadcast;
      return name == "ring" ? rooted_chain(c, bcast, topo) : rooted(c, bcast);
    }
    default: {
      const std::string& name = c.algorithm.empty() ? ring_algo : c.algorithm;
      if (name != "ring" && name != "direct")
        throw InfeasibleError(fmt::format("unknown {} algorithm '{}' (valid values: ring, direct)", graph::collective_name(c.kind), name));
      return ring_kind(c, name == "ring");
    }
  }
}

// SM budget (docs/engine.md "SM budget"): the algorithms leave in sm_src_s / sm_dst_s the BYTES
// each flow makes the SMs of its ends move; with comm_sms they become seconds at the device's
// rate comm_sms x sm_copy_bandwidth (0 where the device has none), without it they are dropped.
// The executor runs a device's SM seconds of a phase as work beside the flows' link loads, so a
// phase lasts at least max over devices of (SM bytes of the device) / (comm_sms x rate).
void apply_sm_budget(std::vector<Phase>& phases, const hw::Topology& topo, int32_t comm_sms) {
  auto seconds = [&](int32_t device, double bytes) {
    if (comm_sms <= 0 || bytes <= 0) return 0.0;
    const hw::DeviceSpec& d = topo.device(device);
    if (d.sm_count > 0 && comm_sms > d.sm_count)
      throw InfeasibleError(fmt::format("a collective runs on comm_sms = {} SMs but device {} ({}) has {}", comm_sms,
                                        device, d.name, d.sm_count));
    const double rate = comm_sms * d.sm_copy_bandwidth.value;
    return rate > 0 ? bytes / rate : 0.0;
  };
  for (Phase& p : phases)
    for (Flow& f : p.flows) {
      f.sm_src_s = seconds(f.src, f.sm_src_s);
      f.sm_dst_s = seconds(f.dst, f.sm_dst_s);
    }
}

}  // namespace

std::vector<Phase> decompose_collective(const CollectiveWork& c, const hw::Topology& topo, const std::string& alltoall,
                                        const std::string& ring_algo) {
  if (n_of(c) <= 1) return {};
  std::vector<Phase> phases = collective_phases(c, topo, alltoall, ring_algo);
  apply_sm_budget(phases, topo, c.comm_sms);
  add_message_overhead(phases, topo, c.message_bytes);
  if (c.launch.value > 0)  // one kernel per phase on every member (not per ring step)
    for (Phase& p : phases)
      for (Flow& f : p.flows) f.fixed_latency += c.launch.value;
  return phases;
}

std::vector<Phase> decompose_copy(const graph::CopyWork& c) {
  if (c.bytes.value <= 0) return {};
  Phase p;
  p.flows.push_back({c.host_to_device ? Endpoints::host_to_device : Endpoints::device_to_host, c.device, c.device,
                     c.bytes.value, 0.0});
  return phases_of(std::move(p));
}

// Storage read as a flow over storage -> host -> device whose storage edge runs at the sequential
// read bandwidth: a read at another rate (random, or its size regime's) is carried as proportionally
// more (or fewer) bytes, and each request pays its regime's latency:
// time = requests x latency(s) + bytes / bw(s), s = bytes / requests (hardware/storage_model.hpp).
std::vector<Phase> decompose_storage_read(const graph::StorageReadWork& r, const hw::Topology& topo) {
  auto s = topo.storage(r.device);
  if (!s) throw InfeasibleError(fmt::format("device {} reads from storage but [cluster.host] has no storage", r.device));
  if (r.bytes.value <= 0) return {};
  const int32_t requests = std::max(r.requests, 1);
  const double bw = hw::read_bandwidth(*s, Bytes(r.bytes.value / requests)).value;
  Phase p;
  p.flows.push_back({Endpoints::storage_to_device, r.device, r.device,
                     r.bytes.value * s->seq_read_bandwidth.value / bw,
                     requests * hw::request_latency(*s, Bytes(r.bytes.value / requests)).value});
  return phases_of(std::move(p));
}

}  // namespace moesim::engine
