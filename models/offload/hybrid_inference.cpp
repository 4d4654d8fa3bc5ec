// Graph of one cpu_gpu_hybrid step (see hybrid_workload.hpp for the mechanism and sources).
// Streams of device 0: compute = the GPU (tasks run in the order added: per layer every
// micro-batch's pre-attention, then every micro-batch's post-attention); io = the weight pages;
// comm = the host side (QKV D2H copy, CPU decode attention, output H2D copy, per micro-batch).
#include <fmt/format.h>

#include <algorithm>

#include "hardware/compute_model.hpp"
#include "models/offload/hybrid_workload.hpp"
#include "models/workload/token_costs.hpp"
#include "sim/core/errors.hpp"

namespace moesim::offload {

using graph::MemCategory;
using graph::Stream;
using graph::TaskId;

namespace {

class CpuGpuHybrid final : public workload::IWorkload {
 public:
  CpuGpuHybrid(HybridParams p, const workload::WorkloadContext& ctx) : p_(std::move(p)), ctx_(ctx) {}

  int64_t steps() const override { return p_.generate_tokens + (prefill_first() ? 1 : 0); }
  bool is_inference() const override { return true; }
  bool prefill_first() const { return p_.phases == "both"; }

  workload::BuiltStep build(int64_t step) override;
  std::map<std::string, double> run_metrics(const std::vector<workload::StepInfo>& steps,
                                            const std::vector<graph::StepGraph>& graphs,
                                            const graph::Timeline& t) const override;

  const model::ModelSpec& m() const { return *ctx_.model; }
  hw::Dtype dtype() const { return hw::dtype_bytes(m().weight_dtype) >= 1.0 ? m().weight_dtype : m().activation_dtype; }
  int64_t mb_tokens(int32_t j) const {
    return p_.batch / p_.micro_batches + (j < p_.batch % p_.micro_batches ? 1 : 0);
  }

  HybridParams p_;
  workload::WorkloadContext ctx_;
};

struct StepBuilder {
  const CpuGpuHybrid& w;
  graph::StepGraph& g;
  workload::StepInfo& info;
  bool prefill = false;
  int64_t kv_before = 0;  // tokens in each request's KV cache before this step
  std::vector<TaskId> gpu_last_of_layer;  // last GPU task of each layer (frees its buffer half)
  TaskId last_page = -1;
  TaskId last_host = -1;

  const model::ModelSpec& m() const { return w.m(); }
  double ab() const { return hw::dtype_bytes(m().activation_dtype); }
  double wb() const { return hw::dtype_bytes(m().weight_dtype); }

  TaskId add(graph::Task t) { return g.add(std::move(t)); }

  TaskId gpu(const std::string& name, const std::string& op, int32_t layer, int32_t mb, double flops, double bytes,
             Seconds duration, std::vector<TaskId> deps) {
    graph::Task t;
    t.name = name;
    t.op = op;
    t.layer = layer;
    t.micro_batch = mb;
    t.stream = Stream::compute;
    t.work = graph::ComputeWork{0, Flops(flops), Bytes(bytes), w.dtype(), 0, 1, duration};
    t.deps = std::move(deps);
    return add(std::move(t));
  }

  Seconds gpu_time(double flops, double bytes, int64_t rows, int32_t kernels) const {
    return w.ctx_.compute_time(graph::ComputeWork{0, Flops(flops), Bytes(bytes), w.dtype(), rows, kernels, Seconds(0)});
  }

  TaskId host_copy(const std::string& name, int32_t layer, int32_t mb, double bytes, bool to_device, TaskId dep) {
    graph::Task t;
    t.name = name;
    t.op = to_device ? "activation_h2d" : "activation_d2h";
    t.layer = layer;
    t.micro_batch = mb;
    t.stream = Stream::comm;
    t.work = graph::CopyWork{0, to_device, Bytes(bytes)};
    t.deps = {dep};
    if (last_host >= 0) t.deps.push_back(last_host);
    return last_host = add(std::move(t));
  }

  // Layer l's weights as `micro_batches` pages on the I/O stream; returns the page ids.
  std::vector<TaskId> stream_weights(int32_t l) {
    const double bytes = hybrid_layer_weight_bytes(m(), l);
    const int32_t pages = w.p_.micro_batches;
    std::vector<TaskId> ids;
    for (int32_t i = 0; i < pages; ++i) {
      graph::Task t;
      t.name = fmt::format("L{}.weights.page{}", l, i);
      t.op = "weight_page";
      t.layer = l;
      t.stream = Stream::io;
      t.work = graph::CopyWork{0, true, Bytes(bytes / pages)};
      if (last_page >= 0) t.deps.push_back(last_page);
      if (l >= 2) t.deps.push_back(gpu_last_of_layer[static_cast<size_t>(l - 2)]);  // double buffer
      t.on_start.push_back(graph::MemDelta{0, MemCategory::weights, Bytes(bytes / pages)});
      ids.push_back(last_page = add(std::move(t)));
    }
    return ids;
  }

