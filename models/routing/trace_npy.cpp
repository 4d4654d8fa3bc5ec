// NumPy .npy expert ids, as a PyTorch forward hook saves them (np.save(topk_ids.cpu().numpy())):
// an integer array [tokens, k] for one layer, or [layers, tokens, k]; or a directory of 2-D files,
// one per layer, ordered by the number in the file name. Format: numpy.org NEP 1 (.npy v1-v3).
// Weights are not part of this format; the trace is one step (step 0).
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <charconv>
#include <regex>

#include "models/routing/trace.hpp"
#include "models/routing/trace_io.hpp"

namespace moesim::routing {
namespace {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<int64_t> values;  // row-major (C order)
};

[[noreturn]] void bad(const std::string& file, const std::string& what, const std::string& detail) {
  throw ConfigError(Location{file}, what, detail);
}

std::string header_value(const std::string& header, const std::string& key, const std::string& file) {
  auto p = header.find("'" + key + "'");
  if (p == std::string::npos) bad(file, "npy header", fmt::format("no '{}' in header {}", key, header));
  p = header.find(':', p);
  auto start = p == std::string::npos ? p : header.find_first_not_of(' ', p + 1);
  if (start == std::string::npos) bad(file, "npy header", fmt::format("no value for '{}' in header {}", key, header));
  auto until = [&](char close, size_t from) {
    auto e = header.find(close, from);
    if (e == std::string::npos) bad(file, "npy header", fmt::format("unterminated value of '{}' in header {}", key, header));
    return e;
  };
  if (header[start] == '(') return header.substr(start + 1, until(')', start) - start - 1);
  if (header[start] == '\'') return header.substr(start + 1, until('\'', start + 1) - start - 1);
  auto e = header.find_first_of(",}", start);
  return header.substr(start, e == std::string::npos ? std::string::npos : e - start);
}

// "(3, 4, 2)" -> {3, 4, 2}: every dimension positive, the element count bounded (no overflow).
std::vector<int64_t> parse_shape(const std::string& shape, const std::string& file, size_t& count) {
  std::vector<int64_t> dims;
  const char* p = shape.data();
  const char* end = p + shape.size();
  while (p < end) {
    if (*p == ',' || *p == ' ' || *p == 'L') {
      ++p;
      continue;
    }
    int64_t d = 0;
    auto [q, ec] = std::from_chars(p, end, d);
    if (ec != std::errc() || q == p) bad(file, "npy shape", fmt::format("'({})' is not a tuple of sizes", shape));
    dims.push_back(d);
    p = q;
  }
  count = 1;
  for (auto d : dims) {
    if (d <= 0) bad(file, "npy shape", fmt::format("({}) has an empty dimension: no tokens or no slots", shape));
    if (__builtin_mul_overflow(count, static_cast<size_t>(d), &count) || count > kMaxTraceSlots)
      bad(file, "npy shape", fmt::format("({}) holds more than {} ids", shape, kMaxTraceSlots));
  }
  return dims;
}

template <class T>
void convert(const char* p, size_t n, std::vector<int64_t>& out) {
  out.resize(n);
  for (size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, p + i * sizeof(T), sizeof(T));
    out[i] = static_cast<int64_t>(v);
  }
}

NpyArray read_array(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw IoError(fmt::format("{}: error: cannot open", file));
  std::vector<char> data(static_cast<size_t>(in.tellg()));
  in.seekg(0);
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  if (data.size() < 10 || std::memcmp(data.data(), "\x93NUMPY", 6) != 0) bad(file, "npy", "not a .npy file (magic \\x93NUMPY missing)");
  const int major = static_cast<uint8_t>(data[6]);
  size_t hlen = 0, hstart = major == 1 ? 10 : 12;
  if (data.size() < hstart) bad(file, "npy header", "truncated");
  if (major < 1 || major > 3) bad(file, "npy header", fmt::format("format version {} (this build reads 1 to 3)", major));
  if (major == 1) hlen = static_cast<uint8_t>(data[8]) | (static_cast<uint8_t>(data[9]) << 8);
  else {
    uint32_t h32 = 0;
    std::memcpy(&h32, data.data() + 8, 4);
    hlen = h32;
  }
  if (hlen > data.size() - hstart) bad(file, "npy header", "truncated");
  std::string header(data.data() + hstart, hlen);
  std::string descr = header_value(header, "descr", file);
  bool fortran = header_value(header, "fortran_order", file) == "True";
  NpyArray a;
  std::string shape = header_value(header, "shape", file);
  size_t n = 0;
  a.shape = parse_shape(shape, file, n);
  const char* body = data.data() + hstart + hlen;
  const size_t avail = data.size() - hstart - hlen;
  const std::vector<std::pair<std::string, size_t>> kinds = {{"i1", 1}, {"u1", 1}, {"i2", 2}, {"u2", 2}, {"i4", 4}, {"u4", 4}, {"i8", 8}, {"u8", 8}};
  if (descr.size() != 3 || descr[0] == '>') bad(file, "npy dtype", fmt::format("'{}' is not a little-endian integer type (expected e.g. <i8, <i4)", descr));
  std::string kind = descr.substr(1);
  auto it = std::find_if(kinds.begin(), kinds.end(), [&](const auto& k) { return k.first == kind; });
  if (it == kinds.end()) bad(file, "npy dtype", fmt::format("'{}' is not an integer type (expert ids must be integers)", descr));
  if (avail / it->second < n) bad(file, "npy data", fmt::format("truncated: shape ({}) needs {} bytes, {} present", shape, n * it->second, avail));
  if (kind == "i1") convert<int8_t>(body, n, a.values);
  else if (kind == "u1") convert<uint8_t>(body, n, a.values);
  else if (kind == "i2") convert<int16_t>(body, n, a.values);
  else if (kind == "u2") convert<uint16_t>(body, n, a.values);
  else if (kind == "i4") convert<int32_t>(body, n, a.values);
  else if (kind == "u4") convert<uint32_t>(body, n, a.values);
  else convert<int64_t>(body, n, a.values);  // i8, u8 (ids never reach 2^63)
  if (fortran && a.shape.size() > 1) {  // column-major -> row-major
    std::vector<int64_t> c(n);
    std::vector<int64_t> idx(a.shape.size());
    for (size_t f = 0; f < n; ++f) {
      size_t rem = f, lin = 0;
      for (size_t d = 0; d < a.shape.size(); ++d) idx[d] = static_cast<int64_t>(rem % a.shape[d]), rem /= a.shape[d];
      for (size_t d = 0; d < a.shape.size(); ++d) lin = lin * a.shape[d] + idx[d];
      c[lin] = a.values[f];
    }
    a.values = std::move(c);
  }
  return a;
}

