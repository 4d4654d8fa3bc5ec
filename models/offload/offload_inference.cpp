// Graph of one offloaded step on device 0 (see offload_workload.hpp). Per transformer block:
// attention -> [gate -> expert GEMMs (each waiting for its load) | dense FFN] -> next block; the
// LM head closes the step. Demand loads run on the I/O stream in replay order (each chained to the
// one before), issued after the gate that decides them. Prefetches for MoE layer m, issued after
// the gate of the MoE block before m, run in their own chain on a second queue (the device's comm
// stream, unused otherwise by this workload): EdgeMoE preloads on a separate I/O thread (§2.3), so
// a demand load never queues behind a speculative read; the two only share the storage bandwidth. Memory: non-expert weights resident (weights), the expert buffer
// (expert_cache) changed by each load's start (+ its bytes, - what it evicted), streamed experts
// and activations in the working buffer (workspace), KV cache resident.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "models/offload/offload_plan.hpp"
#include "models/operator_count.hpp"
#include "models/workload/step_assembler.hpp"
#include "models/workload/token_costs.hpp"

namespace moesim::offload {

using graph::MemCategory;
using graph::TaskId;

// Queue of the speculative reads (EdgeMoE's preload thread): any stream other than compute and
// the demand loads' I/O stream.
constexpr graph::Stream kPrefetchStream = graph::Stream::comm;

namespace {

class OffloadInference final : public workload::IWorkload {
 public:
  OffloadInference(OffloadParams p, std::unique_ptr<ICachePolicy> cache, std::unique_ptr<IPrefetcher> prefetch,
                   const workload::WorkloadContext& ctx)
      : p_(std::move(p)), cache_(std::move(cache)), prefetch_(std::move(prefetch)), ctx_(ctx) {
    if (!cache_) cache_ = make_lru();
    if (!prefetch_) prefetch_ = make_no_prefetch();
  }

  int64_t steps() const override { return p_.phases == "prefill" ? 1 : p_.generate_tokens; }
  bool is_inference() const override { return true; }

  workload::BuiltStep build(int64_t step) override {
    if (plan_.steps.empty()) plan_ = plan_run(p_, ctx_, *cache_, *prefetch_);
    const StepPlan& sp = plan_.steps.at(static_cast<size_t>(step));
    workload::BuiltStep out;
    out.graph.step = step;
    Builder b(*this, sp, out.graph);
    b.build();
    out.info.step = step;
    out.info.phase = sp.prefill ? "prefill" : "decode";
    out.info.tokens = sp.prefill ? p_.batch * p_.prompt_tokens : p_.batch;
    out.info.output_tokens = p_.batch;
    for (const auto& u : sp.uses) out.info.routed_slots += u.tokens;
    out.info.extra = sp.counters;
    return out;
  }

  std::map<std::string, double> run_metrics(const std::vector<workload::StepInfo>& steps,
                                            const std::vector<graph::StepGraph>& graphs,
                                            const graph::Timeline& t) const override {
    std::map<std::string, double> sum;
    for (const auto& s : steps)
      for (const auto& [k, v] : s.extra) sum[k] += v;
    double stall = 0;
    for (size_t i = 0; i < graphs.size() && i < t.steps.size(); ++i) stall += io_stall_seconds(graphs[i], t.steps[i]);
    double accesses = sum["cache_hits"] + sum["cache_misses"];
    std::map<std::string, double> m;
    m["cache_hit_rate"] = accesses > 0 ? sum["cache_hits"] / accesses : 0;
    m["prefetch_accuracy"] = sum["prefetches"] > 0 ? sum["prefetch_used"] / sum["prefetches"] : 0;
    m["prefetches"] = sum["prefetches"];
    m["storage_bytes_read"] = p_.source == ExpertSource::storage ? sum["bytes_read"] : 0;
    m["host_bytes_copied"] = p_.source == ExpertSource::host ? sum["bytes_read"] : 0;
    m["io_stall_s"] = stall;
    return m;
  }

 private:
  struct Builder {
    Builder(const OffloadInference& wl, const StepPlan& plan, graph::StepGraph& graph) : w(wl), sp(plan), g(graph) {}
    const OffloadInference& w;
    const StepPlan& sp;
    graph::StepGraph& g;
    std::vector<TaskId> load_task, use_task;
    std::map<int32_t, TaskId> gate_of;  // block -> its gate task
    model::EagerOperators ops = model::eager_operators(*w.ctx_.model);
    TaskId last_io = -1;        // last demand load (I/O stream)
    TaskId last_prefetch = -1;  // last prefetch (kPrefetchStream)
    size_t next_load = 0;

