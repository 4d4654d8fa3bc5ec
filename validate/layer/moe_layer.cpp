// mb_moe_layer: one real MoE layer on the host CPU, driven by a routing trace (the layer-level
// check 1 of docs/validation.md). Reads the scenario `moesim validate-layer scenario` generated:
// model dimensions, the routing source (kind "trace": the same replay the simulator uses, so both
// route token t of step s to the same experts with the same gate weights) and [workload] batch
// (tokens per step) and generate_tokens (steps).
//
// Per step, each phase timed with steady_clock (fp32 throughout: cblas_sgemm; Debian's OpenBLAS
// has no bf16 GEMM):
//   gate    : logits[T x E] = x[T x d] . Wg[d x E], then a softmax per token (the router's work;
//             the expert CHOICE is the trace's, not the argmax of these logits)
//   permute : group the routed slots by expert (counting sort) and gather their rows
//             xp[S x d] (S = routed slots)
//   experts : for each expert e with m_e > 0 rows: h1 = xp_e . W1_e, h3 = xp_e . W3_e
//             (m_e x d x f each), h1 = silu(h1) * h3 (SwiGLU), y_e = h1 . W2_e (m_e x f x d)
//   combine : out[t] = sum over t's slots of gate weight * y (weighted scatter-add)
// Rows (schema moesim.microbench/1): kernel = moe_layer, one per step and phase (pattern = gate,
// permute, experts, combine, step), statistics over `--reps` passes over all steps; m = tokens,
// n = expert FFN width, k = d_model, groups = experts, note "step=<s> slots=<S> experts_used=<n>".
// Two memory rows (pattern memory_buffers, memory_vmhwm): size_bytes = bytes of the buffers this
// program allocates, and VmHWM of /proc/self/status at the end (includes the process baseline:
// code, OpenBLAS buffers, the trace).
#include <cblas.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "sim/core/errors.hpp"
#include "sim/scenario/scenario.hpp"
#include "validate/common/cli.hpp"
#include "validate/common/csv.hpp"
#include "validate/common/measure.hpp"
#include "validate/common/output.hpp"
#include "validate/common/stats.hpp"
#include "validate/layer/host_memory.hpp"
#include "validate/layer/layer_ops.hpp"
#include "validate/layer/simulate.hpp"

namespace mb = moesim::bench;
namespace lc = moesim::layercheck;

namespace {

struct Config {
  std::string scenario, out = "-";
  int reps = 3;
  int threads = 0;  // 0: OpenBLAS default
};

void sgemm(int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(m), int(n), int(k), 1.0f, a, int(k), b, int(n), 0.0f, c, int(n));
}

void softmax_rows(float* v, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    float* x = v + r * n;
    const float mx = *std::max_element(x, x + n);
    float sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += (x[i] = std::exp(x[i] - mx));
    for (int64_t i = 0; i < n; ++i) x[i] /= sum;
  }
}

struct Layer {
  int64_t d, f, E, T, max_rows;
  int64_t buffer_bytes = 0;
  lc::Floats wg, x, logits, xp, h1, h3, y, out;
  std::vector<lc::Floats> w1, w3, w2;

  Layer(const moesim::model::ModelSpec& m, int64_t tokens, int64_t max_slots)
      : d(m.d_model), f(m.expert_ffn_dim), E(m.experts), T(tokens), max_rows(std::max<int64_t>(max_slots, 1)) {
    const float sd = 1.0f / std::sqrt(float(d)), sf = 1.0f / std::sqrt(float(f));
    wg = lc::Floats(d * E, &buffer_bytes, 1, sd);
    for (int64_t e = 0; e < E; ++e) {
      w1.emplace_back(d * f, &buffer_bytes, uint32_t(10 + 3 * e), sd);
      w3.emplace_back(d * f, &buffer_bytes, uint32_t(11 + 3 * e), sd);
      w2.emplace_back(f * d, &buffer_bytes, uint32_t(12 + 3 * e), sf);
    }
    x = lc::Floats(T * d, &buffer_bytes, 2, 1.0f);
    logits = lc::Floats(T * E, &buffer_bytes, 3, 0.0f);
    xp = lc::Floats(max_rows * d, &buffer_bytes, 4, 0.0f);
    h1 = lc::Floats(max_rows * f, &buffer_bytes, 5, 0.0f);
    h3 = lc::Floats(max_rows * f, &buffer_bytes, 6, 0.0f);
    y = lc::Floats(max_rows * d, &buffer_bytes, 7, 0.0f);
    out = lc::Floats(T * d, &buffer_bytes, 8, 0.0f);
  }

