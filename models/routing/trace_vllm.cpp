// Reader for the JSONL that a vLLM forward hook dumps (see ../shared/data/routing/README.md beside the repository):
//   {"type":"meta","model_id":...,"top_k":8,"num_experts":64,"layers_logged":[0]}
//   {"type":"route","req_id":"r0","token_idx":0,"layer":0,"topk_ids":[...],"topk_weights":[...]}
// Records carry no engine step, so every record goes to step 0 (or to its "step" field when one is
// present), tokens in file order per layer; token_idx must increase within each request.
#include <fmt/format.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "models/routing/trace.hpp"
#include "models/routing/trace_io.hpp"

namespace moesim::routing {
namespace {

using Json = nlohmann::basic_json<std::map, std::vector, std::string, bool, std::int64_t, std::uint64_t, float>;

int64_t int_field(const Json& j, const char* key, const std::string& file, int64_t line) {
  auto it = j.find(key);
  if (it == j.end()) io::fail_at(file, line, key, "required field is missing");
  if (!it->is_number_integer()) io::fail_at(file, line, key, "must be an integer");
  return it->get<int64_t>();
}

template <class T>
std::vector<T> array_field(const Json& j, const char* key, const std::string& file, int64_t line, bool required) {
  std::vector<T> out;
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) io::fail_at(file, line, key, "required field is missing");
    return out;
  }
  if (!it->is_array()) io::fail_at(file, line, key, "must be an array");
  for (const auto& v : *it) {
    if (std::is_integral_v<T> ? !v.is_number_integer() : !v.is_number())
      io::fail_at(file, line, key, fmt::format("{} is not {}", v.dump(), std::is_integral_v<T> ? "an integer" : "a number"));
    out.push_back(v.get<T>());
  }
  return out;
}

Json parse(const std::string& text, const std::string& file, int64_t line) {
  try {
    Json j = Json::parse(text);
    if (!j.is_object()) io::fail_at(file, line, "record", "must be a JSON object");
    return j;
  } catch (const nlohmann::json::parse_error& e) {
    io::fail_at(file, line, "record", fmt::format("malformed JSON ({})", e.what()));
  }
}

}  // namespace

Trace read_vllm_jsonl(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in(path);
  if (!in) throw IoError(fmt::format("{}: error: cannot open", file));
  std::string text;
  if (!std::getline(in, text)) io::fail_at(file, 1, "meta", "empty file");
  Json meta = parse(text, file, 1);
  if (meta.value("type", "") != "meta") io::fail_at(file, 1, "meta", "first record must have \"type\":\"meta\"");
  TraceMeta m;
  m.num_experts = static_cast<int32_t>(int_field(meta, "num_experts", file, 1));
  m.top_k = static_cast<int32_t>(int_field(meta, "top_k", file, 1));
  m.model = meta.value("model_id", "");
  m.source = "vllm hook: " + path.filename().string();
  if (m.num_experts <= 0 || m.top_k <= 0) io::fail_at(file, 1, "meta", "num_experts and top_k must be positive");

  io::TraceBuilder b(file, m.num_experts, false);
  std::map<std::pair<std::string, int32_t>, int64_t> last_idx;  // (request, layer) -> token_idx
  std::map<std::pair<int64_t, int32_t>, int64_t> position;      // (step, layer) -> tokens so far
  int64_t line = 1;
  while (std::getline(in, text)) {
    ++line;
    if (text.empty()) continue;
    Json j = parse(text, file, line);
    if (j.value("type", "") != "route") io::fail_at(file, line, "type", "expected a \"route\" record");
    auto layer = static_cast<int32_t>(int_field(j, "layer", file, line));
    int64_t idx = int_field(j, "token_idx", file, line);
    std::string req = j.contains("req_id") && j["req_id"].is_string() ? j["req_id"].get<std::string>() : "";
    auto [it, fresh] = last_idx.try_emplace({req, layer}, idx);
    if (!fresh) {
      if (idx <= it->second)
        io::fail_at(file, line, "token_idx", fmt::format("{} does not follow {} of request '{}' layer {}", idx, it->second, req, layer));
      it->second = idx;
    }
    auto ids = array_field<int32_t>(j, "topk_ids", file, line, true);
    if (ids.size() != static_cast<size_t>(m.top_k))
      io::fail_at(file, line, "topk_ids", fmt::format("wrong k: {} ids, meta says top_k = {}", ids.size(), m.top_k));
    auto weights = array_field<float>(j, "topk_weights", file, line, false);
    int64_t step = j.contains("step") ? int_field(j, "step", file, line) : 0;
    b.add(line, step, layer, position[{step, layer}]++, ids, weights, {});
  }
  return b.finish(m);
}

}  // namespace moesim::routing
