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
#include "models/routing/trace_json.hpp"

namespace moesim::routing {
namespace {

using io::Json;

Json parse(const std::string& text, const std::string& file, int64_t line) {
  Json j = io::parse_json_line(text, file, line);
  if (!j.is_object()) io::fail_at(file, line, "record", "must be a JSON object");
  return j;
}

}  // namespace

Trace read_vllm_jsonl(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in(path);
  if (!in) throw IoError(fmt::format("{}: error: cannot open", file));
  std::string text;
  if (!std::getline(in, text)) io::fail_at(file, 1, "meta", "empty file");
  io::strip_line(text, 1);
  Json meta = parse(text, file, 1);
  if (io::string_field_or(meta, "type", "", file, 1) != "meta") io::fail_at(file, 1, "meta", "first record must have \"type\":\"meta\"");
  TraceMeta m;
  m.num_experts = io::int_field<int32_t>(meta, "num_experts", file, 1);
  m.top_k = io::int_field<int32_t>(meta, "top_k", file, 1);
  m.model = io::string_field_or(meta, "model_id", "", file, 1);
  m.source = "vllm hook: " + path.filename().string();
  if (m.num_experts <= 0 || m.top_k <= 0) io::fail_at(file, 1, "meta", "num_experts and top_k must be positive");

  io::TraceBuilder b(file, m.num_experts, false);
  std::map<std::pair<std::string, int32_t>, int64_t> last_idx;  // (request, layer) -> token_idx
  std::map<std::pair<int64_t, int32_t>, int64_t> position;      // (step, layer) -> tokens so far
  int64_t line = 1;
  while (std::getline(in, text)) {
    ++line;
    io::strip_line(text, line);
    if (text.empty()) continue;
    Json j = parse(text, file, line);
    if (io::string_field_or(j, "type", "", file, line) != "route") io::fail_at(file, line, "type", "expected a \"route\" record");
    auto layer = io::int_field<int32_t>(j, "layer", file, line);
    int64_t idx = io::int_field(j, "token_idx", file, line);
    std::string req = io::string_field_or(j, "req_id", "", file, line);
    auto [it, fresh] = last_idx.try_emplace({req, layer}, idx);
    if (!fresh) {
      if (idx <= it->second)
        io::fail_at(file, line, "token_idx", fmt::format("{} does not follow {} of request '{}' layer {}", idx, it->second, req, layer));
      it->second = idx;
    }
    auto ids = io::array_field<int32_t>(j, "topk_ids", file, line, true);
    if (ids.size() != static_cast<size_t>(m.top_k))
      io::fail_at(file, line, "topk_ids", fmt::format("wrong k: {} ids, meta says top_k = {}", ids.size(), m.top_k));
    auto weights = io::array_field<float>(j, "topk_weights", file, line, false);
    int64_t step = j.contains("step") ? io::int_field(j, "step", file, line) : 0;
    b.add(line, step, layer, position[{step, layer}]++, ids, weights, {});
  }
  return b.finish(m);
}

}  // namespace moesim::routing
