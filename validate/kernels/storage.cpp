// mb_storage: reads of expert-sized blocks from a file on disk (the "flash" of this machine).
//
// Model fitted from these rows (hardware/spec.hpp StorageSpec): one request of s bytes at queue
// depth 1 takes t(s) = latency + s / bandwidth(s); at queue depth q, q requests are in flight and
// the aggregate rate saturates at the device bandwidth. Modes:
//   direct         O_DIRECT (aligned buffers, offsets and sizes): the page cache is bypassed, the
//                  honest cold read of an expert from flash
//   buffered_cold  normal read() after evicting the file from the page cache before every round
//                  (posix_fadvise DONTNEED; its effect is checked with mincore and reported)
//   buffered_warm  normal read() of a file already in the page cache (a DRAM-resident expert)
// Patterns: seq (the team reads consecutive blocks) and rand (uniform block-aligned offsets from the
// named stream "storage.offsets"). With --passes N every setting is measured in N interleaved
// sweeps (budget / N each) and its row pools the N sweeps' requests. A round is one request per team member, all issued together
// (closed loop, queue depth = team size). Per-request latency gives median_s..max_s; bytes_per_s is
// the aggregate rate, total bytes / total round time.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <vector>

#include "sim/core/errors.hpp"
#include "sim/core/rng.hpp"
#include "validate/common/cli.hpp"
#include "validate/common/csv.hpp"
#include "validate/common/lists.hpp"
#include "validate/common/measure.hpp"
#include "validate/common/output.hpp"
#include "validate/common/stats.hpp"
#include "validate/common/team.hpp"

namespace mb = moesim::bench;

namespace {

constexpr int64_t kAlign = 4096;  // O_DIRECT alignment of buffers, offsets and sizes

struct Config {
  std::string out = "-";
  std::string file = "/var/tmp/moesim-storage.bin";
  std::string file_size = "1GiB";
  std::string block_sizes = "64KiB..256MiB";
  int64_t block_factor = 4;
  std::string queue_depths = "1,4";
  std::vector<std::string> patterns{"seq", "rand"};
  std::vector<std::string> modes{"direct", "buffered_cold", "buffered_warm"};
  double budget_s = 0.5;  // of reading per configuration
  int min_rounds = 3;
  int max_rounds = 2000;
  bool keep_file = false;
  uint64_t seed = 1;
  int passes = 1;  // sweeps over every setting, each with budget / passes (interleaved repetitions)
  uint64_t shuffle_seed = 0;  // 0: settings in listed order each pass; else a seeded random order per pass
};

struct AlignedBuffer {
  void* p = nullptr;
  explicit AlignedBuffer(size_t n) : p(mb::alloc_read_buffer(n)) {  // 2 MiB pages (measure.hpp)
    if (!p) throw moesim::IoError("cannot allocate an aligned read buffer");
    std::memset(p, 0, n);
  }
  ~AlignedBuffer() { std::free(p); }
};

class Fd {
 public:
  Fd(const std::string& path, int flags) : fd_(::open(path.c_str(), flags, 0644)) {
    if (fd_ < 0) throw moesim::IoError("cannot open " + path + ": " + std::strerror(errno));
  }
  ~Fd() { ::close(fd_); }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Writes `size` bytes of non-repeating data (no compression or dedup can shortcut the reads) and
// fsyncs; returns the seconds it took.
double create_file(const std::string& path, int64_t size) {
  Fd fd(path, O_WRONLY | O_CREAT | O_TRUNC);
  const size_t chunk = 8 << 20;
  std::vector<uint64_t> buf(chunk / 8);
  moesim::Rng rng(1, "storage.file_content");
  const double t0 = mb::monotonic_now_s();
  for (int64_t done = 0; done < size; done += int64_t(chunk)) {
    for (auto& x : buf) x = rng.next_u64();
    const size_t n = size_t(std::min<int64_t>(int64_t(chunk), size - done));
    if (::write(fd.get(), buf.data(), n) != ssize_t(n)) throw moesim::IoError("short write to " + path);
  }
  ::fsync(fd.get());
  return mb::monotonic_now_s() - t0;
}

// Fraction of the file's pages resident in the page cache (mincore of a read-only mapping).
double resident_fraction(const std::string& path, int64_t size) {
  Fd fd(path, O_RDONLY);
  void* map = ::mmap(nullptr, size_t(size), PROT_READ, MAP_SHARED, fd.get(), 0);
  if (map == MAP_FAILED) return -1;
  const long page = sysconf(_SC_PAGESIZE);
  std::vector<unsigned char> vec(size_t((size + page - 1) / page));
  double frac = -1;
  if (::mincore(map, size_t(size), vec.data()) == 0) {
    size_t in = 0;
    for (auto v : vec) in += v & 1;
    frac = double(in) / double(vec.size());
  }
  ::munmap(map, size_t(size));
  return frac;
}

void evict(int fd) { ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); }


// "vda" for the block device holding `path` (via /sys/dev/block), else "file".
std::string block_device_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "file";
  const std::string link = "/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
  std::error_code ec;
  const auto target = std::filesystem::read_symlink(link, ec);
  return ec ? "file" : target.filename().string();
}

