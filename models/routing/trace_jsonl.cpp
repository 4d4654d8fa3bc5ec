// The canonical JSONL trace (for people): a meta record, then one record per token (or per layer for
// load-only traces). Floats are written in their shortest round-trip form and read as float, so a
// write-read cycle is exact. Layout in docs/routing.md.
#include <fmt/format.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "models/routing/trace.hpp"
#include "models/routing/trace_io.hpp"
#include "models/routing/trace_json.hpp"

namespace moesim::routing {
namespace {

using io::Json;
constexpr const char* kFormatTag = "moesim-trace";

template <class T>
std::string join_numbers(const T* p, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    if (i) s += ',';
    if constexpr (std::is_same_v<T, float>) s += io::float_text(p[i]);
    else s += fmt::format("{}", p[i]);
  }
  return s;
}

TraceMeta read_meta(const Json& j, const std::string& file) {
  if (!j.is_object() || io::string_field_or(j, "type", "", file, 1) != "meta" || io::string_field_or(j, "format", "", file, 1) != kFormatTag)
    io::fail_at(file, 1, "meta", "first line must be {\"type\":\"meta\",\"format\":\"moesim-trace\",...}");
  TraceMeta m;
  m.num_experts = io::int_field<int32_t>(j, "num_experts", file, 1);
  m.top_k = io::int_field<int32_t>(j, "top_k", file, 1);
  m.model = io::string_field_or(j, "model", "", file, 1);
  m.source = io::string_field_or(j, "source", "", file, 1);
  m.load_only = io::bool_field_or(j, "load_only", false, file, 1);
  if (m.num_experts <= 0) io::fail_at(file, 1, "num_experts", "must be positive");
  if (!m.load_only && m.top_k <= 0) io::fail_at(file, 1, "top_k", fmt::format("{} must be positive", m.top_k));
  return m;
}

}  // namespace

Trace read_jsonl(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in(path);
  if (!in) throw IoError(fmt::format("{}: error: cannot open", file));
  std::string text;
  if (!std::getline(in, text)) io::fail_at(file, 1, "meta", "empty file");
  io::strip_line(text, 1);
  TraceMeta meta = read_meta(io::parse_json_line(text, file, 1), file);
  io::TraceBuilder b(file, meta.num_experts, false);
  std::map<std::pair<int64_t, int32_t>, int32_t> shared;
  int64_t line = 1;
  while (std::getline(in, text)) {
    ++line;
    io::strip_line(text, line);
    if (text.empty()) continue;
    Json j = io::parse_json_line(text, file, line);
    if (!j.is_object()) io::fail_at(file, line, "record", "must be a JSON object");
    int64_t step = io::int_field(j, "step", file, line);
    auto layer = io::int_field<int32_t>(j, "layer", file, line);
    if (io::string_field_or(j, "type", "", file, line) == "layer") {
      auto n = io::int_field<int32_t>(j, "shared_experts", file, line);
      if (n < 0) io::fail_at(file, line, "shared_experts", fmt::format("{} is negative", n));
      shared[{step, layer}] = n;
      continue;
    }
    if (meta.load_only) {
      if (!j.contains("load")) io::fail_at(file, line, "load", "required field is missing (trace is load-only)");
      b.add_load(line, step, layer, io::array_field<int64_t>(j, "load", file, line, true));
      continue;
    }
    if (!j.contains("experts")) io::fail_at(file, line, "experts", "required field is missing");
    auto dropped = io::array_field<uint8_t>(j, "dropped", file, line, false);
    for (auto d : dropped)
      if (d > 1) io::fail_at(file, line, "dropped", fmt::format("{} is not 0 or 1", int{d}));
    b.add(line, step, layer, io::int_field(j, "token", file, line), io::array_field<int32_t>(j, "experts", file, line, true),
          io::array_field<float>(j, "weights", file, line, false), dropped);
  }
  bool load_only = meta.load_only;
  Trace t = b.finish(meta);
  t.meta.load_only = load_only;
  for (auto& s : t.steps)
    for (auto& l : s.layers)
      if (auto it = shared.find({s.step, l.layer}); it != shared.end()) l.routing.shared_experts = it->second;
  return t;
}

void write_jsonl(const Trace& trace, const std::filesystem::path& path) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw IoError(fmt::format("{}: error: cannot write", path.string()));
  Json meta = {{"type", "meta"}, {"format", kFormatTag}, {"version", 1}, {"num_experts", trace.meta.num_experts},
               {"top_k", trace.meta.top_k}, {"model", trace.meta.model}, {"source", trace.meta.source},
               {"load_only", trace.meta.load_only}};
  out << meta.dump() << '\n';
  std::string buf;
  for (const auto& s : trace.steps)
    for (const auto& l : s.layers) {
      if (trace.meta.load_only) {
        out << fmt::format("{{\"step\":{},\"layer\":{},\"load\":[{}]}}\n", s.step, l.layer, join_numbers(l.load.data(), l.load.size()));
        continue;
      }
      const auto& r = l.routing;
      if (r.shared_experts)
        out << fmt::format("{{\"type\":\"layer\",\"step\":{},\"layer\":{},\"shared_experts\":{}}}\n", s.step, l.layer, r.shared_experts);
      for (int64_t t = 0; t < r.tokens; ++t) {
        const size_t o = static_cast<size_t>(t * r.k);
        buf = fmt::format("{{\"step\":{},\"layer\":{},\"token\":{},\"experts\":[{}]", s.step, l.layer, t, join_numbers(r.experts.data() + o, r.k));
        if (!r.weights.empty()) buf += fmt::format(",\"weights\":[{}]", join_numbers(r.weights.data() + o, r.k));
        if (!r.dropped.empty()) buf += fmt::format(",\"dropped\":[{}]", join_numbers(r.dropped.data() + o, r.k));
        buf += "}\n";
        out << buf;
      }
    }
  out.close();  // flushes: a full disk fails here, not silently in the destructor
  if (!out) throw IoError(fmt::format("{}: error: write failed", path.string()));
}

}  // namespace moesim::routing
