// mb_offload: expert offloading on this machine (the layer-level check 2 of docs/validation.md).
// Reads the scenario `moesim validate-layer scenario --check offload` generated: model dimensions
// (L MoE layers of E SwiGLU experts, fp32), the routing source (kind "trace", the simulator's own
// replay) and [workload] generate_tokens (T tokens decoded, batch 1) and cache_experts (N).
//
// Setup: every expert of every layer is written to one file (expert (l, e) at offset
// (l*E + e) * B, B = 3 d f * 4 bytes: W1 | W3 | W2, row-major), fsynced and evicted from the page
// cache. The cache is N slots of B bytes (4 KiB-aligned) plus one working buffer for bypasses.
// Decode loop, per token, per layer l:
//   gate  : logits = x . Wg_l (GEMV d x E) + softmax (the CHOICE is the trace's, as the simulator)
//   experts, ascending id: LRU access (lru.hpp) for all of them; the misses are read with
//          pread(O_DIRECT) into their slots, in order, by a reader thread that starts after the
//          gate (the simulator's engine: loads on one I/O stream after the gate, each expert's FFN
//          after its own load; serially when a bypass shares the one working buffer); each expert,
//          once in: h1 = x.W1, h3 = x.W3 (GEMV d x f), h1 = silu(h1)*h3, y = h1.W2 (GEMV f x d),
//          out += gate weight * y
//   x = out / rms(out) (keeps values in range; cost d)
// Rows (schema moesim.microbench/1): kernel = offload, per token: pattern token (the token's wall
// time), read (seconds in pread), compute (the token's time not spent waiting for a read);
// size_bytes = bytes read for the token; note
// "token=<t> hits=<h> misses=<m> bypasses=<b>". With --repeats R the whole sequence is decoded R
// times, each from an empty cache (the LRU is deterministic: every repeat has the same hits and
// misses), and a token's row is the median of its R samples (reps = R); each token is its own
// point, compared with the simulator's step of the same index. One sample per token (R = 1) left
// single stalls of the VM in the check: 0.26 s measured against 0.10 s predicted for one token.
// After each repeat, 4 reference samples: rows ref_read (one expert read alone), ref_expert
// (one expert's FFN alone) and ref_expert_io (one expert's FFN while another expert is read), one
// row each over all repeats, compared with the simulator's time per load and per expert FFN.
#include <cblas.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <string>
#include <vector>

#include "sim/core/errors.hpp"
#include "sim/scenario/scenario.hpp"
#include "validate/common/cli.hpp"
#include "validate/common/csv.hpp"
#include "validate/common/measure.hpp"
#include "validate/common/output.hpp"
#include "validate/common/stats.hpp"
#include "validate/layer/host_memory.hpp"
#include "validate/layer/layer_ops.hpp"
#include "validate/layer/lru.hpp"
#include "validate/layer/simulate.hpp"

namespace mb = moesim::bench;
namespace lc = moesim::layercheck;