  // Runs one step; returns seconds of gate, permute, experts, combine.
  std::vector<double> step(const moesim::routing::LayerRouting& r) {
    std::vector<double> t(4);
    double t0 = mb::monotonic_now_s();
    sgemm(T, E, d, x.data(), wg.data(), logits.data());
    softmax_rows(logits.data(), T, E);
    double t1 = mb::monotonic_now_s();
    lc::Permutation p = lc::build_permutation(r, int32_t(E));
    lc::gather_rows(x.data(), d, p, xp.data());
    double t2 = mb::monotonic_now_s();
    for (int32_t e = 0; e < E; ++e) {
      const int64_t m = p.rows_of(e), o = p.offsets[e];
      if (m == 0) continue;
      sgemm(m, f, d, xp.data() + o * d, w1[e].data(), h1.data() + o * f);
      sgemm(m, f, d, xp.data() + o * d, w3[e].data(), h3.data() + o * f);
      lc::swiglu(h1.data() + o * f, h3.data() + o * f, m * f);
      sgemm(m, d, f, h1.data() + o * f, w2[e].data(), y.data() + o * d);
    }
    double t3 = mb::monotonic_now_s();
    lc::combine_rows(y.data(), d, p, T, out.data());
    double t4 = mb::monotonic_now_s();
    t = {t1 - t0, t2 - t1, t3 - t2, t4 - t3};
    return t;
  }
};