void add_layer(Trace& t, int32_t layer, const int64_t* ids, int64_t tokens, int64_t k, const std::string& file) {
  if (k > kMaxTraceK) bad(file, fmt::format("layer {}", layer), fmt::format("k = {} slots per token exceeds {}", k, kMaxTraceK));
  TraceLayer l;
  l.layer = layer;
  l.routing.tokens = tokens;
  l.routing.k = static_cast<int32_t>(k);
  l.routing.experts.resize(static_cast<size_t>(tokens * k));
  for (int64_t i = 0; i < tokens * k; ++i) {
    if (ids[i] < -1 || ids[i] >= kMaxTraceExperts)
      bad(file, fmt::format("layer {} token {} slot {}", layer, i / k, i % k), fmt::format("expert id {} is invalid", ids[i]));
    l.routing.experts[static_cast<size_t>(i)] = static_cast<int32_t>(ids[i]);
    t.meta.num_experts = std::max(t.meta.num_experts, static_cast<int32_t>(ids[i]) + 1);
  }
  t.steps.front().layers.push_back(std::move(l));
}

}  // namespace

Trace read_npy(const std::filesystem::path& path) {
  Trace t;
  t.steps.push_back({0, {}});
  t.meta.source = "npy: " + path.filename().string();
  if (std::filesystem::is_directory(path)) {
    std::vector<std::pair<int64_t, std::filesystem::path>> files;
    std::regex digits("([0-9]+)");
    for (const auto& e : std::filesystem::directory_iterator(path)) {
      if (e.path().extension() != ".npy") continue;
      std::smatch m;
      std::string stem = e.path().stem().string();
      if (!std::regex_search(stem, m, digits)) bad(e.path().string(), "file name", "needs the layer number in its name (e.g. layer_3.npy)");
      int64_t layer = 0;
      auto digits_text = m.str();
      auto [q, ec] = std::from_chars(digits_text.data(), digits_text.data() + digits_text.size(), layer);
      if (ec != std::errc() || layer > INT32_MAX) bad(e.path().string(), "file name", fmt::format("layer number {} is too large", digits_text));
      files.push_back({layer, e.path()});
    }
    if (files.empty()) bad(path.string(), "npy", "directory holds no .npy files");
    std::sort(files.begin(), files.end());
    for (const auto& [layer, f] : files) {
      auto a = read_array(f);
      if (a.shape.size() != 2) bad(f.string(), "shape", fmt::format("{}-D array; a per-layer file is [tokens, k]", a.shape.size()));
      add_layer(t, static_cast<int32_t>(layer), a.values.data(), a.shape[0], a.shape[1], f.string());
    }
  } else {
    auto a = read_array(path);
    if (a.shape.size() == 2) add_layer(t, 0, a.values.data(), a.shape[0], a.shape[1], path.string());
    else if (a.shape.size() == 3)
      for (int64_t l = 0; l < a.shape[0]; ++l)
        add_layer(t, static_cast<int32_t>(l), a.values.data() + l * a.shape[1] * a.shape[2], a.shape[1], a.shape[2], path.string());
    else bad(path.string(), "shape", fmt::format("{}-D array; expected [tokens, k] or [layers, tokens, k]", a.shape.size()));
  }
  t.meta.top_k = t.steps.front().layers.front().routing.k;
  return t;
}

void write_npy(const Trace& trace, const std::filesystem::path& path) {
  if (trace.meta.load_only || trace.steps.size() != 1)
    throw ConfigError(Location{path.string()}, "format", "npy holds the per-token ids of one step; this trace has a different shape");
  const auto& layers = trace.steps.front().layers;
  const auto& first = layers.front().routing;
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i].layer != static_cast<int32_t>(i) || layers[i].routing.tokens != first.tokens || layers[i].routing.k != first.k)
      throw ConfigError(Location{path.string()}, "format", "npy needs layers 0..L-1 with the same tokens and k");
  std::string header = fmt::format("{{'descr': '<i4', 'fortran_order': False, 'shape': ({}, {}, {}), }}", layers.size(), first.tokens, first.k);
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out) throw IoError(fmt::format("{}: error: cannot write", path.string()));
  out.write("\x93NUMPY\x01\x00", 8);
  uint16_t hlen = static_cast<uint16_t>(header.size());
  out.write(reinterpret_cast<const char*>(&hlen), 2);
  out << header;
  for (const auto& l : layers)
    out.write(reinterpret_cast<const char*>(l.routing.experts.data()), static_cast<std::streamsize>(l.routing.experts.size() * 4));
  out.close();  // flushes: a full disk fails here, not silently in the destructor
  if (!out) throw IoError(fmt::format("{}: error: write failed", path.string()));
}

}  // namespace moesim::routing