namespace {

constexpr int64_t kAlign = 4096;
constexpr int kRefSamples = 4;  // reference reads and FFNs after each repeat

struct Config {
  std::string scenario, out = "-", file = "/var/tmp/moesim-offload.bin";
  int threads = 0;
  int repeats = 1;  // decodes of the whole token sequence, each from an empty cache
  bool keep_file = false;
};

class Fd {
 public:
  Fd(const std::string& path, int flags, mode_t mode = 0644) : fd_(::open(path.c_str(), flags, mode)) {
    if (fd_ < 0) throw moesim::IoError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  }
  ~Fd() { ::close(fd_); }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Every expert's bytes distinct, as real weights are: the base weights with the low 15 mantissa
// bits of each float XORed with an xorshift64 stream seeded by the expert (sign and exponent kept,
// so values stay normal and of the same scale). A file of copies of one expert (the earlier
// writer changed only its first float) was read at 3.5-6.3 GB/s on the 2026-12-06 AMD EPYC VM,
// where mb_storage's random-content file gave 1.9 GB/s for the same 25 MB O_DIRECT reads. Distinct
// bytes did not close that gap; the cause was the destination's page size (both kernels now read
// into 2 MiB pages, bench::alloc_read_buffer; docs/validation.md, "Read buffers").
void distinct_copy(const float* base, float* out, int64_t floats, int64_t expert) {
  uint64_t s = 0x9E3779B97F4A7C15ULL * uint64_t(expert + 1);
  for (int64_t j = 0; j < floats; ++j) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    uint32_t bits;
    std::memcpy(&bits, base + j, sizeof bits);
    bits ^= uint32_t(s) & 0x7FFFu;
    std::memcpy(out + j, &bits, sizeof bits);
  }
}

void write_experts(const std::string& path, int64_t count, int64_t floats) {
  Fd fd(path, O_WRONLY | O_CREAT | O_TRUNC);
  const lc::Floats base(floats, nullptr, 99, 0.05f, kAlign);
  lc::Floats buf(floats, nullptr, 99, 0.05f, kAlign);
  for (int64_t i = 0; i < count; ++i) {
    distinct_copy(base.data(), buf.data(), floats, i);
    const char* p = reinterpret_cast<const char*>(buf.data());
    size_t left = size_t(floats) * sizeof(float);
    while (left > 0) {
      ssize_t n = ::write(fd.get(), p, left);
      if (n <= 0) throw moesim::IoError(fmt::format("{}: write failed: {}", path, std::strerror(errno)));
      p += n, left -= size_t(n);
    }
  }
  if (::fsync(fd.get()) != 0) throw moesim::IoError(fmt::format("{}: fsync failed", path));
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);
}

void pread_all(int fd, float* dst, int64_t bytes, int64_t offset) {
  char* p = reinterpret_cast<char*>(dst);
  while (bytes > 0) {
    ssize_t n = ::pread(fd, p, size_t(bytes), offset);
    if (n <= 0) throw moesim::IoError(fmt::format("pread at {} failed: {}", offset, n < 0 ? std::strerror(errno) : "end of file"));
    p += n, bytes -= n, offset += n;
  }
}

// One expert to read: its place in the layer's order, its destination and file offset.
struct Read {
  size_t index;
  float* dst;
  int64_t offset;
};

// Reads a layer's misses in order on its own thread (overlapped = true) or, when not overlapped,
// each one when the compute asks for it; wait_for(i) blocks until expert i is in and returns the
// seconds it waited; finish() joins and returns the seconds spent in pread.
class Reader {
 public:
  Reader(int fd, int64_t bytes, std::vector<Read> reads, bool overlapped)
      : fd_(fd), bytes_(bytes), reads_(std::move(reads)), overlapped_(overlapped) {
    if (overlapped_ && !reads_.empty()) thread_ = std::thread([this] {
      for (size_t j = 0; j < reads_.size(); ++j) {
        try {
          read_one(j);
        } catch (...) {  // handed to the compute thread (wait_for / finish rethrow it)
          std::lock_guard lock(mu_);
          error_ = std::current_exception();
          done_ = reads_.size();
          cv_.notify_all();
          return;
        }
        std::lock_guard lock(mu_);
        done_ = j + 1;
        cv_.notify_all();
      }
    });
  }
  ~Reader() {
    if (thread_.joinable()) thread_.join();
  }
  double wait_for(size_t index) {
    const auto it = std::find_if(reads_.begin(), reads_.end(), [&](const Read& r) { return r.index == index; });
    if (it == reads_.end()) return 0;
    const size_t j = size_t(it - reads_.begin());
    const double w0 = mb::monotonic_now_s();
    if (!overlapped_) {
      read_one(j);
    } else {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return done_ > j; });
      if (error_) std::rethrow_exception(error_);
    }
    return mb::monotonic_now_s() - w0;
  }
  double finish() {
    if (thread_.joinable()) thread_.join();
    if (error_) std::rethrow_exception(error_);
    return std::exchange(read_s_, 0.0);
  }

 private:
  void read_one(size_t j) {
    const double r0 = mb::monotonic_now_s();
    pread_all(fd_, reads_[j].dst, bytes_, reads_[j].offset);
    read_s_ += mb::monotonic_now_s() - r0;  // only the reader thread (or, serial, the caller) writes it
  }
  int fd_;
  int64_t bytes_;
  std::vector<Read> reads_;
  bool overlapped_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t done_ = 0;
  std::exception_ptr error_;
  double read_s_ = 0;
};

