// The "alltoall_bench" workload (alltoall_bench.hpp): one All-to-All per step over the first
// `ranks` devices; alltoall.csv reports each point with the bandwidth the published tables use.
#include "models/workload/alltoall_bench.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "models/workload/dispatch.hpp"
#include "models/workload/workload.hpp"
#include "sim/core/errors.hpp"

namespace moesim::workload {

double hit_probability(int64_t k, int64_t pool, int64_t own) {
  // C(pool - own, k) / C(pool, k) = prod_t (pool - own - t) / (pool - t) (dispatch.hpp)
  return node_hit_probability(k, static_cast<double>(pool), static_cast<double>(own));
}

namespace {

int32_t nodes_of(const MoeTrafficParams& p) { return (p.ranks + p.ranks_per_node - 1) / p.ranks_per_node; }

}  // namespace

MoeTraffic low_latency_traffic(const MoeTrafficParams& p) {
  MoeTraffic t;
  const size_t n = static_cast<size_t>(p.ranks);
  const double per_pair = static_cast<double>(p.tokens * p.top_k) / p.ranks * p.token_bytes;
  t.matrix.assign(n * n, per_pair);
  t.node_bytes.assign(n * static_cast<size_t>(nodes_of(p)), 0.0);
  t.reported_bytes = static_cast<double>(p.tokens * p.top_k) * p.token_bytes;
  return t;
}

MoeTraffic normal_traffic(const MoeTrafficParams& p) {
  MoeTraffic t;
  const int32_t nodes = nodes_of(p);
  const int64_t g = std::min<int64_t>(p.top_groups, nodes);
  const int64_t pool = g * p.experts / nodes;
  const double node_pick = static_cast<double>(g) / nodes;
  const double in_rank = node_pick * hit_probability(p.top_k, pool, p.experts / p.ranks);
  const double in_node = node_pick * hit_probability(p.top_k, pool, p.experts / nodes);
  const double T = static_cast<double>(p.tokens);
  const size_t n = static_cast<size_t>(p.ranks);
  t.matrix.assign(n * n, T * in_rank * p.token_bytes);
  t.node_bytes.assign(n * static_cast<size_t>(nodes), T * in_node * p.token_bytes);
  t.reported_bytes = nodes > 1 ? T * in_node * nodes * p.token_bytes : T * in_rank * p.ranks * p.token_bytes;
  return t;
}

namespace {

// DeepEP low-latency messages carry 16 bytes of metadata besides the token (test_low_latency.py:
// num_fp8_bytes = hidden + hidden / 128 * 4 + 16).
constexpr double kLowLatencyHeader = 16.0;

struct Params {
  std::string pattern = "uniform";
  std::vector<int64_t> ranks;        // swept (default: every device)
  std::vector<double> sizes;         // uniform: bytes per rank (nccl-tests size), swept
  int64_t tokens = 128;
  int64_t hidden = 0, experts = 0, top_k = 0;  // 0: the model's
  int64_t top_groups = 4;
  hw::Dtype dispatch_dtype = hw::Dtype::bf16, combine_dtype = hw::Dtype::bf16;
  std::string algorithm;             // "" = the pattern's (uniform: the engine's)
  Seconds launch{0};
  int32_t comm_sms = 0;              // SMs of the kernel (0 = not limited; docs/engine.md "SM budget")
};

struct Point {
  std::string op;          // alltoall | dispatch | combine
  int32_t ranks = 0;
  double size = 0;         // uniform: bytes per rank (size / ranks per peer); moe: bytes per token copy
  double reported = 0;     // bytes the published bandwidth divides by the time (per rank)
  graph::CollectiveWork work;
};

class AlltoallBench final : public IWorkload {
 public:
  AlltoallBench(Params p, const WorkloadContext& ctx) : p_(std::move(p)), ctx_(ctx) { plan(); }

  int64_t steps() const override { return static_cast<int64_t>(points_.size()); }
  bool is_inference() const override { return false; }

