// mb_alltoall: All-to-All between MPI processes on this machine (its cores exchanging messages are
// the interconnect). Run under mpirun (validate/scripts/microbench.sh chooses the transport:
// shared memory "sm" = btl vader,self; loopback TCP "tcp" = btl tcp,self on lo).
//
// Link model fitted from these rows (hardware/spec.hpp LinkSpec): an All-to-All of P ranks with s
// bytes per pair takes about T(s) = a + (P-1) * s / B_eff (Hockney's alpha-beta model per rank,
// Hockney 1994; Thakur, Rabenseifner & Gropp 2005 for MPI collectives): a is the latency term
// (the s -> 0 limit of median_s), B_eff the per-rank bandwidth (bytes_per_s at large s).
// alltoallv rows with Zipf-skewed counts show the incast of a hot expert's rank: every rank sends
// a share proportional to 1/(j+1)^s of its P*s bytes to rank j (lists.hpp zipf_split).
// Time of one collective = the slowest rank's time (MPI_MAX over ranks), per sample of `inner`
// back-to-back calls started after a barrier. When ranks exceed cores the run is oversubscribed:
// recorded in the note, not hidden.
// Buffers: every send and receive buffer starts on a page (4 KiB) plus --recv-offset bytes for the
// receive side, the same for every size. With buffers from malloc their page offsets followed the
// allocator's history (glibc's mmap threshold moves as buffers are freed), and on the EPYC VM
// 2026-12-07 sizes that are multiples of 4 KiB ran 2-4x slower than their neighbours in one run
// and not in another (docs/validation.md, "Link buffers"): copies whose source and destination
// share their offset within a page can suffer 4K aliasing.
#include <mpi.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <iostream>
#include <memory>
#include <numeric>
#include <optional>
#include <vector>

#include "validate/common/cli.hpp"
#include "validate/common/csv.hpp"
#include "validate/common/lists.hpp"
#include "validate/common/measure.hpp"
#include "validate/common/output.hpp"
#include "validate/common/stats.hpp"

extern char** environ;
namespace mb = moesim::bench;

namespace {

struct Config {
  std::string out = "-";
  std::string sizes = "1KiB..64MiB";
  int64_t size_factor = 4;
  std::string transport = "unknown";
  std::vector<double> skews{1.0};
  double max_buffer_gib = 0.25;  // per rank, send + receive; larger sizes are skipped
  int64_t recv_offset = 0;       // bytes past a page boundary where receive buffers start
  uint64_t shuffle_seed = 0;     // != 0: each pass in a seeded random order (drift becomes noise)
  int passes = 1;                // interleaved sweeps over every row (see run)
  mb::MeasureOptions measure;
};

constexpr size_t kPage = 4096;

// A byte buffer starting `offset` bytes past a page boundary, filled with `fill` (every page
// touched before timing).
class PageBuffer {
 public:
  PageBuffer(size_t n, size_t offset, char fill) : offset_(offset) {
    if (posix_memalign(&base_, kPage, n + offset + 1) != 0) throw std::runtime_error("cannot allocate a page-aligned buffer");
    std::memset(base_, fill, n + offset + 1);
  }
  ~PageBuffer() { std::free(base_); }
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;
  char* data() { return static_cast<char*>(base_) + offset_; }

 private:
  void* base_ = nullptr;
  size_t offset_;
};

struct Exchange {  // counts and displacements of one rank's alltoallv, in bytes
  std::vector<int> send_counts, send_displs, recv_counts, recv_displs;
  int64_t send_total = 0, recv_total = 0;
};

// Every rank splits P*size bytes over destinations by zipf_split(.., s); rank j receives from each
// source the share that source sends to j.
Exchange make_exchange(int rank, int ranks, int64_t size, double skew) {
  Exchange e;
  const auto split = mb::zipf_split(int64_t(ranks) * size, ranks, skew);
  for (int j = 0; j < ranks; ++j) {
    e.send_counts.push_back(int(split[size_t(j)]));
    e.recv_counts.push_back(int(split[size_t(rank)]));
  }
  auto displs = [](const std::vector<int>& c, int64_t& total) {
    std::vector<int> d;
    total = 0;
    for (int x : c) d.push_back(int(total)), total += x;
    return d;
  };
  e.send_displs = displs(e.send_counts, e.send_total);
  e.recv_displs = displs(e.recv_counts, e.recv_total);
  return e;
}

class Bench {
 public:
  Bench(const Config& cfg, int rank, int ranks) : cfg_(cfg), rank_(rank), ranks_(ranks) {}