// One token's samples over the repeats, and what is the same in every repeat.
struct TokenSamples {
  std::vector<double> token, read, compute;  // seconds
  int64_t bytes = 0;
  double flops = 0;
  std::string note;
};

void gemv(int64_t rows, int64_t cols, const float* w, const float* x, float* y) {  // y[cols] = x[rows] . W[rows x cols]
  cblas_sgemv(CblasRowMajor, CblasTrans, int(rows), int(cols), 1.0f, w, int(cols), x, 1, 0.0f, y, 1);
}

// One expert's SwiGLU FFN on one token: weights W1 | W3 | W2 at `w` (d x f, d x f, f x d), y = its
// output; h1 and h3 are scratch of f floats.
void expert_ffn(int64_t d, int64_t f, const float* w, const float* x, float* h1, float* h3, float* y) {
  gemv(d, f, w, x, h1);
  gemv(d, f, w + d * f, x, h3);
  lc::swiglu(h1, h3, f);
  gemv(f, d, w + 2 * d * f, h1, y);
}

// One expert's FFN (weights `w`, already in memory) timed while a second thread reads another
// expert into `dst` with O_DIRECT, as the decode loop overlaps them; returns the FFN's seconds.
// Against ref_expert (the same FFN alone) it measures what a concurrent read costs the compute on
// this machine: the DMA's share of the memory bandwidth and the reader's CPU time, neither of
// which the simulator charges to the expert FFN (docs/validation.md, "Reader thread and BLAS threads").
double ffn_beside_read(int fd, int64_t bytes, int64_t offset, float* dst, const float* w, int64_t d, int64_t f,
                       const float* x, float* h1, float* h3, float* y) {
  std::exception_ptr error;
  std::thread reader([&] {
    try {
      pread_all(fd, dst, bytes, offset);
    } catch (...) {
      error = std::current_exception();
    }
  });
  const double t0 = mb::monotonic_now_s();
  expert_ffn(d, f, w, x, h1, h3, y);
  const double secs = mb::monotonic_now_s() - t0;
  reader.join();
  if (error) std::rethrow_exception(error);
  return secs;
}