void run(const Config& cfg, int argc, char** argv) {
  if (cfg.threads > 0) openblas_set_num_threads(cfg.threads);
  auto shape = lc::read_workload_shape(cfg.scenario);
  if (shape.check != "moe_layer")
    throw moesim::ConfigError({cfg.scenario}, "workload.kind", "mb_moe_layer needs a moe_layer check scenario (kind = \"inference\")");
  auto s = moesim::scenario::load_scenario(cfg.scenario);
  const auto& m = s->model;
  if (m.weight_dtype != moesim::hw::Dtype::fp32 || m.activation_dtype != moesim::hw::Dtype::fp32)
    throw moesim::ConfigError({cfg.scenario}, "model.dtypes", "the kernel runs fp32 (cblas_sgemm): set weights and activations to fp32");
  if (m.ffn != moesim::model::FfnKind::swiglu3)
    throw moesim::ConfigError({cfg.scenario}, "model.ffn", "the kernel runs SwiGLU experts (kind = \"swiglu3\")");
  if (m.moe_layer_count() != 1 || m.layers != 1)
    throw moesim::ConfigError({cfg.scenario}, "model.layers", "one MoE layer expected (layers = 1)");
  // Routes of every step, as the inference workload asks for them (step s, MoE layer 0, all
  // tokens on device 0).
  std::vector<moesim::routing::LayerRouting> routes;
  int64_t max_slots = 0;
  for (int64_t st = 0; st < shape.steps; ++st) {
    routes.push_back(s->routing->route({st, 0, shape.tokens_per_step, std::vector<int32_t>(size_t(shape.tokens_per_step), 0)}));
    max_slots = std::max(max_slots, lc::build_permutation(routes.back(), int32_t(m.experts)).rows());
  }
  Layer layer(m, shape.tokens_per_step, max_slots);

  auto prov = mb::collect_provenance("mb_moe_layer", argc, argv);
  prov.set("blas", openblas_get_config());
  prov.set("blas_core", openblas_get_corename());
  prov.set("threads", std::to_string(openblas_get_num_threads()));
  prov.set("scenario", std::filesystem::path(cfg.scenario).filename().string());
  prov.set("model", m.name);
  for (const auto& n : s->routing->notes()) prov.set("routing_note", n);
  mb::Output out(cfg.out);
  mb::ResultWriter w(out.stream(), prov);

  layer.step(routes.front());  // warm-up: first touch of the activations, OpenBLAS thread start
  const std::vector<std::string> phases{"gate", "permute", "experts", "combine", "step"};
  std::vector<std::vector<std::vector<double>>> samples(routes.size(), std::vector<std::vector<double>>(phases.size()));
  const double cpu0 = mb::process_cpu_s(), wall0 = mb::monotonic_now_s();
  for (int rep = 0; rep < cfg.reps; ++rep)
    for (size_t st = 0; st < routes.size(); ++st) {
      auto t = layer.step(routes[st]);
      t.push_back(t[0] + t[1] + t[2] + t[3]);
      for (size_t p = 0; p < phases.size(); ++p) samples[st][p].push_back(t[p]);
    }
  const double cpu_per_wall = (mb::process_cpu_s() - cpu0) / (mb::monotonic_now_s() - wall0);
  const double d = double(m.d_model), f = double(m.expert_ffn_dim), E = double(m.experts), T = double(shape.tokens_per_step);
  for (size_t st = 0; st < routes.size(); ++st) {
    lc::Permutation p = lc::build_permutation(routes[st], int32_t(m.experts));
    int64_t used = 0;
    for (int32_t e = 0; e < p.experts; ++e) used += p.rows_of(e) > 0;
    const double S = double(p.rows());
    const double flops[] = {2 * T * d * E, 0, 6 * S * d * f, 2 * S * d, 0};
    const double traffic[] = {4 * (T * d + d * E + T * E), 4 * 2 * S * d, 4 * (3 * double(used) * d * f + 2 * S * d + 3 * S * f),
                              4 * (S * d + T * d), 0};
    for (size_t ph = 0; ph < phases.size(); ++ph) {
      mb::Record r{.kernel = "moe_layer", .device = "cpu", .dtype = "fp32", .m = shape.tokens_per_step,
                   .n = m.expert_ffn_dim, .k = m.d_model, .groups = m.experts, .pattern = phases[ph],
                   .threads = openblas_get_num_threads(), .warmup = 1, .inner = 1};
      r.flops = ph == 4 ? flops[0] + flops[2] + flops[3] : flops[ph];
      r.traffic_bytes = ph == 4 ? traffic[0] + traffic[1] + traffic[2] + traffic[3] : traffic[ph];
      mb::set_timing(r, mb::summarize(samples[st][ph]));
      r.reps = cfg.reps;
      r.note = fmt::format("step={} slots={} experts_used={} cpu_per_wall={:.2f}", st, p.rows(), used, cpu_per_wall);
      w.write(r);
    }
  }
  for (const auto& [pattern, bytes] : std::vector<std::pair<std::string, int64_t>>{
           {"memory_buffers", layer.buffer_bytes}, {"memory_vmhwm", lc::vm_hwm_bytes()}}) {
    mb::Record r{.kernel = "moe_layer", .device = "cpu", .dtype = "fp32", .m = shape.tokens_per_step,
                 .n = m.expert_ffn_dim, .k = m.d_model, .groups = m.experts, .size_bytes = bytes, .pattern = pattern};
    r.note = pattern == "memory_buffers" ? "bytes of the buffers the kernel allocates (weights, activations, permuted rows, "
                                           "SwiGLU intermediates, outputs)"
                                         : "VmHWM of /proc/self/status after the run (process peak resident set)";
    w.write(r);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  CLI::App app{"One MoE layer (gate, permutation, SwiGLU expert GEMMs, combine) on the CPU, routed by a trace"};
  app.add_option("--scenario", cfg.scenario, "Scenario written by `moesim validate-layer scenario --check moe_layer`")->required();
  app.add_option("--out", cfg.out, "Result CSV ('-' = stdout)");
  app.add_option("--reps", cfg.reps, "Passes over all steps (statistics per step over passes)")->check(CLI::PositiveNumber);
  app.add_option("--threads", cfg.threads, "OpenBLAS threads (0 = its default)");
  CLI11_PARSE(app, argc, argv);
  return mb::run_reporting("mb_moe_layer", [&] { run(cfg, argc, argv); });
}
