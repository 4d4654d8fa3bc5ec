// Generic CSV trace: a header naming the columns step, layer, token, expert and optionally weight
// and dropped and bits (any order), then one row per (token, slot). `bits` is the slot's weight
// bit-width from a bit-width router (D²MoE dual routing), an integer 1..32 (optional column). Consecutive rows with the same
// (step, layer, token) are one token's slots; tokens may have different slot counts (variable k:
// shorter ones are padded with kNoExpert). Expert -1 is a null slot. An empty weight cell means none.
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <fstream>

#include "models/routing/trace.hpp"
#include "models/routing/trace_io.hpp"
#include "sim/core/suggest.hpp"

namespace moesim::routing {
namespace {

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t c = line.find(',', start);
    std::string_view cell = line.substr(start, c == std::string_view::npos ? std::string_view::npos : c - start);
    while (!cell.empty() && (cell.front() == ' ' || cell.front() == '\t')) cell.remove_prefix(1);
    while (!cell.empty() && (cell.back() == ' ' || cell.back() == '\t' || cell.back() == '\r')) cell.remove_suffix(1);
    out.push_back(cell);
    if (c == std::string_view::npos) return out;
    start = c + 1;
  }
}

template <class T>
T parse_cell(std::string_view cell, const std::string& file, int64_t line, const std::string& column) {
  T v{};
  auto [p, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
  if (ec != std::errc() || p != cell.data() + cell.size())
    io::fail_at(file, line, column, fmt::format("'{}' is not a valid {}", cell, std::is_integral_v<T> ? "integer" : "number"));
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(v)) io::fail_at(file, line, column, fmt::format("'{}' is not a finite number", cell));
  }
  return v;
}

struct Columns {
  int step = -1, layer = -1, token = -1, expert = -1, weight = -1, dropped = -1, bits = -1;
  size_t count = 0;
};

Columns read_header(std::string_view header, const std::string& file) {
  Columns c;
  auto cells = split(header);
  c.count = cells.size();
  const std::vector<std::string> known = {"step", "layer", "token", "expert", "weight", "dropped", "bits"};
  int* slot[] = {&c.step, &c.layer, &c.token, &c.expert, &c.weight, &c.dropped, &c.bits};
  for (size_t i = 0; i < cells.size(); ++i) {
    auto it = std::find(known.begin(), known.end(), cells[i]);
    if (it == known.end()) {
      std::string msg = fmt::format("unknown column '{}' (valid values: {})", cells[i], join(known));
      if (auto n = nearest(cells[i], known)) msg += fmt::format("; did you mean '{}'?", *n);
      io::fail_at(file, 1, "header", msg);
    }
    *slot[it - known.begin()] = static_cast<int>(i);
  }
  for (size_t i = 0; i < 4; ++i)
    if (*slot[i] < 0) io::fail_at(file, 1, "header", fmt::format("missing column '{}' (need step, layer, token, expert)", known[i]));
  return c;
}

}  // namespace

Trace read_csv(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in(path);
  if (!in) throw IoError(fmt::format("{}: error: cannot open", file));
  std::string text;
  if (!std::getline(in, text)) io::fail_at(file, 1, "header", "empty file");
  if (text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);  // UTF-8 byte-order mark (Excel writes one)
  Columns c = read_header(text, file);
  io::TraceBuilder b(file, std::nullopt, true);
  int64_t line = 1, cur_step = 0, cur_token = -1;
  int32_t cur_layer = -1;
  int64_t token_line = 0;
  std::vector<int32_t> experts;
  std::vector<float> weights;
  std::vector<uint8_t> dropped, bits;
  auto flush = [&] {
    if (!experts.empty()) b.add(token_line, cur_step, cur_layer, cur_token, experts, weights, dropped, bits);
    experts.clear(), weights.clear(), dropped.clear(), bits.clear();
  };
  while (std::getline(in, text)) {
    ++line;
    if (text.empty() || text == "\r") continue;
    auto cells = split(text);
    if (cells.size() != c.count) io::fail_at(file, line, "row", fmt::format("{} cells, header has {}", cells.size(), c.count));
    auto step = parse_cell<int64_t>(cells[c.step], file, line, "step");
    auto layer = parse_cell<int32_t>(cells[c.layer], file, line, "layer");
    auto token = parse_cell<int64_t>(cells[c.token], file, line, "token");
    if (step != cur_step || layer != cur_layer || token != cur_token) {
      flush();
      cur_step = step, cur_layer = layer, cur_token = token, token_line = line;
    }
    experts.push_back(parse_cell<int32_t>(cells[c.expert], file, line, "expert"));
    if (c.weight >= 0 && !cells[c.weight].empty()) weights.push_back(parse_cell<float>(cells[c.weight], file, line, "weight"));
    if (c.dropped >= 0) {
      auto d = parse_cell<int>(cells[c.dropped], file, line, "dropped");
      if (d != 0 && d != 1) io::fail_at(file, line, "dropped", fmt::format("{} is not 0 or 1", d));
      dropped.push_back(static_cast<uint8_t>(d));
    }
    if (c.bits >= 0) {
      auto v = parse_cell<int>(cells[c.bits], file, line, "bits");
      if (v < 1 || v > 32) io::fail_at(file, line, "bits", fmt::format("{} is not a bit-width in 1..32", v));
      bits.push_back(static_cast<uint8_t>(v));
    }
    if (!weights.empty() && weights.size() != experts.size())
      io::fail_at(file, line, "weight", "empty here but given for an earlier slot of the same token");
  }
  flush();
  TraceMeta m;
  m.source = "csv: " + path.filename().string();
  return b.finish(m);
}

void write_csv(const Trace& trace, const std::filesystem::path& path) {
  if (trace.meta.load_only) throw ConfigError(Location{path.string()}, "format", "csv holds per-token routing; write a load-only trace as load_matrix");
  std::ofstream out(path, std::ios::binary);
  if (!out) throw IoError(fmt::format("{}: error: cannot write", path.string()));
  bool any_dropped = false, any_bits = false;
  for (const auto& s : trace.steps)
    for (const auto& l : s.layers) any_dropped |= !l.routing.dropped.empty(), any_bits |= !l.routing.bits.empty();
  out << (any_dropped ? "step,layer,token,expert,weight,dropped" : "step,layer,token,expert,weight") << (any_bits ? ",bits\n" : "\n");
  for (const auto& s : trace.steps)
    for (const auto& l : s.layers) {
      const auto& r = l.routing;
      for (int64_t t = 0; t < r.tokens; ++t)
        for (int32_t k = 0; k < r.k; ++k) {
          size_t i = static_cast<size_t>(t * r.k + k);
          std::string w = r.weights.empty() ? "" : io::float_text(r.weights[i]);
          if (any_dropped) out << fmt::format("{},{},{},{},{},{}", s.step, l.layer, t, r.experts[i], w, r.dropped.empty() ? 0 : r.dropped[i]);
          else out << fmt::format("{},{},{},{},{}", s.step, l.layer, t, r.experts[i], w);
          // A layer without bit-widths (or a padded slot) writes 32: "full precision".
          if (any_bits) out << fmt::format(",{}", r.bits.empty() || r.bits[i] == 0 ? 32 : int{r.bits[i]});
          out << '\n';
        }
    }
  out.close();  // flushes: a full disk fails here, not silently in the destructor
  if (!out) throw IoError(fmt::format("{}: error: write failed", path.string()));
}

}  // namespace moesim::routing