  BuiltStep build(int64_t step) override {
    const Point& pt = points_[static_cast<size_t>(step)];
    BuiltStep out;
    out.graph.step = step;
    graph::Task t;
    t.name = fmt::format("{}.ranks{}", pt.op, pt.ranks);
    t.op = pt.op == "combine" ? "combine" : "dispatch";
    t.layer = 0;
    t.stream = graph::Stream::comm;
    t.work = pt.work;
    out.graph.add(std::move(t));
    out.info.step = step;
    out.info.phase = pt.op;
    for (size_t i = 0; i < pt.work.group.size(); ++i)
      for (size_t j = 0; j < pt.work.group.size(); ++j)
        if (i != j) out.info.a2a_bytes += pt.work.matrix[i * pt.work.group.size() + j];
    return out;
  }

  std::map<std::string, double> run_metrics(const std::vector<StepInfo>&, const std::vector<graph::StepGraph>&,
                                            const graph::Timeline& tl) const override {
    csv_ = "step,pattern,op,ranks,nodes,size_bytes,time_s,algbw_GBps,busbw_GBps,reported_GBps\n";
    for (size_t s = 0; s < points_.size() && s < tl.steps.size(); ++s) {
      const Point& pt = points_[s];
      const double t = tl.steps[s].end - tl.steps[s].start;
      const double r = pt.ranks, per_rank = pt.reported;
      const double algbw = t > 0 ? per_rank / t / 1e9 : 0.0;  // nccl-tests: size / time
      csv_ += fmt::format("{},{},{},{},{},{:.9g},{:.9g},{:.6g},{:.6g},{}\n", s, p_.pattern, pt.op, pt.ranks,
                          nodes_in(pt.ranks), pt.size, t, algbw, algbw * (r - 1) / r,
                          pt.op == "alltoall" ? std::string() : fmt::format("{:.6g}", t > 0 ? pt.reported / t / 1e9 : 0.0));
    }
    return {{"points", static_cast<double>(points_.size())}};
  }

  std::map<std::string, std::string> extra_outputs() const override { return {{"alltoall.csv", csv_}}; }

 private:
  int32_t per_node() const {
    int32_t c = 0;
    for (int32_t n : ctx_.cluster.node_of) c += n == ctx_.cluster.node_of.front();
    return c;
  }
  int32_t nodes_in(int32_t ranks) const { return (ranks + per_node() - 1) / per_node(); }
  int32_t cluster_nodes() const {
    return ctx_.cluster.node_of.empty() ? 1 : *std::max_element(ctx_.cluster.node_of.begin(), ctx_.cluster.node_of.end()) + 1;
  }

  graph::CollectiveWork work_of(int32_t ranks, std::vector<double> matrix) const {
    graph::CollectiveWork w;
    w.kind = graph::CollectiveKind::alltoallv;
    for (int32_t d = 0; d < ranks; ++d) w.group.push_back(d);
    w.matrix = std::move(matrix);
    w.algorithm = p_.algorithm;
    w.launch = p_.launch;
    w.comm_sms = p_.comm_sms;
    return w;
  }

  // Node bytes over the cluster's nodes (the engine indexes them globally): the group's first
  // nodes get the traffic's columns.
  std::vector<double> global_node_bytes(const MoeTraffic& t, int32_t ranks) const {
    const size_t nodes = static_cast<size_t>(cluster_nodes()), local = static_cast<size_t>(nodes_in(ranks));
    std::vector<double> out(static_cast<size_t>(ranks) * nodes, 0.0);
    for (size_t i = 0; i < static_cast<size_t>(ranks); ++i)
      for (size_t m = 0; m < local; ++m) out[i * nodes + m] = t.node_bytes[i * local + m];
    return out;
  }