  // Times `op` collectively; returns per-call seconds of the slowest rank, one per sample.
  mb::Measurement time(const std::function<void()>& op, const mb::MeasureOptions& o) {
    mb::Measurement m;
    for (int i = 0; i < std::max(1, o.warmup); ++i) op();
    m.warmup = std::max(1, o.warmup);
    m.inner = mb::choose_inner_iterations(slowest([&] { op(); }, 1), o.min_sample_s, 1000);
    double spent = 0;
    for (int rep = 0; rep < std::max(o.min_reps, o.max_reps); ++rep) {
      if (rep >= o.min_reps && spent >= o.budget_s) break;
      const double per_call = slowest(op, m.inner);
      spent += per_call * double(m.inner);
      m.per_call_s.push_back(per_call);
    }
    return m;
  }

  void row(mb::ResultWriter* w, mb::Record r, const mb::Measurement& m) {
    if (!w) return;
    r.device = "mpi";
    r.ranks = ranks_;
    r.transport = cfg_.transport;
    r.threads = 1;
    r.warmup = m.warmup;
    r.inner = m.inner;
    mb::set_timing(r, mb::summarize(m.per_call_s));
    const bool over = ranks_ > sysconf(_SC_NPROCESSORS_ONLN);
    r.note = (over ? "oversubscribed" : "not_oversubscribed") + (r.note.empty() ? "" : " " + r.note);
    w->write(r);
  }

 private:
  double slowest(const std::function<void()>& op, int64_t inner) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    for (int64_t i = 0; i < inner; ++i) op();
    double mine = (MPI_Wtime() - t0) / double(inner), worst = 0;
    MPI_Allreduce(&mine, &worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return worst;
  }

