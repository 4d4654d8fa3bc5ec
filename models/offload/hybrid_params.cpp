// Reads [workload] kind = "cpu_gpu_hybrid" (schema in docs/offload.md) and registers the kind.
#include <fmt/format.h>

#include "hardware/readers.hpp"
#include "models/offload/hybrid_workload.hpp"

namespace moesim::offload {

HybridParams read_hybrid_params(const config::Table& t) {
  HybridParams p;
  p.batch = t.integer_in_or("batch", 1, int64_t{1} << 24, p.batch);
  p.micro_batches = static_cast<int32_t>(t.integer_in_or("micro_batches", 1, 64, p.micro_batches));
  if (p.micro_batches > p.batch)
    t.fail("micro_batches", fmt::format("{} micro-batches cannot split a batch of {}", p.micro_batches, p.batch));
  p.prompt_tokens = t.integer_in_or("prompt_tokens", 1, int64_t{1} << 24, p.prompt_tokens);
  p.generate_tokens = t.integer_in_or("generate_tokens", 1, int64_t{1} << 24, p.generate_tokens);
  p.phases = t.choice_or("phases", {"decode", "both"}, p.phases);
  p.host_cpu = hw::read_device(t.table("host_cpu"));
  if (p.host_cpu.kind != "cpu")
    t.fail("host_cpu", fmt::format("decode attention runs on the host CPU; '{}' is a {} preset", p.host_cpu.name, p.host_cpu.kind));
  p.kv_budget_bytes = t.bytes_or("kv_budget", Bytes(0)).value;
  return p;
}

namespace {

std::unique_ptr<workload::IWorkload> from_config(const config::Table& t, const workload::WorkloadContext& ctx) {
  HybridParams p = read_hybrid_params(t);
  const auto& m = *ctx.model;
  if (m.experts <= 0) t.fail("kind", fmt::format("cpu_gpu_hybrid needs an MoE model ('{}' has no experts)", m.name));
  if (m.family == "encoder_decoder") t.fail("kind", "cpu_gpu_hybrid models decoder-only models");
  if (ctx.cluster.devices != 1)
    t.fail("kind", fmt::format("cpu_gpu_hybrid runs on one GPU; the cluster has {}", ctx.cluster.devices));
  t.finish();
  return make_cpu_gpu_hybrid(p, ctx);
}

}  // namespace

MOESIM_REGISTER(workload::WorkloadRegistry, "cpu_gpu_hybrid",
                "weights in host DRAM streamed per layer, decode attention on the host CPU (MoE-Lightning, MoE-Lens)",
                from_config);

}  // namespace moesim::offload
