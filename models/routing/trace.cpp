// Canonical trace: invariants, equality, format selection and the load-only reduction.
#include "models/routing/trace.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include "models/routing/trace_io.hpp"
#include "sim/core/atomic_io.hpp"
#include "sim/core/suggest.hpp"

namespace moesim::routing {

int64_t Trace::selections() const {
  int64_t n = 0;
  for (const auto& s : steps)
    for (const auto& l : s.layers) {
      if (meta.load_only) {
        for (auto v : l.load) n += v;
        continue;
      }
      const auto& r = l.routing;
      for (size_t i = 0; i < r.experts.size(); ++i)
        if (r.experts[i] >= 0 && (r.dropped.empty() || !r.dropped[i])) ++n;
    }
  return n;
}

std::vector<int32_t> Trace::layer_ids() const {
  std::set<int32_t> ids;
  for (const auto& s : steps)
    for (const auto& l : s.layers) ids.insert(l.layer);
  return {ids.begin(), ids.end()};
}

bool operator==(const LayerRouting& a, const LayerRouting& b) {
  return a.tokens == b.tokens && a.k == b.k && a.experts == b.experts && a.weights == b.weights &&
         a.dropped == b.dropped && a.bits == b.bits && a.shared_experts == b.shared_experts;
}
bool operator==(const TraceLayer& a, const TraceLayer& b) {
  return a.layer == b.layer && a.routing == b.routing && a.load == b.load;
}
bool operator==(const TraceStep& a, const TraceStep& b) { return a.step == b.step && a.layers == b.layers; }
bool operator==(const Trace& a, const Trace& b) { return a.meta == b.meta && a.steps == b.steps; }

namespace {

[[noreturn]] void invalid(const std::string& source, const std::string& what, const std::string& detail) {
  throw ConfigError(Location{source}, what, detail);
}

void validate_layer(const TraceMeta& meta, const TraceLayer& l, const std::string& source, const std::string& where) {
  if (meta.load_only) {
    if (l.load.size() != static_cast<size_t>(meta.num_experts))
      invalid(source, where, fmt::format("load has {} experts, trace has {}", l.load.size(), meta.num_experts));
    for (auto v : l.load)
      if (v < 0 || v > kMaxLoad) invalid(source, where, fmt::format("load {} outside [0, 2^40]", v));
    return;
  }
  const auto& r = l.routing;
  if (r.tokens < 0 || r.k < 0) invalid(source, where, "negative token count or k");
  if (r.tokens > 0 && r.k == 0) invalid(source, where, "k is 0: every token needs at least one slot");
  size_t n = 0;
  if (__builtin_mul_overflow(static_cast<size_t>(r.tokens), static_cast<size_t>(r.k), &n) || n > kMaxTraceSlots)
    invalid(source, where, fmt::format("{} tokens x k={} exceeds the {} slots a layer may hold", r.tokens, r.k, kMaxTraceSlots));
  if (r.shared_experts < 0 || r.shared_experts > (1 << 20))
    invalid(source, where, fmt::format("shared_experts {} outside [0, 2^20]", r.shared_experts));
  if (r.experts.size() != n) invalid(source, where, fmt::format("{} expert ids for {} tokens x k={}", r.experts.size(), r.tokens, r.k));
  if (!r.weights.empty() && r.weights.size() != n) invalid(source, where, "weights do not match the expert ids");
  if (!r.dropped.empty() && r.dropped.size() != n) invalid(source, where, "dropped marks do not match the expert ids");
  if (!r.bits.empty() && r.bits.size() != n) invalid(source, where, "bit-widths do not match the expert ids");
  for (size_t i = 0; i < n; ++i) {
    int32_t e = r.experts[i];
    if (e < kNoExpert || e >= meta.num_experts)
      invalid(source, where, fmt::format("token {} slot {}: expert id {} outside [0, {})", i / r.k, i % r.k, e, meta.num_experts));
  }
}

}  // namespace

void validate_trace(const Trace& trace, const std::string& source) {
  if (trace.meta.num_experts <= 0) invalid(source, "meta", "num_experts must be positive");
  if (trace.meta.num_experts > kMaxTraceExperts)
    invalid(source, "meta", fmt::format("num_experts {} exceeds {}", trace.meta.num_experts, kMaxTraceExperts));
  if (!trace.meta.load_only && (trace.meta.top_k < 1 || trace.meta.top_k > kMaxTraceK))
    invalid(source, "meta", fmt::format("top_k {} outside [1, {}]", trace.meta.top_k, kMaxTraceK));
  if (trace.steps.empty()) invalid(source, "trace", "no steps");
  int64_t prev_step = INT64_MIN;
  int64_t total_load = 0;  // bounded so that Trace::selections() and load sums cannot overflow
  for (const auto& s : trace.steps)
    for (const auto& l : s.layers)
      for (auto v : l.load)
        if (v > 0 && __builtin_add_overflow(total_load, v, &total_load))
          invalid(source, fmt::format("step {} layer {}", s.step, l.layer), "the loads sum beyond 2^63");
  for (const auto& s : trace.steps) {
    if (s.step <= prev_step) invalid(source, fmt::format("step {}", s.step), fmt::format("steps must increase (after step {})", prev_step));
    prev_step = s.step;
    int32_t prev_layer = INT32_MIN;
    for (const auto& l : s.layers) {
      std::string where = fmt::format("step {} layer {}", s.step, l.layer);
      if (l.layer <= prev_layer) invalid(source, where, "layers must increase within a step");
      prev_layer = l.layer;
      validate_layer(trace.meta, l, source, where);
    }
  }
}

std::vector<std::string> trace_format_names() { return {"jsonl", "binary", "vllm_jsonl", "csv", "npy", "load_matrix"}; }

std::string trace_format_name(TraceFormat f) { return trace_format_names()[static_cast<size_t>(f)]; }

TraceFormat parse_trace_format(const std::string& name) {
  auto names = trace_format_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<TraceFormat>(i);
  std::string msg = fmt::format("unknown trace format '{}' (valid values: {})", name, join(names));
  if (auto n = nearest(name, names)) msg += fmt::format("; did you mean '{}'?", *n);
  throw ConfigError(Location{}, "format", msg);
}

TraceFormat infer_trace_format(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  if (std::filesystem::is_directory(path)) return TraceFormat::npy;
  if (ext == ".mtrace") return TraceFormat::binary;
  if (ext == ".npy") return TraceFormat::npy;
  if (ext == ".loads" || ext == ".txt") return TraceFormat::load_matrix;
  if (ext == ".jsonl" || ext == ".csv") {
    std::ifstream in(path);
    std::string first;
    if (in) std::getline(in, first);
    if (ext == ".csv") return first.find("expert") != std::string::npos ? TraceFormat::csv : TraceFormat::load_matrix;
    return first.find("moesim-trace") != std::string::npos ? TraceFormat::jsonl : TraceFormat::vllm_jsonl;
  }
  throw ConfigError(Location{path.string()}, "format",
                    fmt::format("cannot infer the trace format from the extension '{}' (known: .jsonl, .mtrace, "
                                ".csv, .npy, .loads, .txt); name it with `format` (valid values: {})",
                                ext, join(trace_format_names())));
}

Trace read_trace(const std::filesystem::path& path, TraceFormat format) {
  if (!std::filesystem::exists(path)) throw IoError(fmt::format("{}: error: no such trace file", path.string()));
  Trace t;
  switch (format) {  // a closed set of formats, not a registry of kinds
    case TraceFormat::jsonl: t = read_jsonl(path); break;
    case TraceFormat::binary: t = read_binary(path); break;
    case TraceFormat::vllm_jsonl: t = read_vllm_jsonl(path); break;
    case TraceFormat::csv: t = read_csv(path); break;
    case TraceFormat::npy: t = read_npy(path); break;
    case TraceFormat::load_matrix: t = read_load_matrix(path); break;
  }
  validate_trace(t, path.string());
  return t;
}

Trace read_trace(const std::filesystem::path& path) { return read_trace(path, infer_trace_format(path)); }

void write_trace(const Trace& trace, const std::filesystem::path& path, TraceFormat format) {
  validate_trace(trace, "trace to write");
  if (format == TraceFormat::vllm_jsonl)
    throw ConfigError(Location{path.string()}, "format", "vllm_jsonl is read-only; write jsonl (the canonical form) instead");
  // Never a half-written file under the real name (sim/core/atomic_io.hpp: temporary sibling,
  // checked writes, fsync, rename).
  write_atomically(path, [&](const std::filesystem::path& tmp) {
    switch (format) {  // a closed set of formats, not a registry of kinds
      case TraceFormat::jsonl: write_jsonl(trace, tmp); break;
      case TraceFormat::binary: write_binary(trace, tmp); break;
      case TraceFormat::csv: write_csv(trace, tmp); break;
      case TraceFormat::npy: write_npy(trace, tmp); break;
      case TraceFormat::load_matrix: write_load_matrix(trace, tmp); break;
      case TraceFormat::vllm_jsonl: break;
    }
  });
}

Trace to_load_only(const Trace& trace) {
  if (trace.meta.load_only) return trace;
  Trace out;
  out.meta = trace.meta;
  out.meta.load_only = true;
  for (const auto& s : trace.steps) {
    TraceStep o{s.step, {}};
    for (const auto& l : s.layers) o.layers.push_back({l.layer, {}, l.routing.expert_load(trace.meta.num_experts)});
    out.steps.push_back(std::move(o));
  }
  return out;
}

}  // namespace moesim::routing