  // O projection + gate + routed experts (one GEMM each, at its token count) + shared/dense FFN.
  std::pair<Seconds, double> ffn_time(int32_t l, int32_t j, int64_t tokens, const workload::LayerTokenCosts& c,
                                      double& flops) {
    const double T = static_cast<double>(tokens);
    Seconds s(0);
    double bytes = 0;
    auto op = [&](double f, double b, int64_t rows, int32_t k) {
      s = s + gpu_time(f, b, rows, k);
      flops += f, bytes += b;
    };
    op(T * c.gate.flops, c.gate.weight_bytes + T * c.gate.activation_bytes, tokens, 1);
    if (!m().is_moe_layer(l)) {
      op(T * c.dense_ffn.flops, c.dense_ffn.weight_bytes + T * c.dense_ffn.activation_bytes, tokens, 2);
      return {s, bytes};
    }
    int32_t mi = 0;
    for (int64_t b = 0; b < l; ++b) mi += m().is_moe_layer(b) ? 1 : 0;
    const int64_t routing_step = g.step * w.p_.micro_batches + j;
    auto r = w.ctx_.routing->route(routing::RouteRequest{routing_step, mi, tokens, {}});
    const auto load = r.expert_load(static_cast<int32_t>(m().experts));
    const double ew = workload::expert_params(m()) * wb();
    const int32_t kernels = m().ffn == model::FfnKind::swiglu3 ? 3 : 2;
    for (int64_t t : load) {
      if (t == 0) continue;
      info.routed_slots += t;
      op(static_cast<double>(t) * c.expert.flops, ew + static_cast<double>(t) * c.expert.activation_bytes, t, kernels);
    }
    if (m().shared_experts > 0)
      op(T * c.shared_expert.flops, c.shared_expert.weight_bytes + T * c.shared_expert.activation_bytes, tokens, 2);
    return {s, bytes};
  }

  double o_proj_params() const {
    return static_cast<double>(m().heads * m().v_head_dim() * m().d_model);
  }

  void decode_layer(int32_t l, const std::vector<TaskId>& pages, std::vector<TaskId>& prev) {
    const double ctx = static_cast<double>(kv_before + 1);
    auto c = workload::layer_token_costs(m(), l, ctx);
    auto c0 = workload::layer_token_costs(m(), l, 0);
    const double o_flops = 2.0 * o_proj_params(), o_bytes = o_proj_params() * wb();
    const int32_t mbs = w.p_.micro_batches;
    std::vector<TaskId> pre(mbs), back(mbs);
    for (int32_t j = 0; j < mbs; ++j) {  // GPU: norm + QKV projection
      const double T = static_cast<double>(w.mb_tokens(j));
      double f = T * (c0.attention.flops - o_flops), b = c0.attention.weight_bytes - o_bytes + T * 4.0 * c.hidden_bytes;
      std::vector<TaskId> deps{pages.front()};
      if (prev[j] >= 0) deps.push_back(prev[j]);
      pre[j] = gpu(fmt::format("L{}.mb{}.qkv", l, j), "attention_qkv", l, j, f, b, gpu_time(f, b, w.mb_tokens(j), 3), deps);
      auto& t = g.tasks[static_cast<size_t>(pre[j])];
      t.on_start.push_back(graph::MemDelta{0, MemCategory::workspace, Bytes(4.0 * T * c.hidden_bytes)});
      t.on_end.push_back(graph::MemDelta{0, MemCategory::workspace, Bytes(-4.0 * T * c.hidden_bytes)});
    }
    for (int32_t j = 0; j < mbs; ++j) {  // host: QKV down, attention over the host KV, output up
      const double T = static_cast<double>(w.mb_tokens(j));
      const double qkv = T * static_cast<double>((m().heads + 2 * m().kv_heads) * m().qk_head_dim()) * ab();
      TaskId down = host_copy(fmt::format("L{}.mb{}.qkv_d2h", l, j), l, j, qkv, false, pre[j]);
      double f = T * (c.attention.flops - c0.attention.flops), b = T * (ctx * c.kv_bytes + c.kv_bytes);
      graph::Task a;
      a.name = fmt::format("L{}.mb{}.cpu_attention", l, j);
      a.op = "cpu_attention";
      a.layer = l;
      a.micro_batch = j;
      a.stream = Stream::comm;
      a.work = graph::ComputeWork{0, Flops(f), Bytes(b), w.dtype(), 0, 1,
                                  hw::op_time(w.p_.host_cpu, Flops(f), Bytes(b), m().activation_dtype, 0, 1)};
      a.deps = {down};
      last_host = add(std::move(a));
      const double out = T * static_cast<double>(m().heads * m().v_head_dim()) * ab();
      back[j] = host_copy(fmt::format("L{}.mb{}.attn_h2d", l, j), l, j, out, true, last_host);
    }
    for (int32_t j = 0; j < mbs; ++j) {  // GPU: O projection, gate, experts
      const int64_t tokens = w.mb_tokens(j);
      double flops = static_cast<double>(tokens) * o_flops;
      auto [s, bytes] = ffn_time(l, j, tokens, c, flops);
      s = s + gpu_time(static_cast<double>(tokens) * o_flops, o_bytes, tokens, 1);
      std::vector<TaskId> deps = pages;
      deps.push_back(back[j]);
      prev[j] = gpu(fmt::format("L{}.mb{}.post_attention", l, j), "moe_ffn", l, j, flops, bytes + o_bytes, s, deps);
    }
  }

