// `moesim trace stats FILE` | `trace gen GEN.toml -o FILE` | `trace convert IN OUT`: routing traces.
#include <fmt/format.h>

#include <cmath>

#include "models/routing/stats.hpp"
#include "models/routing/trace.hpp"
#include "sim/app/command.hpp"
#include "sim/core/config.hpp"
#include "sim/core/resources.hpp"

namespace moesim::app {
namespace {

using namespace moesim::routing;

TraceFormat format_of(const std::string& name, const std::string& path) {
  return name.empty() ? infer_trace_format(path) : parse_trace_format(name);
}

// Output files: .jsonl and .csv are written in moesim's own forms (the readers sniff content).
TraceFormat output_format_of(const std::string& name, const std::string& path) {
  if (!name.empty()) return parse_trace_format(name);
  auto ext = std::filesystem::path(path).extension();
  if (ext == ".jsonl") return TraceFormat::jsonl;
  if (ext == ".csv") return TraceFormat::csv;
  return infer_trace_format(path);
}

std::string ratio(double v) { return std::isinf(v) ? "inf" : fmt::format("{:.3f}", v); }

void print_load(const char* label, const LoadStats& s) {
  fmt::print("  {:<10} selections {:>10}  max/mean {:>7}  max/min {:>7}  CV {:.3f}  Gini {:.3f}  entropy {:.3f}  MaxVio {:.3f}\n",
             label, s.selections, ratio(s.max_over_mean), ratio(s.max_over_min), s.cv, s.gini, s.entropy, s.max_vio);
  fmt::print("  {:<10} tokens/expert min {:.0f} p25 {:.1f} p50 {:.1f} p75 {:.1f} max {:.0f}; hottest expert {} ({:.1f}% of selections)\n",
             "", s.quantiles[0], s.quantiles[1], s.quantiles[2], s.quantiles[3], s.quantiles[4], s.hottest, 100.0 * s.hottest_share);
}

void histogram(const std::vector<int64_t>& load) {
  int64_t mx = 1;
  for (auto v : load) mx = std::max(mx, v);
  for (size_t e = 0; e < load.size(); ++e)
    fmt::print("    expert {:>4} {:>9} {}\n", e, load[e], std::string(static_cast<size_t>(40.0 * load[e] / mx + 0.5), '#'));
}

void stats(const std::string& path, const std::string& format, bool show_histogram) {
  Trace t = read_trace(path, format_of(format, path));
  TraceStats s = trace_stats(t);
  fmt::print("trace {} ({}): {} experts, top_k {}, {} steps, {} logged layers{}\n", path, t.meta.model.empty() ? t.meta.source : t.meta.model,
             t.meta.num_experts, t.meta.top_k, s.steps, s.layers.size(), t.meta.load_only ? ", load-only" : "");
  for (const auto& l : s.layers) {
    fmt::print("layer {}: {} tokens, mean real k {:.3f}, dropped {:.2f}%\n", l.layer, l.tokens, l.mean_k, 100.0 * l.dropped);
    print_load("load", l.load);
    if (l.reuse.pairs > 0)
      fmt::print("  {:<10} temporal reuse: first choice repeats {:.2f}% (chance ~{:.2f}%), any expert shared {:.2f}%\n", "",
                 100.0 * l.reuse.first_choice, 100.0 / t.meta.num_experts, 100.0 * l.reuse.any_overlap);
    if (show_histogram) histogram(l.expert_load);
  }
  if (s.layers.size() > 1) print_load("all layers", s.overall);
  if (s.paths.tokens > 0)
    fmt::print("cross-layer paths: {} distinct first-choice paths over {} tokens; top 20% of paths cover {:.2f}% of tokens\n",
               s.paths.distinct_paths, s.paths.tokens, 100.0 * s.paths.top_share);
  else
    fmt::print("cross-layer paths: n/a (fewer than 2 layers per step)\n");
}

RoutingContext read_context(const config::Table& root) {
  auto m = root.table("model");
  RoutingContext ctx;
  ctx.num_experts = static_cast<int32_t>(m.integer_in("experts", 1, 1 << 20));
  ctx.top_k = static_cast<int32_t>(m.integer_in("top_k", 1, ctx.num_experts));
  ctx.num_moe_layers = static_cast<int32_t>(m.integer_in("moe_layers", 1, 1 << 16));
  m.finish();
  if (auto c = root.table_opt("cluster")) {
    ctx.devices = static_cast<int32_t>(c->integer_in("devices", 1, 1 << 20));
    ctx.devices_per_node = static_cast<int32_t>(c->integer_in_or("devices_per_node", 1, ctx.devices, ctx.devices));
    c->finish();
  }
  ctx.seed = static_cast<uint64_t>(root.integer_in_or("seed", 0, INT64_MAX, 0));
  return ctx;
}

void generate(const std::string& toml, const std::string& out, const std::string& format, const std::string& max_memory) {
  auto doc = config::Document::load_file(toml);
  auto root = config::Table::root(doc);
  RoutingContext ctx = read_context(root);
  const int64_t steps = root.integer_in("steps", 1, int64_t{1} << 32);
  const int64_t tokens = root.integer_in("tokens", 1, int64_t{1} << 32);
  // The trace is held in memory: ids (4 B), weights (4 B) and a dropped mark (1 B) per slot.
  require_memory(static_cast<double>(steps) * ctx.num_moe_layers * static_cast<double>(tokens) * ctx.top_k * 9.0,
                 memory_limit(max_memory), fmt::format("trace gen {}", toml),
                 fmt::format("{} steps x {} layers x {} tokens x top-{} slots of 9 B", steps, ctx.num_moe_layers, tokens, ctx.top_k));
  auto rt = root.table("routing");
  auto source = RoutingRegistry::instance().create(rt, ctx);
  root.finish();
  Trace t = record_trace(*source, ctx, steps, tokens, fmt::format("generator {} ({})", rt.string("kind"), toml));
  write_trace(t, out, output_format_of(format, out));
  for (const auto& n : source->notes()) fmt::print(stderr, "note: {}\n", n);
  fmt::print("wrote {}: {} steps x {} layers x {} tokens, {} selections\n", out, steps, ctx.num_moe_layers, tokens, t.selections());
}

void convert(const std::string& in, const std::string& out, const std::string& from, const std::string& to) {
  Trace t = read_trace(in, format_of(from, in));
  const TraceFormat f = output_format_of(to, out);
  write_trace(t, out, f);
  fmt::print("wrote {} ({}): {} steps, {} selections\n", out, trace_format_name(f), t.steps.size(), t.selections());
}

MOESIM_COMMAND(60, ([](CLI::App& app) {
  auto* cmd = app.add_subcommand("trace", "Routing traces: statistics, generation, format conversion");
  cmd->require_subcommand(1);
  const std::string formats = "jsonl, binary (.mtrace), vllm_jsonl, csv, npy, load_matrix (.loads); inferred from the file when omitted";

  auto* st = cmd->add_subcommand("stats", "Per-layer load skew, dropped share, temporal reuse, cross-layer path concentration");
  auto file = std::make_shared<std::string>(), fmt_in = std::make_shared<std::string>();
  auto hist = std::make_shared<bool>(false);
  st->add_option("file", *file, "Trace file")->required();
  st->add_option("--format", *fmt_in, formats);
  st->add_flag("--histogram", *hist, "Print the per-expert load histogram of each layer");
  st->callback([=] { stats(*file, *fmt_in, *hist); });

  auto* gen = cmd->add_subcommand("gen", "Generate a trace from a generator TOML (see scenarios/routing/)");
  auto toml = std::make_shared<std::string>(), out = std::make_shared<std::string>(), fmt_out = std::make_shared<std::string>();
  gen->add_option("generator", *toml, "Generator TOML")->required();
  gen->add_option("-o,--output", *out, "Output trace file")->required();
  gen->add_option("--format", *fmt_out, formats);
  auto max_memory = std::make_shared<std::string>();
  gen->add_option("--max-memory", *max_memory, "Refuse traces estimated to need more memory (default: physical memory)");
  gen->callback([=] { generate(*toml, *out, *fmt_out, *max_memory); });

  auto* conv = cmd->add_subcommand("convert", "Convert a trace between formats");
  auto in = std::make_shared<std::string>(), dst = std::make_shared<std::string>();
  auto from = std::make_shared<std::string>(), to = std::make_shared<std::string>();
  conv->add_option("in", *in, "Input trace")->required();
  conv->add_option("out", *dst, "Output trace")->required();
  conv->add_option("--from", *from, formats);
  conv->add_option("--to", *to, formats);
  conv->callback([=] { convert(*in, *dst, *from, *to); });
}));

}  // namespace
}  // namespace moesim::app