    const model::ModelSpec& m() const { return *w.ctx_.model; }
    double ab() const { return hw::dtype_bytes(m().activation_dtype); }
    hw::Dtype dtype() const { return hw::dtype_bytes(m().weight_dtype) >= 1.0 ? m().weight_dtype : m().activation_dtype; }

    // `operators`: what an eager runtime dispatches for this part (model::eager_operators), each
    // paying the device's operator_overhead (0 on every preset unless a scenario sets it).
    TaskId compute(const std::string& name, const std::string& op, int32_t layer, double flops, double bytes, int64_t rows,
                   int32_t kernels, int32_t operators, std::vector<TaskId> deps, Seconds extra = Seconds(0)) {
      graph::ComputeWork c;
      c.device = 0;
      c.flops = Flops(flops);
      c.bytes = Bytes(bytes);
      c.dtype = dtype();
      c.gemm_m = ramp_rows(rows, w.p_.gemv_rows);
      c.kernels = kernels;
      c.operators = operators;
      c.duration = w.ctx_.compute_time(c) + extra;
      graph::Task t;
      t.name = name;
      t.op = op;
      t.layer = layer;
      t.stream = graph::Stream::compute;
      t.work = c;
      t.deps = std::move(deps);
      return g.add(std::move(t));
    }

    void add_load(const PlannedLoad& ld, int32_t layer) {
      graph::Task t;
      t.name = ld.name + (ld.prefetch ? ".prefetch" : ".load");
      t.op = ld.prefetch ? "expert_prefetch" : "expert_load";
      t.layer = layer;
      t.stream = ld.prefetch ? kPrefetchStream : graph::Stream::io;
      if (w.p_.source == ExpertSource::host) t.work = graph::CopyWork{0, true, Bytes(ld.bytes)};
      else t.work = graph::StorageReadWork{0, Bytes(ld.bytes), requests(ld.bytes)};
      TaskId& chain = ld.prefetch ? last_prefetch : last_io;
      if (chain >= 0) t.deps.push_back(chain);
      if (ld.after_gate >= 0) t.deps.push_back(gate_of.at(ld.after_gate));
      for (int32_t u : ld.after_uses) t.deps.push_back(use_task.at(static_cast<size_t>(u)));
      double net = ld.cached_bytes - ld.freed_bytes;
      if (net != 0) t.on_start.push_back(graph::MemDelta{0, MemCategory::expert_cache, Bytes(net)});
      if (ld.cached_bytes == 0) t.on_start.push_back(graph::MemDelta{0, MemCategory::workspace, Bytes(ld.bytes)});
      chain = g.add(std::move(t));
      load_task.push_back(chain);
    }

    int32_t requests(double bytes) const {
      if (w.p_.read_request <= 0) return w.p_.requests_per_expert;
      return static_cast<int32_t>(std::max(1.0, std::ceil(bytes / w.p_.read_request)));
    }

    // A non-expert task's weights at the non-expert width: bytes its GEMMs read, operations they
    // add (fused dequantisation) and the time of a separate dequantisation kernel.
    struct Weights {
      double bytes = 0, ops = 0;
      Seconds extra{0};
    };
    Weights non_expert(double weight_bytes) const {
      Bits nb = w.p_.non_expert_bits;
      if (nb == 0 || weight_bytes <= 0) return {weight_bytes, 0, Seconds(0)};
      double params = weight_bytes / hw::dtype_bytes(m().weight_dtype);
      QuantGemmWork q = quantized_gemm(params, nb, w.p_.format, w.p_.dequant, ab());
      return {q.gemm_weight_bytes, q.gemm_extra_ops, dequant_time(q)};
    }
    Seconds dequant_time(const QuantGemmWork& q) const {
      if (!q.dequant_kernel()) return Seconds(0);
      graph::ComputeWork dw{0, Flops(q.dequant_ops), Bytes(q.dequant_bytes), dtype(), 0, 1, Seconds(0)};
      return w.ctx_.compute_time(dw);
    }
    // A non-expert task: its per-task weights at the non-expert width plus per-token work.
    TaskId weighted(const std::string& name, const std::string& op, int32_t layer, double T, const workload::OpWork& o,
                    int64_t rows, int32_t kernels, int32_t operators, std::vector<TaskId> deps) {
      Weights wt = non_expert(o.weight_bytes);
      return compute(name, op, layer, T * o.flops + wt.ops, wt.bytes + T * o.activation_bytes, rows, kernels, operators,
                     std::move(deps), wt.extra);
    }