struct Setting {
  std::string mode, pattern;
  int64_t block = 0;
  int qd = 1;
};

// The requests' latencies and the rounds' wall time of one setting, summed over passes.
struct Sample {
  std::vector<double> latencies;
  double total_s = 0;
  int rounds = 0;
};

void bench_setting(Sample& out, const Config& cfg, const Setting& s, int64_t file_size) {
  const bool direct = s.mode == "direct";
  Fd fd(cfg.file, O_RDONLY | (direct ? O_DIRECT : 0));
  const int64_t nblocks = file_size / s.block;
  std::vector<std::unique_ptr<AlignedBuffer>> bufs;
  for (int t = 0; t < s.qd; ++t) bufs.push_back(std::make_unique<AlignedBuffer>(size_t(s.block)));
  moesim::Rng rng(cfg.seed, "storage.offsets");
  std::vector<int64_t> offsets(size_t(s.qd));
  std::vector<double> latencies;
  std::mutex lat_mu;
  std::atomic<bool> failed{false};
  mb::Team team(s.qd, /*pin=*/false);
  const mb::Team::Job read_one = [&](int t) {
    const double t0 = mb::monotonic_now_s();
    int64_t done = 0;
    char* p = static_cast<char*>(bufs[size_t(t)]->p);
    while (done < s.block) {
      const ssize_t got = ::pread(fd.get(), p + done, size_t(s.block - done), offsets[size_t(t)] + done);
      if (got <= 0) { failed = true; break; }
      done += got;
    }
    const double dt = mb::monotonic_now_s() - t0;
    std::lock_guard lock(lat_mu);
    latencies.push_back(dt);
  };
  int64_t next_seq = 0;
  auto plan_round = [&] {
    for (int t = 0; t < s.qd; ++t)
      offsets[size_t(t)] = s.block * (s.pattern == "seq" ? (next_seq++ % nblocks) : int64_t(rng.below(uint64_t(nblocks))));
  };
  if (s.mode == "buffered_warm") {  // warm-up: the whole file into the page cache
    for (int64_t b = 0; b < nblocks; b += s.qd) {
      plan_round();
      team.run(read_one);
    }
    next_seq = 0;
  } else {  // warm-up: one round (opens, allocations, device queues)
    if (s.mode == "buffered_cold") evict(fd.get());
    plan_round();
    team.run(read_one);
    next_seq = 0;
  }
  latencies.clear();
  double total_s = 0;
  int rounds = 0;
  const double budget = cfg.budget_s / std::max(cfg.passes, 1);
  while (rounds < cfg.min_rounds || (total_s < budget && rounds < cfg.max_rounds)) {
    if (s.mode == "buffered_cold") evict(fd.get());
    plan_round();
    const double t0 = mb::monotonic_now_s();
    team.run(read_one);
    total_s += mb::monotonic_now_s() - t0;
    ++rounds;
  }
  if (failed) throw moesim::IoError("read failed on " + cfg.file + " (" + s.mode + ")");
  out.latencies.insert(out.latencies.end(), latencies.begin(), latencies.end());
  out.total_s += total_s;
  out.rounds += rounds;
}

void write_setting(mb::ResultWriter& w, const Config& cfg, const Setting& s, const Sample& x, int64_t file_size,
                   const std::string& device) {
  const int rounds = x.rounds;
  const double total_s = x.total_s;
  mb::Record r{.kernel = "storage_read", .device = device, .size_bytes = s.block, .pattern = s.pattern,
               .mode = s.mode, .queue_depth = s.qd, .threads = s.qd, .warmup = 1};
  r.inner = 1;
  r.traffic_bytes = double(s.block);
  mb::set_timing(r, mb::summarize(x.latencies));
  r.bytes_per_s = double(s.block) * double(rounds) * s.qd / total_s;  // aggregate over the team
  r.note = "rounds=" + std::to_string(rounds) + " passes=" + std::to_string(std::max(cfg.passes, 1)) +
           " file=" + mb::size_label(file_size);
  w.write(r);
}

