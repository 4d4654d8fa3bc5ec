// Compact binary trace (.mtrace), little-endian, for large traces. Reading is one file read plus
// bulk copies per block: linear in the file size. Layout (docs/routing.md):
//   header: "MOETRACE" u32 version=1 u32 flags(bit0 load_only) i32 num_experts i32 top_k
//           u32 len + model bytes, u32 len + source bytes, u64 blocks
//   block:  i64 step i32 layer i64 tokens i32 k i32 shared_experts u8 has_weights u8 has_dropped
//           then i32 experts[tokens*k], f32 weights[..] if has_weights, u8 dropped[..] if has_dropped
//           (load-only: i64 load[num_experts] instead of tokens..dropped)
#include <bit>
#include <cstring>
#include <fmt/format.h>

#include <fstream>

#include "models/routing/trace.hpp"

namespace moesim::routing {
namespace {

static_assert(std::endian::native == std::endian::little, "the .mtrace writer assumes a little-endian host");
constexpr char kMagic[8] = {'M', 'O', 'E', 'T', 'R', 'A', 'C', 'E'};
constexpr uint32_t kVersion = 1;

class Cursor {
 public:
  Cursor(std::string file, std::vector<char> data) : file_(std::move(file)), data_(std::move(data)) {}
  template <class T>
  T get(const char* what) {
    T v;
    bytes(&v, sizeof(T), what);
    return v;
  }
  void bytes(void* dst, size_t n, const char* what) {
    if (n == 0) return;  // an empty array has no storage (memcpy from/to null is undefined)
    if (n > data_.size() - pos_)
      fail(fmt::format("truncated: {} needs {} bytes, {} left", what, n, data_.size() - pos_));
    std::memcpy(dst, data_.data() + pos_, n);
    pos_ += n;
  }
  template <class T>
  void array(std::vector<T>& v, uint64_t count, const char* what) {
    if (count > (data_.size() - pos_) / sizeof(T))
      fail(fmt::format("truncated: {} needs {} bytes, {} left", what, count * sizeof(T), data_.size() - pos_));
    v.resize(count);
    bytes(v.data(), count * sizeof(T), what);
  }
  std::string text(const char* what) {
    auto n = get<uint32_t>(what);
    std::string s(std::min<size_t>(n, data_.size() - pos_), '\0');
    if (n != s.size()) fail(fmt::format("truncated: {} needs {} bytes", what, n));
    bytes(s.data(), n, what);
    return s;
  }
  void set_block(int64_t b) { block_ = b, block_start_ = pos_; }
  bool at_end() const { return pos_ == data_.size(); }
  [[noreturn]] void fail(const std::string& detail) const {
    std::string where = block_ < 0 ? "header" : fmt::format("block {} (byte {})", block_, block_start_);
    throw ConfigError(Location{file_}, where, detail);
  }

 private:
  std::string file_;
  std::vector<char> data_;
  size_t pos_ = 0, block_start_ = 0;
  int64_t block_ = -1;
};

std::vector<char> slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw IoError(fmt::format("{}: error: cannot open", path.string()));
  std::vector<char> data(static_cast<size_t>(in.tellg()));
  in.seekg(0);
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  if (!in) throw IoError(fmt::format("{}: error: read failed", path.string()));
  return data;
}

void read_block(Cursor& c, const TraceMeta& meta, Trace& t) {
  auto step = c.get<int64_t>("step");
  auto layer = c.get<int32_t>("layer");
  if (t.steps.empty() || t.steps.back().step != step) {
    if (!t.steps.empty() && step < t.steps.back().step)
      c.fail(fmt::format("non-monotone steps: step {} after step {}", step, t.steps.back().step));
    t.steps.push_back({step, {}});
  }
  auto& layers = t.steps.back().layers;
  if (!layers.empty() && layer <= layers.back().layer)
    c.fail(fmt::format("layer {} after layer {} in step {}", layer, layers.back().layer, step));
  TraceLayer l;
  l.layer = layer;
  if (meta.load_only) {
    c.array(l.load, static_cast<uint64_t>(meta.num_experts), "load");
    layers.push_back(std::move(l));
    return;
  }
  auto& r = l.routing;
  r.tokens = c.get<int64_t>("tokens");
  r.k = c.get<int32_t>("k");
  r.shared_experts = c.get<int32_t>("shared_experts");
  auto has_w = c.get<uint8_t>("has_weights"), has_d = c.get<uint8_t>("has_dropped");
  if (r.tokens < 0 || r.k < 0 || r.k > 1 << 16) c.fail(fmt::format("bad tokens {} or k {}", r.tokens, r.k));
  uint64_t n = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(r.tokens), static_cast<uint64_t>(r.k), &n) || n > (uint64_t{1} << 40))
    c.fail(fmt::format("tokens {} x k {} is too large", r.tokens, r.k));
  if (r.tokens > 0 && r.k == 0) c.fail(fmt::format("k 0 with {} tokens (each token needs at least one slot)", r.tokens));
  c.array(r.experts, n, "expert ids");
  if (has_w) c.array(r.weights, n, "weights");
  if (has_d) c.array(r.dropped, n, "dropped marks");
  for (uint64_t i = 0; i < n; ++i)
    if (r.experts[i] < kNoExpert || r.experts[i] >= meta.num_experts)
      c.fail(fmt::format("token {} slot {}: expert id {} outside [0, {})", i / r.k, i % r.k, r.experts[i], meta.num_experts));
  layers.push_back(std::move(l));
}