void run(const Config& cfg, int argc, char** argv) {
  if (cfg.threads > 0) openblas_set_num_threads(cfg.threads);
  auto shape = lc::read_workload_shape(cfg.scenario);
  if (shape.check != "offload")
    throw moesim::ConfigError({cfg.scenario}, "workload.kind", "mb_offload needs an offload check scenario (kind = \"offload_inference\")");
  auto s = moesim::scenario::load_scenario(cfg.scenario);
  const auto& m = s->model;
  if (m.weight_dtype != moesim::hw::Dtype::fp32 || m.ffn != moesim::model::FfnKind::swiglu3 || m.moe_layer_count() != m.layers)
    throw moesim::ConfigError({cfg.scenario}, "model", "the kernel runs fp32 SwiGLU experts in every layer");
  const int64_t d = m.d_model, f = m.expert_ffn_dim, E = m.experts, L = m.layers, T = shape.steps;
  const int64_t expert_floats = 3 * d * f, expert_bytes = expert_floats * 4;
  if (expert_bytes % kAlign != 0)
    throw moesim::ConfigError({cfg.scenario}, "model", fmt::format("expert of {} B is not a multiple of {} B (O_DIRECT)", expert_bytes, kAlign));
  // Routes as the offload workload asks for them: step s = token s, MoE layer l, one token.
  lc::TokenRoutes routes(static_cast<size_t>(T), std::vector<std::vector<int32_t>>(static_cast<size_t>(L)));
  std::vector<std::vector<std::vector<float>>> gates(static_cast<size_t>(T), std::vector<std::vector<float>>(static_cast<size_t>(L)));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t l = 0; l < L; ++l) {
      auto r = s->routing->route({t, int32_t(l), 1, {0}});
      for (int32_t j = 0; j < r.k; ++j) {
        const bool dropped = !r.dropped.empty() && r.dropped[size_t(j)];
        if (r.expert(0, j) < 0 || dropped) continue;
        routes[t][l].push_back(r.expert(0, j));
        gates[t][l].push_back(r.weights.empty() ? 1.0f / float(r.k) : r.weights[size_t(j)]);
      }
    }
  write_experts(cfg.file, L * E, expert_floats);
  const std::string dropped = mb::try_drop_caches();  // the state mb_storage calibrates in (measure.hpp)

  int64_t buffer_bytes = 0;
  std::vector<lc::Floats> slots;
  // Read destinations like mb_storage's (bench::alloc_read_buffer: 2 MiB pages).
  for (int64_t i = 0; i < shape.cache_experts; ++i) slots.emplace_back(expert_floats, &buffer_bytes, 0, 0.0f, lc::Floats::kReadBuffer);
  lc::Floats stream(expert_floats, &buffer_bytes, 0, 0.0f, lc::Floats::kReadBuffer);  // bypass working buffer
  std::vector<lc::Floats> wg;
  for (int64_t l = 0; l < L; ++l) wg.emplace_back(d * E, &buffer_bytes, uint32_t(200 + l), 1.0f / std::sqrt(float(d)));
  lc::Floats x(d, &buffer_bytes, 3, 1.0f), out(d, &buffer_bytes, 0, 0.0f), y(d, &buffer_bytes, 0, 0.0f),
      h1(f, &buffer_bytes, 0, 0.0f), h3(f, &buffer_bytes, 0, 0.0f), logits(E, &buffer_bytes, 0, 0.0f);

  auto prov = mb::collect_provenance("mb_offload", argc, argv);
  prov.set("blas", openblas_get_config());
  prov.set("threads", std::to_string(openblas_get_num_threads()));
  prov.set("drop_caches", dropped);
  prov.set("scenario", std::filesystem::path(cfg.scenario).filename().string());
  prov.set("model", m.name);
  prov.set("file", cfg.file);
  prov.set("expert_bytes", std::to_string(expert_bytes));
  prov.set("read_buffers", mb::read_buffer_policy());
  prov.set("cache_experts", std::to_string(shape.cache_experts));
  prov.set("repeats", std::to_string(cfg.repeats));
  for (const auto& n : s->routing->notes()) prov.set("routing_note", n);
  mb::Output outfile(cfg.out);
  mb::ResultWriter w(outfile.stream(), prov);

  Fd fd(cfg.file, O_RDONLY | O_DIRECT);
  // Every repeat decodes the same T tokens from an empty cache (same hits, misses and bytes); a
  // token's row is the median over repeats of its times, as every other kernel's row is.
  std::vector<TokenSamples> samples(static_cast<size_t>(T));
  const lc::Floats x0(d, nullptr, 3, 1.0f);
  // seconds: one expert read alone; one expert's FFN alone; one expert's FFN beside a read
  std::vector<double> ref_read, ref_expert, ref_expert_io;
  for (int rep = 0; rep < cfg.repeats; ++rep) {
    std::copy(x0.data(), x0.data() + d, x.data());
    lc::LruSlots cache(int32_t(shape.cache_experts));
    for (int64_t t = 0; t < T; ++t) {
      int64_t hits = 0, misses = 0, bypasses = 0, bytes = 0;
      double read_s = 0, wait_s = 0;  // seconds in pread (reader); seconds the compute waited for reads
      const double t0 = mb::monotonic_now_s();
      for (int64_t l = 0; l < L; ++l) {
        gemv(d, E, wg[l].data(), x.data(), logits.data());
        const float mx = *std::max_element(logits.data(), logits.data() + E);
        float sum = 0;
        for (int64_t i = 0; i < E; ++i) sum += (logits.data()[i] = std::exp(logits.data()[i] - mx));
        for (int64_t i = 0; i < E; ++i) logits.data()[i] /= sum;
        std::fill(out.data(), out.data() + d, 0.0f);
        // Ascending distinct ids (lru.hpp); the gate weight of each from the trace.
        std::vector<int32_t> ids = lc::distinct_experts(routes[t][l]);
        std::vector<lc::ExpertId> current;
        for (int32_t e : ids) current.push_back({int32_t(l), e});
        // The LRU decides every expert of the layer first (same order, same slots as one by one).
        std::vector<float*> where;
        std::vector<Read> reads;
        bool bypassed = false;
        for (const auto& k : current) {
          auto a = cache.access(k, current);
          float* wts = a.bypass ? stream.data() : slots[size_t(a.slot)].data();
          where.push_back(wts);
          if (a.hit) {
            ++hits;
          } else {
            ++misses, bypasses += a.bypass, bypassed |= a.bypass;
            reads.push_back({where.size() - 1, wts, (l * E + k.expert) * expert_bytes});
            bytes += expert_bytes;
          }
        }
        // Misses are read in order by one reader thread while the experts already in are computed
        // (the simulator's engine: loads issued after the gate on one I/O stream, each expert's FFN
        // after its load). With a bypass (one shared working buffer) the layer reads serially.
        Reader reader(fd.get(), expert_bytes, std::move(reads), !bypassed);
        for (size_t i = 0; i < current.size(); ++i) {
          const auto& k = current[i];
          float* wts = where[i];
          wait_s += reader.wait_for(i);
          expert_ffn(d, f, wts, x.data(), h1.data(), h3.data(), y.data());
          float g = 0;
          for (size_t j = 0; j < routes[t][l].size(); ++j)
            if (routes[t][l][j] == k.expert) g += gates[t][l][j];
          cblas_saxpy(int(d), g, y.data(), 1, out.data(), 1);
        }
        double ss = 0;
        for (int64_t i = 0; i < d; ++i) ss += double(out.data()[i]) * out.data()[i];
        const float inv = ss > 0 ? float(1.0 / std::sqrt(ss / double(d))) : 1.0f;
        for (int64_t i = 0; i < d; ++i) x.data()[i] = out.data()[i] * inv + (ss > 0 ? 0.0f : x.data()[i]);
        read_s += reader.finish();
      }
      const double total = mb::monotonic_now_s() - t0;
      TokenSamples& ts = samples[size_t(t)];
      ts.note = fmt::format("token={} hits={} misses={} bypasses={}", t, hits, misses, bypasses);
      ts.bytes = bytes, ts.flops = double(hits + misses) * 6.0 * double(d * f) + double(L) * 2.0 * double(d * E);
      ts.token.push_back(total), ts.read.push_back(read_s), ts.compute.push_back(total - wait_s);
    }
    // Reference kernels after each repeat: one expert read alone (no compute beside it) and one
    // expert's FFN alone (weights just read, no read beside it). They measure the machine as it is
    // during the check, against the same presets: what the storage and the GEMVs do now, apart
    // from how the decode loop combines them (docs/validation.md, "Reference kernels").
    for (int j = 0; j < kRefSamples; ++j) {
      const int64_t e = (int64_t(rep) * kRefSamples + j) * 7919 % (L * E);
      const double r0 = mb::monotonic_now_s();
      pread_all(fd.get(), stream.data(), expert_bytes, e * expert_bytes);
      const double r1 = mb::monotonic_now_s();
      expert_ffn(d, f, stream.data(), x.data(), h1.data(), h3.data(), y.data());
      ref_read.push_back(r1 - r0), ref_expert.push_back(mb::monotonic_now_s() - r1);
      if (slots.empty()) continue;  // no second buffer to read into beside the FFN
      // The same FFN on weights just read (slot 0, whose LRU contents end with the repeat), while
      // the next expert is read into the working buffer.
      pread_all(fd.get(), slots[0].data(), expert_bytes, (e + 1) % (L * E) * expert_bytes);
      ref_expert_io.push_back(ffn_beside_read(fd.get(), expert_bytes, (e + 2) % (L * E) * expert_bytes, stream.data(),
                                              slots[0].data(), d, f, x.data(), h1.data(), h3.data(), y.data()));
    }
  }
  // One timed row: a read row carries bytes and no flops, a compute row flops and no bytes.
  const auto write_row = [&](const std::string& pattern, int64_t bytes, double traffic, double flops,
                             const std::vector<double>& secs, const std::string& note) {
    mb::Record r{.kernel = "offload", .device = "cpu", .dtype = "fp32", .m = 1, .n = f, .k = d, .groups = E,
                 .size_bytes = bytes, .pattern = pattern, .mode = "direct", .queue_depth = 1,
                 .threads = openblas_get_num_threads(), .inner = 1};
    r.traffic_bytes = traffic, r.flops = flops;
    mb::set_timing(r, mb::summarize(secs));
    r.note = note;
    w.write(r);
  };
  for (const TokenSamples& ts : samples) {
    write_row("token", ts.bytes, double(ts.bytes), ts.flops, ts.token, ts.note);
    write_row("read", ts.bytes, double(ts.bytes), 0, ts.read, ts.note);
    write_row("compute", ts.bytes, 0, ts.flops, ts.compute, ts.note);
  }
  write_row("ref_read", expert_bytes, double(expert_bytes), 0, ref_read, "reference: one expert read alone (O_DIRECT, qd1)");
  write_row("ref_expert", expert_bytes, 0, 6.0 * double(d * f), ref_expert, "reference: one expert's FFN alone (m = 1)");
  if (!ref_expert_io.empty())
    write_row("ref_expert_io", expert_bytes, 0, 6.0 * double(d * f), ref_expert_io,
              "reference: one expert's FFN while the reader thread reads another expert (O_DIRECT, qd1)");
  mb::Record mem{.kernel = "offload", .device = "cpu", .dtype = "fp32", .size_bytes = buffer_bytes, .pattern = "memory_buffers"};
  mem.note = "bytes of the buffers the kernel allocates (cache slots, working buffer, routers, vectors)";
  w.write(mem);
  mb::Record hwm{.kernel = "offload", .device = "cpu", .dtype = "fp32", .size_bytes = lc::vm_hwm_bytes(), .pattern = "memory_vmhwm"};
  hwm.note = "VmHWM of /proc/self/status after the run";
  w.write(hwm);
  if (!cfg.keep_file) std::filesystem::remove(cfg.file);
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  CLI::App app{"Expert offload: experts in a file read with O_DIRECT into an LRU cache of N experts during batch-1 decode"};
  app.add_option("--scenario", cfg.scenario, "Scenario written by `moesim validate-layer scenario --check offload`")->required();
  app.add_option("--out", cfg.out, "Result CSV ('-' = stdout)");
  app.add_option("--file", cfg.file, "Expert file on the disk to measure (created, removed afterwards)");
  app.add_flag("--keep-file", cfg.keep_file, "Keep the expert file");
  app.add_option("--threads", cfg.threads, "OpenBLAS threads (0 = its default)");
  app.add_option("--repeats", cfg.repeats, "decodes of the token sequence, each from an empty cache; a token's row is their median")
      ->check(CLI::Range(1, 1000));
  CLI11_PARSE(app, argc, argv);
  return mb::run_reporting("mb_offload", [&] { run(cfg, argc, argv); });
}