  void prefill_layer(int32_t l, const std::vector<TaskId>& pages, std::vector<TaskId>& prev) {
    const int64_t p = w.p_.prompt_tokens;
    // Prefill reads each sequence's K/V once per pass (FlashAttention IO model, model::sequence_span).
    auto c = workload::layer_token_costs(m(), l, model::sequence_span(static_cast<double>(p), model::causal_attention(m())));
    for (int32_t j = 0; j < w.p_.micro_batches; ++j) {
      const int64_t tokens = w.mb_tokens(j) * p;
      const double T = static_cast<double>(tokens);
      double flops = T * c.attention.flops;
      auto [s, bytes] = ffn_time(l, j, tokens, c, flops);
      const double ab_ = c.attention.weight_bytes + T * c.attention.activation_bytes;
      s = s + gpu_time(T * c.attention.flops, ab_, tokens, 5);
      std::vector<TaskId> deps = pages;
      if (prev[j] >= 0) deps.push_back(prev[j]);
      prev[j] = gpu(fmt::format("L{}.mb{}.prefill", l, j), "prefill_layer", l, j, flops, bytes + ab_, s, deps);
      host_copy(fmt::format("L{}.mb{}.kv_d2h", l, j), l, j, T * c.kv_bytes, false, prev[j]);
    }
  }

