// The canonical JSONL trace (for people): a meta record, then one record per token (or per layer for
// load-only traces). Floats are written in their shortest round-trip form and read as float, so a
// write-read cycle is exact. Layout in docs/routing.md.
#include <fmt/format.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "models/routing/trace.hpp"
#include "models/routing/trace_io.hpp"

namespace moesim::routing {
namespace {

// Numbers with a fraction parse straight to float (no double rounding).
using Json = nlohmann::basic_json<std::map, std::vector, std::string, bool, std::int64_t, std::uint64_t, float>;
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

template <class T>
std::vector<T> numbers(const Json& j, const char* key, const std::string& file, int64_t line) {
  std::vector<T> out;
  auto it = j.find(key);
  if (it == j.end()) return out;
  if (!it->is_array()) io::fail_at(file, line, key, "must be an array of numbers");
  out.reserve(it->size());
  for (const auto& v : *it) {
    if (!v.is_number()) io::fail_at(file, line, key, "must be an array of numbers");
    if constexpr (std::is_floating_point_v<T>) out.push_back(v.get<T>());
    else {
      if (!v.is_number_integer()) io::fail_at(file, line, key, fmt::format("{} is not an integer", v.dump()));
      out.push_back(static_cast<T>(v.get<int64_t>()));
    }
  }
  return out;
}

int64_t integer(const Json& j, const char* key, const std::string& file, int64_t line) {
  auto it = j.find(key);
  if (it == j.end()) io::fail_at(file, line, key, "required field is missing");
  if (!it->is_number_integer()) io::fail_at(file, line, key, "must be an integer");
  return it->get<int64_t>();
}

Json parse_line(const std::string& text, const std::string& file, int64_t line) {
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    io::fail_at(file, line, "record", fmt::format("malformed JSON ({})", e.what()));
  }
}

TraceMeta read_meta(const Json& j, const std::string& file) {
  if (!j.is_object() || j.value("type", "") != "meta" || j.value("format", "") != kFormatTag)
    io::fail_at(file, 1, "meta", "first line must be {\"type\":\"meta\",\"format\":\"moesim-trace\",...}");
  TraceMeta m;
  m.num_experts = static_cast<int32_t>(integer(j, "num_experts", file, 1));
  m.top_k = static_cast<int32_t>(integer(j, "top_k", file, 1));
  m.model = j.value("model", "");
  m.source = j.value("source", "");
  m.load_only = j.value("load_only", false);
  if (m.num_experts <= 0) io::fail_at(file, 1, "num_experts", "must be positive");
  return m;
}

}  // namespace

Trace read_jsonl(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in(path);
  if (!in) throw IoError(fmt::format("{}: error: cannot open", file));
  std::string text;
  if (!std::getline(in, text)) io::fail_at(file, 1, "meta", "empty file");
  TraceMeta meta = read_meta(parse_line(text, file, 1), file);
  io::TraceBuilder b(file, meta.num_experts, false);
  std::map<std::pair<int64_t, int32_t>, int32_t> shared;
  int64_t line = 1;
  while (std::getline(in, text)) {
    ++line;
    if (text.empty()) continue;
    Json j = parse_line(text, file, line);
    if (!j.is_object()) io::fail_at(file, line, "record", "must be a JSON object");
    int64_t step = integer(j, "step", file, line);
    auto layer = static_cast<int32_t>(integer(j, "layer", file, line));
    if (j.value("type", "") == "layer") {
      shared[{step, layer}] = static_cast<int32_t>(integer(j, "shared_experts", file, line));
      continue;
    }
    if (meta.load_only) {
      if (!j.contains("load")) io::fail_at(file, line, "load", "required field is missing (trace is load-only)");
      b.add_load(line, step, layer, numbers<int64_t>(j, "load", file, line));
      continue;
    }
    if (!j.contains("experts")) io::fail_at(file, line, "experts", "required field is missing");
    b.add(line, step, layer, integer(j, "token", file, line), numbers<int32_t>(j, "experts", file, line),
          numbers<float>(j, "weights", file, line), numbers<uint8_t>(j, "dropped", file, line));
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
  if (!out) throw IoError(fmt::format("{}: error: write failed", path.string()));
}

}  // namespace moesim::routing