template <class T>
void put(std::ofstream& out, const T& v) {
  out.write(reinterpret_cast<const char*>(&v), sizeof(T));
}
template <class T>
void put_array(std::ofstream& out, const std::vector<T>& v) {
  out.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(T)));
}
void put_text(std::ofstream& out, const std::string& s) {
  put(out, static_cast<uint32_t>(s.size()));
  out.write(s.data(), static_cast<std::streamsize>(s.size()));
}

}  // namespace

Trace read_binary(const std::filesystem::path& path) {
  Cursor c(path.string(), slurp(path));
  char magic[8];
  c.bytes(magic, 8, "magic");
  if (std::memcmp(magic, kMagic, 8) != 0) c.fail("not a moesim binary trace (magic 'MOETRACE' missing)");
  if (auto v = c.get<uint32_t>("version"); v != kVersion) c.fail(fmt::format("version {} (this build reads {})", v, kVersion));
  Trace t;
  t.meta.load_only = (c.get<uint32_t>("flags") & 1u) != 0;
  t.meta.num_experts = c.get<int32_t>("num_experts");
  t.meta.top_k = c.get<int32_t>("top_k");
  t.meta.model = c.text("model");
  t.meta.source = c.text("source");
  if (t.meta.num_experts <= 0) c.fail(fmt::format("num_experts {} must be positive", t.meta.num_experts));
  auto blocks = c.get<uint64_t>("block count");
  for (uint64_t b = 0; b < blocks; ++b) {
    c.set_block(static_cast<int64_t>(b));
    read_block(c, t.meta, t);
  }
  if (!c.at_end()) c.fail("trailing bytes after the last block");
  return t;
}

void write_binary(const Trace& trace, const std::filesystem::path& path) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw IoError(fmt::format("{}: error: cannot write", path.string()));
  out.write(kMagic, 8);
  put(out, kVersion);
  put(out, static_cast<uint32_t>(trace.meta.load_only ? 1 : 0));
  put(out, trace.meta.num_experts);
  put(out, trace.meta.top_k);
  put_text(out, trace.meta.model);
  put_text(out, trace.meta.source);
  uint64_t blocks = 0;
  for (const auto& s : trace.steps) blocks += s.layers.size();
  put(out, blocks);
  for (const auto& s : trace.steps)
    for (const auto& l : s.layers) {
      put(out, s.step);
      put(out, l.layer);
      if (trace.meta.load_only) {
        put_array(out, l.load);
        continue;
      }
      const auto& r = l.routing;
      put(out, r.tokens);
      put(out, r.k);
      put(out, r.shared_experts);
      put(out, static_cast<uint8_t>(!r.weights.empty()));
      put(out, static_cast<uint8_t>(!r.dropped.empty()));
      put_array(out, r.experts);
      put_array(out, r.weights);
      put_array(out, r.dropped);
    }
  out.close();  // flushes: a full disk fails here, not silently in the destructor
  if (!out) throw IoError(fmt::format("{}: error: write failed", path.string()));
}

}  // namespace moesim::routing