  const Config& cfg_;
  int rank_, ranks_;
};

mb::Provenance provenance(const Config& cfg, int ranks, int argc, char** argv) {
  auto prov = mb::collect_provenance("mb_alltoall", argc, argv);
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(version, &len);
  std::string v(version, size_t(len));
  prov.set("mpi", v.substr(0, v.find_first_of(",\n")));
  prov.set("ranks", std::to_string(ranks));
  prov.set("transport", cfg.transport);
  prov.set("oversubscribed", ranks > sysconf(_SC_NPROCESSORS_ONLN) ? "yes" : "no");
  prov.set("buffers", "page-aligned; receive buffers at +" + std::to_string(cfg.recv_offset) + " B");
  prov.set("order", cfg.shuffle_seed == 0 ? std::string("as listed") : "shuffled per pass, seed " + std::to_string(cfg.shuffle_seed));
  prov.set("passes", std::to_string(cfg.passes));
  for (char** e = environ; *e; ++e) {  // the MCA settings mpirun passed: which BTL really ran
    const std::string kv = *e;
    if (kv.rfind("OMPI_MCA_btl", 0) == 0 || kv.rfind("OMPI_MCA_pml", 0) == 0 ||
        kv.rfind("OMPI_MCA_mpi_yield", 0) == 0) {
      const auto eq = kv.find('=');
      prov.set(kv.substr(9, eq - 9), kv.substr(eq + 1));
    }
  }
  return prov;
}

// One row to measure: MPI_Alltoall (v = false) or MPI_Alltoallv with Zipf skew `skew` (0 = uniform).
struct Job {
  int64_t size = 0;
  bool v = false;
  double skew = 0;
};

// Every row of the command line, in list order, skipping sizes whose buffers exceed the cap.
std::vector<Job> jobs(const Config& cfg, int ranks) {
  const double cap = cfg.max_buffer_gib * 1073741824.0;
  std::vector<Job> out;
  for (int64_t size : mb::parse_size_list(cfg.sizes, "--sizes", cfg.size_factor)) {
    if (2.0 * double(ranks) * double(size) > cap) continue;
    out.push_back({size, false, 0});
    std::vector<double> skews{0.0};  // uniform alltoallv: the v-variant's own overhead
    skews.insert(skews.end(), cfg.skews.begin(), cfg.skews.end());
    for (double skew : skews) {
      // Buffers sized for the hottest receiver on every rank, so every rank skips the same sizes.
      const Exchange hot = make_exchange(0, ranks, size, skew);
      if (double(hot.send_total + hot.recv_total) > cap) continue;
      out.push_back({size, true, skew});
    }
  }
  return out;
}

// One pass of one job on fresh page-aligned buffers; appends its samples to `acc`.
void measure_job(Bench& bench, const Config& cfg, const mb::MeasureOptions& opt, int rank, int ranks, const Job& job,
                 mb::Measurement& acc) {
  mb::Measurement m;
  if (!job.v) {
    const int64_t size = job.size;
    PageBuffer send(size_t(ranks * size), 0, char(rank)), recv(size_t(ranks * size), size_t(cfg.recv_offset), 0);
    m = bench.time([&] { MPI_Alltoall(send.data(), int(size), MPI_BYTE, recv.data(), int(size), MPI_BYTE, MPI_COMM_WORLD); }, opt);
  } else {
    const Exchange e = make_exchange(rank, ranks, job.size, job.skew);
    PageBuffer vs(size_t(e.send_total), 0, char(rank)), vr(size_t(e.recv_total), size_t(cfg.recv_offset), 0);
    m = bench.time([&] {
      MPI_Alltoallv(vs.data(), e.send_counts.data(), e.send_displs.data(), MPI_BYTE, vr.data(), e.recv_counts.data(),
                    e.recv_displs.data(), MPI_BYTE, MPI_COMM_WORLD);
    }, opt);
  }
  mb::append_samples(acc, m);
}

mb::Record record_of(const Job& job, int ranks) {
  if (!job.v) {
    mb::Record r{.kernel = "alltoall", .size_bytes = job.size, .pattern = "uniform"};
    r.traffic_bytes = double(ranks - 1) * double(job.size);
    return r;
  }
  mb::Record v{.kernel = "alltoallv", .size_bytes = job.size};
  char pat[32];
  std::snprintf(pat, sizeof pat, job.skew == 0 ? "uniform" : "zipf%.2g", job.skew);
  v.pattern = pat;
  // Mean bytes a rank sends to other ranks; the hot rank receives hot.recv_total in all.
  int64_t off_diag = 0;
  for (int i = 0; i < ranks; ++i) off_diag += int64_t(ranks) * job.size - make_exchange(i, ranks, job.size, job.skew).send_counts[size_t(i)];
  v.traffic_bytes = double(off_diag) / ranks;
  v.note = "hot_rank_recv_bytes=" + std::to_string(make_exchange(0, ranks, job.size, job.skew).recv_total);
  return v;
}

// Every row measured in `passes` interleaved sweeps (each with 1/passes of the budget and sample
// counts, on fresh buffers), in a seeded random order per sweep when asked: drift of the machine
// and the placement of one allocation's pages spread over every size instead of biasing some.
void run(const Config& cfg, int argc, char** argv) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  const auto prov = provenance(cfg, ranks, argc, argv);
  std::optional<mb::Output> out;
  std::optional<mb::ResultWriter> writer;
  if (rank == 0) {
    out.emplace(cfg.out);
    writer.emplace(out->stream(), prov);
  }
  mb::ResultWriter* w = writer ? &*writer : nullptr;
  Bench bench(cfg, rank, ranks);
  const std::vector<Job> all = jobs(cfg, ranks);
  std::vector<mb::Measurement> acc(all.size());
  const mb::MeasureOptions opt = mb::per_pass(cfg.measure, cfg.passes);
  for (int pass = 0; pass < cfg.passes; ++pass)
    for (size_t i : mb::pass_order(all.size(), cfg.shuffle_seed, pass)) measure_job(bench, cfg, opt, rank, ranks, all[i], acc[i]);
  for (size_t i = 0; i < all.size(); ++i) bench.row(w, record_of(all[i], ranks), acc[i]);
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  Config cfg;
  cfg.measure.budget_s = 0.5;
  CLI::App app{"MPI_Alltoall / MPI_Alltoallv (uniform and skewed) latency and bandwidth; run under mpirun"};
  app.add_option("--out", cfg.out, "CSV file written by rank 0 ('-' = stdout)");
  app.add_option("--sizes", cfg.sizes, "bytes per pair, e.g. 1KiB..64MiB");
  app.add_option("--size-factor", cfg.size_factor, "step of a size range");
  app.add_option("--transport", cfg.transport, "label of the transport mpirun was given (sm, tcp)");
  app.add_option("--skews", cfg.skews, "Zipf exponents of the alltoallv counts")->delimiter(',');
  app.add_option("--max-buffer-gib", cfg.max_buffer_gib, "skip sizes needing more send+recv buffer per rank");
  app.add_option("--recv-offset", cfg.recv_offset, "receive buffers start this many bytes past a page boundary (0..4095)")
      ->check(CLI::Range(int64_t{0}, int64_t{4095}));
  app.add_option("--shuffle-seed", cfg.shuffle_seed, "measure each pass in a seeded random order (0 = as listed)");
  app.add_option("--passes", cfg.passes, "interleaved sweeps over every row, each with 1/N of the budget and samples")
      ->check(CLI::Range(1, 100));
  mb::add_measure_options(app, cfg.measure);
  int rc = 0;
  try {
    app.parse(argc, argv);
    run(cfg, argc, argv);
  } catch (const CLI::ParseError& e) {
    rc = app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "mb_alltoall: error: " << e.what() << '\n';
    MPI_Abort(MPI_COMM_WORLD, 1);  // the other ranks would wait forever in the next collective
    rc = 1;
  }
  MPI_Finalize();
  return rc;
}