void run(const Config& cfg, int argc, char** argv) {
  const int64_t file_size = mb::parse_size_list(cfg.file_size, "--file-size").front() / kAlign * kAlign;
  auto prov = mb::collect_provenance("mb_storage", argc, argv);
  prov.set("file", cfg.file);
  prov.set("file_size_bytes", std::to_string(file_size));
  prov.set("read_buffers", mb::read_buffer_policy());
  prov.set("passes", std::to_string(std::max(cfg.passes, 1)));
  prov.set("order", cfg.shuffle_seed == 0 ? std::string("as listed") : "shuffled per pass, seed " + std::to_string(cfg.shuffle_seed));
  mb::Output out(cfg.out);
  const double write_s = create_file(cfg.file, file_size);
  const std::string device = block_device_of(cfg.file);
  prov.set("storage_device", device);
  prov.set("drop_caches", mb::try_drop_caches());
  {
    Fd fd(cfg.file, O_RDONLY);
    evict(fd.get());
  }
  char frac[32];
  std::snprintf(frac, sizeof frac, "%.4f", resident_fraction(cfg.file, file_size));
  prov.set("page_cache_resident_after_evict", frac);
  mb::ResultWriter w(out.stream(), prov);
  mb::Record wr{.kernel = "storage_write", .device = device, .size_bytes = file_size, .pattern = "seq",
                .mode = "buffered_fsync", .queue_depth = 1, .threads = 1};
  wr.traffic_bytes = double(file_size);
  mb::set_timing(wr, mb::summarize({write_s}));
  wr.note = "one pass incl. fsync and data generation";
  w.write(wr);
  std::vector<Setting> settings;
  for (const auto& mode : cfg.modes) {
    if (mode != "direct" && mode != "buffered_cold" && mode != "buffered_warm")
      throw moesim::ConfigError({"command line"}, "--modes", "unknown mode '" + mode +
                                "' (valid values: direct, buffered_cold, buffered_warm)");
    for (const auto& pattern : cfg.patterns)
      for (int64_t block : mb::parse_size_list(cfg.block_sizes, "--block-sizes", cfg.block_factor))
        for (int64_t qd : mb::parse_int_list(cfg.queue_depths, "--queue-depths")) {
          if (block % kAlign != 0 || block * qd > file_size) continue;
          settings.push_back({mode, pattern, block, int(qd)});
        }
  }
  // Interleaved repetitions: every pass sweeps all settings, so a burst of competing load on a
  // shared machine spreads over all of them instead of spoiling one setting's whole budget.
  std::vector<Sample> samples(settings.size());
  // A seeded random order per pass (--shuffle-seed) also keeps neighbouring sizes apart in time, so
  // one slow episode of the disk does not bend a run of adjacent sizes the same way.
  for (int pass = 0; pass < std::max(cfg.passes, 1); ++pass)
    for (size_t i : mb::pass_order(settings.size(), cfg.shuffle_seed, pass))
      bench_setting(samples[i], cfg, settings[i], file_size);
  for (size_t i = 0; i < settings.size(); ++i) write_setting(w, cfg, settings[i], samples[i], file_size, device);
  if (!cfg.keep_file) std::filesystem::remove(cfg.file);
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  CLI::App app{"Reads of expert-sized blocks from a file (O_DIRECT and buffered, seq and random, queue depths)"};
  app.add_option("--out", cfg.out, "CSV file ('-' = stdout)");
  app.add_option("--file", cfg.file, "scratch file to create and read (on the disk to measure)");
  app.add_option("--file-size", cfg.file_size, "scratch file size, e.g. 1GiB");
  app.add_option("--block-sizes", cfg.block_sizes, "request sizes (multiples of 4KiB), e.g. 64KiB..256MiB");
  app.add_option("--block-factor", cfg.block_factor, "step of a block-size range");
  app.add_option("--queue-depths", cfg.queue_depths, "requests in flight, e.g. 1,4");
  app.add_option("--patterns", cfg.patterns, "seq, rand")->delimiter(',');
  app.add_option("--modes", cfg.modes, "direct, buffered_cold, buffered_warm")->delimiter(',');
  app.add_option("--budget", cfg.budget_s, "seconds of reading per configuration");
  app.add_option("--min-rounds", cfg.min_rounds, "rounds at least");
  app.add_option("--max-rounds", cfg.max_rounds, "rounds at most");
  app.add_flag("--keep-file", cfg.keep_file, "leave the scratch file in place");
  app.add_option("--passes", cfg.passes, "sweeps over all settings, each with budget/passes (interleaved repetitions)")
      ->check(CLI::Range(1, 100));
  app.add_option("--shuffle-seed", cfg.shuffle_seed, "measure each pass in a seeded random order (0 = as listed)");
  CLI11_PARSE(app, argc, argv);
  return mb::run_reporting("mb_storage", [&] { run(cfg, argc, argv); });
}
