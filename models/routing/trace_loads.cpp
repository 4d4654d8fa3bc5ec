// Per-layer expert-load matrices (layers x experts token counts), the input DeepSeek's EPLB
// (github.com/deepseek-ai/EPLB, `weight` [layers, logical experts]) consumes, as a load-only trace.
// Text: one row per MoE layer, one count per expert, separated by commas or blanks; '#' starts a
// comment; a blank line after a block of rows starts the next step.
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <fstream>

#include "models/routing/trace.hpp"
#include "models/routing/trace_io.hpp"

namespace moesim::routing {

Trace read_load_matrix(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in(path);
  if (!in) throw IoError(fmt::format("{}: error: cannot open", file));
  io::TraceBuilder b(file, std::nullopt, false);
  std::string text;
  int64_t line = 0, step = 0, width = -1, width_line = 0;
  int32_t layer = 0;
  while (std::getline(in, text)) {
    ++line;
    if (line == 1 && text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);  // UTF-8 byte-order mark
    if (auto c = text.find('#'); c != std::string::npos) text.erase(c);
    std::vector<int64_t> row;
    const char* p = text.data();
    const char* end = p + text.size();
    while (p < end) {
      if (*p == ',' || *p == ' ' || *p == '\t' || *p == '\r') {
        ++p;
        continue;
      }
      int64_t v = 0;
      auto [q, ec] = std::from_chars(p, end, v);
      if (ec != std::errc() || (q < end && *q != ',' && *q != ' ' && *q != '\t' && *q != '\r')) {
        double d = 0;  // EPLB loads are often float tensors: accept integral floats ("12.0")
        auto [q2, ec2] = std::from_chars(p, end, d);
        if (ec2 != std::errc() || !(d >= 0 && d <= static_cast<double>(kMaxLoad)) || d != std::floor(d))
          io::fail_at(file, line, fmt::format("layer {} column {}", layer, row.size()),
                      fmt::format("'{}' is not a token count", std::string(p, std::find_if(p, end, [](char ch) { return ch == ',' || ch == ' '; }))));
        v = static_cast<int64_t>(d);
        q = q2;
      }
      row.push_back(v);
      p = q;
    }
    if (row.empty()) {
      if (layer > 0) ++step, layer = 0;  // blank line closes a step
      continue;
    }
    if (width < 0) width = static_cast<int64_t>(row.size()), width_line = line;
    if (static_cast<int64_t>(row.size()) != width)
      io::fail_at(file, line, fmt::format("layer {}", layer), fmt::format("{} experts, line {} has {}", row.size(), width_line, width));
    b.add_load(line, step, layer++, std::move(row));
  }
  TraceMeta m;
  m.source = "load matrix: " + path.filename().string();
  Trace t = b.finish(m);
  t.meta.num_experts = static_cast<int32_t>(width);
  return t;
}

void write_load_matrix(const Trace& trace, const std::filesystem::path& path) {
  Trace loads = to_load_only(trace);
  std::ofstream out(path, std::ios::binary);
  if (!out) throw IoError(fmt::format("{}: error: cannot write", path.string()));
  out << fmt::format("# moesim load matrix: {} experts; rows = MoE layers, blank line = next step\n", loads.meta.num_experts);
  bool first = true;
  for (const auto& s : loads.steps) {
    if (!first) out << '\n';
    first = false;
    int32_t expect = 0;
    for (const auto& l : s.layers) {
      if (l.layer != expect++)
        throw ConfigError(Location{path.string()}, "format", "load_matrix rows are layers 0..L-1; this trace skips layers");
      out << fmt::format("{}\n", fmt::join(l.load, ","));
    }
  }
  out.close();  // flushes: a full disk fails here, not silently in the destructor
  if (!out) throw IoError(fmt::format("{}: error: write failed", path.string()));
}

}  // namespace moesim::routing