  void plan() {
    const auto& m = *ctx_.model;
    const int64_t hidden = p_.hidden > 0 ? p_.hidden : m.d_model, experts = p_.experts > 0 ? p_.experts : m.experts;
    const int64_t k = p_.top_k > 0 ? p_.top_k : m.top_k;
    for (int64_t r64 : p_.ranks) {
      const int32_t r = static_cast<int32_t>(r64);
      if (r > ctx_.cluster.devices)
        throw InfeasibleError(fmt::format("alltoall_bench: ranks = {} but the cluster has {} devices", r, ctx_.cluster.devices));
      if (r > per_node() && r % per_node() != 0)
        throw InfeasibleError(fmt::format("alltoall_bench: ranks = {} is not a whole number of {}-device nodes", r, per_node()));
      if (p_.pattern == "uniform") {
        for (double s : p_.sizes) {
          std::vector<double> mx(static_cast<size_t>(r) * r, s / r);  // nccl-tests: size / ranks per peer
          points_.push_back({"alltoall", r, s, s, work_of(r, std::move(mx))});
        }
        continue;
      }
      if (experts % r != 0)
        throw InfeasibleError(fmt::format("alltoall_bench: {} experts do not divide over {} ranks", experts, r));
      const bool ll = p_.pattern == "moe_low_latency";
      for (const std::string op : {"dispatch", "combine"}) {
        MoeTrafficParams q{r, std::min(r, per_node()), p_.tokens, experts, k, p_.top_groups, 0.0};
        q.token_bytes = token_bytes(op == "dispatch" ? p_.dispatch_dtype : p_.combine_dtype, hidden) +
                        (ll && op == "dispatch" ? kLowLatencyHeader : 0.0);
        const MoeTraffic t = ll ? low_latency_traffic(q) : normal_traffic(q);
        graph::CollectiveWork w = work_of(r, t.matrix);
        if (ll) {
          w.message_bytes = q.token_bytes;  // one message per (token, expert) copy
          if (w.algorithm.empty()) w.algorithm = "direct";
        } else {
          w.node_bytes = global_node_bytes(t, r);
          w.combine = op == "combine";
          if (w.algorithm.empty()) w.algorithm = nodes_in(r) > 1 ? "node_dedup" : "direct";
        }
        points_.push_back({op, r, q.token_bytes, t.reported_bytes, std::move(w)});
      }
    }
  }

  Params p_;
  WorkloadContext ctx_;
  std::vector<Point> points_;
  mutable std::string csv_;
};

hw::Dtype dtype_key(const config::Table& t, std::string_view key, hw::Dtype def) {
  auto name = t.string_opt(key);
  if (!name) return def;
  auto d = hw::dtype_from_name(*name);
  if (!d) t.fail(key, fmt::format("unknown dtype '{}'", *name));
  return *d;
}

Params read_params(const config::Table& t, const WorkloadContext& ctx) {
  Params p;
  p.pattern = t.choice_or("pattern", {"uniform", "moe_low_latency", "moe_normal"}, p.pattern);
  p.ranks = t.integers_or("ranks", {ctx.cluster.devices});
  if (p.ranks.empty()) t.fail("ranks", "is empty: list at least one rank count, e.g. [8, 16]");
  for (int64_t r : p.ranks)
    if (r < 2 || r > ctx.cluster.devices) t.fail("ranks", fmt::format("each must be in 2..{} (the cluster's devices)", ctx.cluster.devices));
  for (const std::string& s : t.strings_or("sizes", {"1MiB"})) {
    auto b = parse_quantity(s, Dimension::bytes);
    if (!b || *b <= 0) t.fail("sizes", fmt::format("'{}' is not a positive size with a unit", s));
    p.sizes.push_back(*b);
  }
  if (p.sizes.empty()) t.fail("sizes", "is empty: list at least one message size, e.g. [\"1KiB\", \"1MiB\"]");
  p.tokens = t.integer_in_or("tokens", 1, 1 << 24, p.tokens);
  p.hidden = t.integer_in_or("hidden", 1, 1 << 24, 0);
  p.experts = t.integer_in_or("experts", 1, 1 << 20, 0);
  p.top_k = t.integer_in_or("top_k", 1, 1 << 10, 0);
  p.top_groups = t.integer_in_or("top_groups", 1, 1 << 20, p.top_groups);
  p.dispatch_dtype = dtype_key(t, "dispatch_dtype", ctx.model->activation_dtype);
  p.combine_dtype = dtype_key(t, "combine_dtype", ctx.model->activation_dtype);
  p.algorithm = t.choice_or("algorithm", {"direct", "hierarchical", "node_dedup"}, "");
  p.launch = t.seconds_or("launch", Seconds(0));
  p.comm_sms = static_cast<int32_t>(t.integer_in_or("comm_sms", 0, 1 << 20, 0));
  t.finish();
  return p;
}

}  // namespace

MOESIM_REGISTER(WorkloadRegistry, "alltoall_bench",
                "All-to-All microbenchmark: ranks x message size sweep (nccl-tests, DeepEP test patterns)",
                [](const config::Table& t, const WorkloadContext& ctx) -> std::unique_ptr<IWorkload> {
                  return std::make_unique<AlltoallBench>(read_params(t, ctx), ctx);
                });

}  // namespace moesim::workload