    // Loads issued after `gate_block`'s gate (or at step start for -1), in replay order.
    void issue_loads(int32_t gate_block) {
      while (next_load < sp.loads.size() && sp.loads[next_load].after_gate == gate_block) {
        const auto& ld = sp.loads[next_load++];
        add_load(ld, gate_block);
      }
    }

    void resident() {
      double wb = hw::dtype_bytes(m().weight_dtype);
      double non_expert = workload::embedding_params(m());
      for (int64_t l = 0; l < m().layers; ++l) non_expert += workload::layer_non_expert_params(m(), l);
      double weights = w.p_.non_expert_bits > 0 ? quantized_bytes(non_expert, w.p_.non_expert_bits, w.p_.format)
                                                : non_expert * wb;
      if (w.p_.source == ExpertSource::memory)
        for (const auto& bits : all_expert_bits()) weights += stored_expert_bytes(w.p_, w.plan_.expert_params, bits);
      g.resident.push_back(graph::MemDelta{0, MemCategory::weights, Bytes(weights)});
      if (sp.cache_bytes_at_start > 0)
        g.resident.push_back(graph::MemDelta{0, MemCategory::expert_cache, Bytes(sp.cache_bytes_at_start)});
      double kv = 0;
      for (int64_t l = 0; l < m().layers; ++l) kv += model::kv_cache_bytes_per_token(m(), l).value;
      g.resident.push_back(graph::MemDelta{0, MemCategory::kv_cache, Bytes(kv * static_cast<double>(w.p_.batch * sp.kv_before))});
    }

    // One request's attention in this step: the whole prompt in one pass (prefill) or one query
    // over the cache (decode); model::AttentionSpan.
    model::AttentionSpan span() const {
      if (sp.prefill) return model::sequence_span(static_cast<double>(w.p_.prompt_tokens), model::causal_attention(m()));
      return model::AttentionSpan{1.0, static_cast<double>(sp.kv_before), true};
    }

    std::vector<Bits> all_expert_bits() const {  // one entry per expert of the model (memory mode)
      std::vector<Bits> out;
      Bits b = w.p_.bits > 0 ? w.p_.bits : static_cast<Bits>(hw::dtype_bytes(m().weight_dtype) * 8.0 + 0.5);
      if (w.p_.precision == "nested") b = w.p_.nested.max_bits;
      out.assign(static_cast<size_t>(m().moe_layer_count() * m().experts), b);
      return out;
    }

    TaskId expert_use(size_t i, const workload::LayerTokenCosts& c, TaskId gate) {
      const PlannedUse& u = sp.uses[i];
      double T = static_cast<double>(u.tokens);
      // Stored bytes u.weight_bytes (nested planes included); quant_compute.hpp for the split.
      QuantGemmWork q = quantized_gemm(w.plan_.expert_params, u.bits, w.p_.format, w.p_.dequant, ab());
      if (q.dequant_kernel()) q.dequant_bytes += u.weight_bytes - quantized_bytes(w.plan_.expert_params, u.bits, w.p_.format);
      else q.gemm_weight_bytes = u.weight_bytes;
      std::vector<TaskId> deps{gate};
      for (int32_t l : u.loads) deps.push_back(load_task.at(static_cast<size_t>(l)));
      TaskId t = compute(fmt::format("L{}.E{}.expert_ffn", u.block, u.expert), "expert_ffn", u.block,
                         T * c.expert.flops + q.gemm_extra_ops, q.gemm_weight_bytes + T * c.expert.activation_bytes,
                         u.tokens, m().ffn == model::FfnKind::swiglu3 ? 3 : 2, ops.expert_ffn, deps, dequant_time(q));
      double work = T * 2.0 * static_cast<double>(m().expert_ffn_dim) * ab();
      auto& task = g.tasks[static_cast<size_t>(t)];
      task.on_start.push_back(graph::MemDelta{0, MemCategory::workspace, Bytes(work)});
      task.on_end.push_back(graph::MemDelta{0, MemCategory::workspace, Bytes(-work - u.streamed_bytes)});
      return t;
    }