  void build() {
    const int32_t L = static_cast<int32_t>(m().layers);
    g.resident.push_back(graph::MemDelta{0, MemCategory::weights, Bytes(workload::embedding_params(m()) * wb())});
    std::vector<TaskId> prev(static_cast<size_t>(w.p_.micro_batches), -1);
    gpu_last_of_layer.assign(static_cast<size_t>(L), -1);
    for (int32_t l = 0; l < L; ++l) {
      auto pages = stream_weights(l);
      if (prefill) prefill_layer(l, pages, prev);
      else decode_layer(l, pages, prev);
      gpu_last_of_layer[static_cast<size_t>(l)] = prev.back();
      g.tasks[static_cast<size_t>(prev.back())].on_end.push_back(
          graph::MemDelta{0, MemCategory::weights, Bytes(-hybrid_layer_weight_bytes(m(), l))});
    }
    auto h = workload::lm_head_costs(m());
    for (int32_t j = 0; j < w.p_.micro_batches; ++j) {
      const double T = static_cast<double>(w.mb_tokens(j));
      double f = T * h.flops, b = h.weight_bytes + T * h.activation_bytes;
      gpu(fmt::format("mb{}.lm_head", j), "lm_head", -1, j, f, b, gpu_time(f, b, w.mb_tokens(j), 1), {prev[j]});
    }
  }
};

workload::BuiltStep CpuGpuHybrid::build(int64_t step) {
  workload::BuiltStep out;
  out.graph.step = step;
  out.info.step = step;
  StepBuilder b{*this, out.graph, out.info};
  b.prefill = prefill_first() && step == 0;
  b.kv_before = p_.prompt_tokens + (prefill_first() ? step - 1 : step);
  b.build();
  out.info.phase = b.prefill ? "prefill" : "decode";
  out.info.tokens = b.prefill ? p_.batch * p_.prompt_tokens : p_.batch;
  out.info.output_tokens = p_.batch;
  const double kv = hybrid_kv_bytes_per_token(m()) * static_cast<double>(p_.batch);
  out.info.extra["host_kv_bytes"] = kv * static_cast<double>(b.prefill ? p_.prompt_tokens : b.kv_before + 1);
  return out;
}

std::map<std::string, double> CpuGpuHybrid::run_metrics(const std::vector<workload::StepInfo>& steps,
                                                        const std::vector<graph::StepGraph>& graphs,
                                                        const graph::Timeline& t) const {
  std::map<std::string, double> out;
  double io = 0, streamed = 0, cpu_busy = 0, gpu_busy = 0, decode_s = 0, decode_tokens = 0, kv_peak = 0;
  double processed = 0, total_s = 0;  // prompt + generated tokens (what MoE-Lens' T_max counts)
  for (size_t i = 0; i < graphs.size() && i < t.steps.size(); ++i) {
    const auto& st = t.steps[i];
    for (size_t k = 0; k < graphs[i].tasks.size(); ++k) {
      const auto& task = graphs[i].tasks[k];
      const double span = st.tasks[k].end - st.tasks[k].start;
      if (task.op == "weight_page") {
        const double bytes = std::get<graph::CopyWork>(task.work).bytes.value;
        streamed += bytes;
        if (span > 0) io = std::max(io, bytes / span);
      }
      if (task.op == "cpu_attention") cpu_busy += span;
      if (task.stream == Stream::compute) gpu_busy += span;
    }
    total_s += st.end - st.start;
    if (i < steps.size()) processed += static_cast<double>(steps[i].tokens);
    if (i < steps.size() && steps[i].phase == "decode") {
      decode_s += st.end - st.start;
      decode_tokens += static_cast<double>(steps[i].output_tokens);
    }
    if (i < steps.size())
      if (auto it = steps[i].extra.find("host_kv_bytes"); it != steps[i].extra.end()) kv_peak = std::max(kv_peak, it->second);
  }
  // Effective rates of the models the simulation used (a large GEMM, a pure memory stream).
  HybridBoundInputs in;
  const double big = 1e15, mem = 1e12;
  in.gpu_flops = big / ctx_.compute_time(graph::ComputeWork{0, Flops(big), Bytes(0), dtype(), int64_t{1} << 30, 0, Seconds(0)}).value;
  in.gpu_bandwidth = mem / ctx_.compute_time(graph::ComputeWork{0, Flops(0), Bytes(mem), dtype(), 0, 0, Seconds(0)}).value;
  in.cpu_flops = big / hw::op_time(p_.host_cpu, Flops(big), Bytes(0), m().activation_dtype, int64_t{1} << 30, 0).value;
  in.cpu_bandwidth = mem / hw::op_time(p_.host_cpu, Flops(0), Bytes(mem), m().activation_dtype, 0, 0).value;
  in.io_bandwidth = io;
  HybridBounds b = hybrid_bounds(p_, m(), in);
  out["decode_tokens_per_s"] = decode_s > 0 ? decode_tokens / decode_s : 0;
  out["processed_tokens_per_s"] = total_s > 0 ? processed / total_s : 0;
  out["weights_streamed_bytes"] = streamed;
  out["io_bandwidth_Bps"] = io;
  out["cpu_attention_busy_s"] = cpu_busy;
  out["gpu_busy_s"] = gpu_busy;
  out["host_kv_peak_bytes"] = kv_peak;
  out["moe_lens_pme"] = b.lens.pme;
  out["moe_lens_delta_s"] = b.lens.delta_s;
  out["moe_lens_saturation_tokens"] = b.lens.saturation_tokens;
  out["moe_lens_memory_bound_tokens_per_s"] = b.lens.memory_bound_tps;
  out["moe_lens_gpu_bound_tokens_per_s"] = b.lens.gpu_bound_tps;
  out["moe_lens_max_tokens_per_s"] = b.lens.max_tps;
  out["hrm_tokens_per_s"] = b.hrm_tokens_per_s;
  out["hrm_step_comm_s"] = b.hrm_comm_s;
  out["hrm_step_cpu_s"] = b.hrm_cpu_s;
  out["hrm_step_gpu_s"] = b.hrm_gpu_s;
  return out;
}

}  // namespace

std::unique_ptr<workload::IWorkload> make_cpu_gpu_hybrid(const HybridParams& p, const workload::WorkloadContext& ctx) {
  const auto& m = *ctx.model;
  const double kv = hybrid_kv_bytes_per_token(m) * static_cast<double>(p.batch * (p.prompt_tokens + p.generate_tokens));
  double weights = workload::embedding_params(m) * hw::dtype_bytes(m.weight_dtype);
  for (int64_t l = 0; l < m.layers; ++l) weights += hybrid_layer_weight_bytes(m, l);
  const double budget = p.kv_budget_bytes > 0 ? p.kv_budget_bytes
                                              : p.host_cpu.memory_capacity.value - p.host_cpu.reserved_memory.value - weights;
  if (kv > budget)
    throw InfeasibleError(fmt::format("cpu_gpu_hybrid: the KV cache of {} requests x {} tokens needs {:.1f} GB of host DRAM; "
                                      "the budget is {:.1f} GB ({} with {:.1f} GB of weights)",
                                      p.batch, p.prompt_tokens + p.generate_tokens, kv / 1e9, budget / 1e9,
                                      p.host_cpu.name, weights / 1e9));
  return std::make_unique<CpuGpuHybrid>(p, ctx);
}

}  // namespace moesim::offload
