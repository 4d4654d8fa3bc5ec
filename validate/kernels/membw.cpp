// mb_membw: memory bandwidth of the host DRAM tier (and, at small sizes, the caches).
//
// STREAM kernels (McCalpin, "Memory Bandwidth and Machine Balance", 1995), double precision:
//   copy:  c[i] = a[i]            traffic = 2 * 8 * N bytes   (read a, write c)
//   triad: a[i] = b[i] + s * c[i] traffic = 3 * 8 * N bytes, flops = 2 N
// counted as STREAM does (no write-allocate traffic). memcpy of one buffer into another, one
// thread, counts read + write = 2 * size bytes, so its large-size rate compares with copy.
// Threads (a Team) split the arrays in equal slices, each thread first-touches its own slice and is
// pinned to one core when there are at least as many online cores as threads (else unpinned: noted).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <vector>

#include "validate/common/cli.hpp"
#include "validate/common/csv.hpp"
#include "validate/common/lists.hpp"
#include "validate/common/measure.hpp"
#include "validate/common/output.hpp"
#include "validate/common/stats.hpp"
#include "validate/common/team.hpp"

namespace mb = moesim::bench;

namespace {

struct Config {
  std::string out = "-";
  std::string threads = "1,2";
  std::string array_sizes = "256KiB,4MiB,16MiB,128MiB";
  std::string memcpy_sizes = "4KiB..256MiB";
  mb::MeasureOptions measure;
};

void write_row(mb::ResultWriter& w, mb::Record r, const mb::Measurement& m) {
  r.warmup = m.warmup;
  r.inner = m.inner;
  char util[48];
  std::snprintf(util, sizeof util, "cpu_per_wall=%.2f", m.cpu_per_wall());
  r.note += (r.note.empty() ? "" : " ") + std::string(util);
  mb::set_timing(r, mb::summarize(m.per_call_s));
  w.write(r);
}

void bench_stream(mb::ResultWriter& w, int threads, int64_t bytes, const mb::MeasureOptions& opt) {
  const size_t n = size_t(bytes) / sizeof(double);
  std::unique_ptr<double[]> a(new double[n]), b(new double[n]), c(new double[n]);
  mb::Team team(threads, /*pin=*/true);
  team.run([&](int t) {  // first touch by the owning thread
    const auto [lo, hi] = mb::slice_of(n, threads, t);
    for (size_t i = lo; i < hi; ++i) a[i] = 1.0, b[i] = 2.0, c[i] = 0.0;
  });
  const double s = 3.0;
  const mb::Team::Job copy = [&](int t) {
    const auto [lo, hi] = mb::slice_of(n, threads, t);
    for (size_t i = lo; i < hi; ++i) c[i] = a[i];
  };
  const mb::Team::Job triad = [&](int t) {
    const auto [lo, hi] = mb::slice_of(n, threads, t);
    for (size_t i = lo; i < hi; ++i) a[i] = b[i] + s * c[i];
  };
  mb::Record r{.kernel = "stream_copy", .device = "cpu", .dtype = "fp64", .size_bytes = bytes,
               .threads = threads};
  r.note = team.pinned() ? "pinned" : "unpinned";
  r.traffic_bytes = 2.0 * double(n) * sizeof(double);
  write_row(w, r, mb::measure([&] { team.run(copy); }, opt));
  r.kernel = "stream_triad";
  r.traffic_bytes = 3.0 * double(n) * sizeof(double);
  r.flops = 2.0 * double(n);
  write_row(w, r, mb::measure([&] { team.run(triad); }, opt));
}

void bench_memcpy(mb::ResultWriter& w, int64_t bytes, const mb::MeasureOptions& opt) {
  std::unique_ptr<char[]> src(new char[size_t(bytes)]), dst(new char[size_t(bytes)]);
  std::memset(src.get(), 1, size_t(bytes));
  std::memset(dst.get(), 0, size_t(bytes));
  mb::Record r{.kernel = "memcpy", .device = "cpu", .size_bytes = bytes, .threads = 1};
  r.traffic_bytes = 2.0 * double(bytes);
  write_row(w, r, mb::measure([&] { std::memcpy(dst.get(), src.get(), size_t(bytes)); }, opt));
}

void run(const Config& cfg, int argc, char** argv) {
  auto prov = mb::collect_provenance("mb_membw", argc, argv);
  prov.set("threads", cfg.threads);
  mb::Output out(cfg.out);
  mb::ResultWriter w(out.stream(), prov);
  for (int64_t t : mb::parse_int_list(cfg.threads, "--threads"))
    for (int64_t bytes : mb::parse_size_list(cfg.array_sizes, "--array-sizes"))
      bench_stream(w, int(t), bytes, cfg.measure);
  for (int64_t bytes : mb::parse_size_list(cfg.memcpy_sizes, "--memcpy-sizes", 4))
    bench_memcpy(w, bytes, cfg.measure);
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  CLI::App app{"Memory bandwidth (STREAM copy/triad, memcpy sizes); writes a moesim microbench CSV"};
  app.add_option("--out", cfg.out, "CSV file ('-' = stdout)");
  app.add_option("--threads", cfg.threads, "thread counts, e.g. 1,2");
  app.add_option("--array-sizes", cfg.array_sizes, "bytes per STREAM array (DRAM: >= 4x last-level cache)");
  app.add_option("--memcpy-sizes", cfg.memcpy_sizes, "memcpy sizes (a range steps by x4)");
  mb::add_measure_options(app, cfg.measure, "warm-up passes");
  CLI11_PARSE(app, argc, argv);
  return mb::run_reporting("mb_membw", [&] { run(cfg, argc, argv); });
}