    void build() {
      resident();
      issue_loads(-1);
      std::vector<TaskId> frontier;
      size_t next_use = 0;
      for (int64_t l = 0; l < m().layers; ++l) {
        int64_t tokens = sp.block_tokens[static_cast<size_t>(l)];
        if (tokens == 0) continue;
        int32_t L = static_cast<int32_t>(l);
        double T = static_cast<double>(tokens);
        auto c = workload::layer_token_costs(m(), l, span());
        TaskId attn = weighted(workload::layer_task_name(L, "attention"), "attention", L, T, c.attention, tokens, 5,
                               ops.attention_of(m(), l), frontier);
        auto& at = g.tasks[static_cast<size_t>(attn)];
        at.on_start.push_back(graph::MemDelta{0, MemCategory::workspace, Bytes(4.0 * T * c.hidden_bytes)});
        at.on_end.push_back(graph::MemDelta{0, MemCategory::workspace, Bytes(-4.0 * T * c.hidden_bytes)});
        at.on_end.push_back(graph::MemDelta{0, MemCategory::kv_cache, Bytes(T * c.kv_bytes)});
        if (!m().is_moe_layer(l)) {
          frontier = {weighted(workload::layer_task_name(L, "dense_ffn"), "dense_ffn", L, T, c.dense_ffn, tokens, 2,
                               ops.dense_ffn, {attn})};
          continue;
        }
        TaskId gate = weighted(workload::layer_task_name(L, "gate"), "gate", L, T, c.gate, tokens, 2, ops.gate, {attn});
        gate_of[L] = gate;
        frontier.clear();
        // Demand loads of this layer come before the prefetches its gate issues for the next one.
        while (next_load < sp.loads.size() && sp.loads[next_load].after_gate == L && !sp.loads[next_load].prefetch)
          add_load(sp.loads[next_load++], L);
        std::vector<size_t> mine;
        for (; next_use < sp.uses.size() && sp.uses[next_use].block == L; ++next_use) mine.push_back(next_use);
        for (size_t i : mine) {
          use_task.push_back(expert_use(i, c, gate));
          frontier.push_back(use_task.back());
        }
        issue_loads(L);  // prefetches for the next MoE layer
        if (m().shared_experts > 0)
          frontier.push_back(weighted(workload::layer_task_name(L, "shared_expert"), "shared_expert", L, T, c.shared_expert,
                                      tokens, 2, ops.expert_ffn * static_cast<int32_t>(m().shared_experts), {attn}));
      }
      auto h = workload::lm_head_costs(m());
      double out_tokens = static_cast<double>(w.p_.batch);
      weighted("lm_head", "lm_head", -1, out_tokens, h, w.p_.batch, 1, ops.lm_head, frontier);
    }
  };

  OffloadParams p_;
  std::unique_ptr<ICachePolicy> cache_;
  std::unique_ptr<IPrefetcher> prefetch_;
  workload::WorkloadContext ctx_;
  RunPlan plan_;
};

}  // namespace

double io_stall_seconds(const graph::StepGraph& g, const graph::StepTimeline& t) {
  double stall = 0, prev_compute_end = t.start;
  for (size_t i = 0; i < g.tasks.size() && i < t.tasks.size(); ++i) {
    const auto& task = g.tasks[i];
    if (task.stream != graph::Stream::compute) continue;
    bool waits_io = false;
    double ready = prev_compute_end;
    for (TaskId d : task.deps) {
      if (g.tasks[static_cast<size_t>(d)].stream != graph::Stream::compute) waits_io = true;  // a load or a prefetch
      else ready = std::max(ready, t.tasks[static_cast<size_t>(d)].end);
    }
    if (waits_io) stall += std::max(0.0, t.tasks[i].start - ready);
    prev_compute_end = std::max(prev_compute_end, t.tasks[i].end);
  }
  return stall;
}

std::unique_ptr<workload::IWorkload> make_offload_inference(const OffloadParams& p, std::unique_ptr<ICachePolicy> cache,
                                                            std::unique_ptr<IPrefetcher> prefetch,
                                                            const workload::WorkloadContext& ctx) {
  return std::make_unique<OffloadInference>(p, std::move(cache), std::move(prefetch), ctx);
}

}  // namespace moesim::offload
