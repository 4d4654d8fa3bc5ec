// mb_gemm: GEMM and grouped GEMM throughput with OpenBLAS on the host CPU.
//
// A dense GEMM C[m x n] = A[m x k] * B[k x n] (row-major, no transposes, beta = 0) costs
// flops = 2 m n k; its minimum memory traffic is (m k + k n) * in_bytes + m n * out_bytes. The
// calibrator fits the efficiency curve eff(m) = flops_per_s / peak (hardware/spec.hpp
// GemmEfficiency) from these rows: m = tokens routed to one expert, (k, n) = the expert FFN's
// (d_model, d_ff) (up projection) or (d_ff, d_model) (down projection).
//
// Random shapes (--random-shapes N): N GEMMs whose m, n and k are drawn log-uniformly (named stream
// "gemm.random_shapes", --seed) within --random-m and --random-nk, n and k rounded to multiples of
// 16; pattern "random". They lie off the grid of --m x --kn and are held out by the calibrator
// (docs/validation.md): the shape model is checked on shapes it was not fitted on.
//
// A grouped GEMM is one MoE layer's expert computation: G experts, each with its own weights
// B_g[k x n], multiplying the rows of the tokens routed to it (counts uniform or Zipf-skewed, see
// lists.hpp zipf_split); it runs as G OpenBLAS calls in sequence ("loop": OpenBLAS 0.3.21 has no
// grouped/batched GEMM), each with all threads.
//
// Cold weights (--cold-weights-mib W > 0): the weight operand B of every call is taken in turn
// from a pool of W MiB holding as many copies of B as fit, so successive calls read weights that
// are not in any cache (W above the last-level cache). An MoE layer reads each expert's weights
// once per step, from DRAM; a benchmark that re-multiplies one B measures cache-resident weights
// instead, up to 3x faster at small m on a large-cache CPU. Rows say "weights=cold" in `note`.
#include <cblas.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "sim/core/errors.hpp"
#include "sim/core/rng.hpp"
#include "validate/common/cli.hpp"
#include "validate/common/csv.hpp"
#include "validate/common/lists.hpp"
#include "validate/common/measure.hpp"
#include "validate/common/output.hpp"
#include "validate/common/stats.hpp"

namespace mb = moesim::bench;

namespace {

using bf16 = bfloat16;  // OpenBLAS's uint16_t

// Deterministic fill in [-1, 1) (values do not change GEMM time; zeros or denormals would).
template <class T>
void fill(std::vector<T>& v, uint32_t seed) {
  uint32_t x = seed * 2654435761u + 1;
  for (auto& e : v) {
    x = x * 1664525u + 1013904223u;
    const float f = static_cast<float>(x >> 8) / 8388608.0f - 1.0f;
    if constexpr (std::is_same_v<T, bf16>) {
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      e = static_cast<bf16>(bits >> 16);
    } else {
      e = static_cast<T>(f);
    }
  }
}

void gemm(int m, int n, int k, const float* a, const float* b, float* c) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
}
void gemm(int m, int n, int k, const double* a, const double* b, double* c) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, a, k, b, n, 0.0, c, n);
}
void gemm(int m, int n, int k, const bf16* a, const bf16* b, float* c) {
#if MOESIM_HAVE_SBGEMM
  cblas_sbgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
#else
  throw moesim::ConfigError({"command line"}, "--dtypes", "bf16: this OpenBLAS has no cblas_sbgemm "
                            "(built without BUILD_BFLOAT16, as Debian 12's 0.3.21 is)");
#endif
}

template <class T> struct Out { using type = T; };
template <> struct Out<bf16> { using type = float; };

// Operands of a (grouped) GEMM layer: the tokens' activations A (rows grouped by expert), one
// weight matrix per group, and the output C.
template <class T>
struct Layer {
  using O = typename Out<T>::type;
  std::vector<int64_t> rows;  // per group
  int64_t n, k;
  std::vector<T> a;
  std::vector<std::vector<T>> b;
  std::vector<O> c;
  const T* pool = nullptr;    // cold weights: copies of a k x n matrix, used in turn
  size_t pool_copies = 0;
  size_t call = 0;

  Layer(std::vector<int64_t> rows_per_group, int64_t n_, int64_t k_) : rows(std::move(rows_per_group)), n(n_), k(k_) {
    const int64_t total = std::accumulate(rows.begin(), rows.end(), int64_t{0});
    a.resize(static_cast<size_t>(total * k));
    c.resize(static_cast<size_t>(total * n));
    fill(a, 1);
    for (size_t g = 0; g < rows.size(); ++g) {
      b.emplace_back(static_cast<size_t>(k * n));
      fill(b.back(), static_cast<uint32_t>(g + 2));
    }
  }
  void run() {
    int64_t row = 0;
    for (size_t g = 0; g < rows.size(); ++g) {
      if (rows[g] > 0)
        gemm(int(rows[g]), int(n), int(k), a.data() + row * k, weights(g), c.data() + row * n);
      row += rows[g];
    }
  }
  const T* weights(size_t g) {
    if (pool_copies == 0) return b[g].data();
    return pool + ((call++) % pool_copies) * static_cast<size_t>(k * n);
  }
  double flops() const {
    return 2.0 * double(std::accumulate(rows.begin(), rows.end(), int64_t{0})) * double(n) * double(k);
  }
  double traffic() const {  // each operand touched once
    const double t = double(std::accumulate(rows.begin(), rows.end(), int64_t{0}));
    const double weights = double(std::count_if(rows.begin(), rows.end(), [](int64_t r) { return r > 0; }));
    return (t * double(k) + weights * double(k * n)) * sizeof(T) + t * double(n) * sizeof(O);
  }
};

struct Config {
  std::string out = "-";
  std::vector<std::string> dtypes{"fp32"};
  std::string threads = "1";
  std::string m_list = "1..4096";
  std::vector<std::string> kn{"768x3072", "3072x768"};
  std::string square = "256,512,1024,2048";
  std::string groups = "8,64";
  std::string tokens = "64,512,4096";
  std::vector<double> skews{0.0, 1.0};
  std::string grouped_kn = "768x3072";
  double max_gflop = 50;      // skip a configuration whose one call exceeds this
  double max_weights_gib = 1; // skip grouped layers whose weights exceed this
  int random_shapes = 0;      // off-grid shapes (pattern "random")
  std::vector<int64_t> random_m{1, 2048};
  std::vector<int64_t> random_nk{512, 3072};
  uint64_t seed = 16;
  double cold_weights_mib = 0;  // 0: warm (one B re-used); > 0: weights from a pool of this size
  bool grid_only = false;       // only the --m x --kn grid (no random, square or grouped GEMMs)
  std::string grid_pattern = "expert_ffn";  // pattern column of the grid rows
  int passes = 1;               // interleaved sweeps over every configuration (see run)
  uint64_t shuffle_seed = 0;    // != 0: each pass in its own seeded random order
  mb::MeasureOptions measure;
};

struct Shape {
  int64_t m, n, k;
};

// Log-uniform draws in [lo, hi] from the named stream (same seed -> same shapes on every machine).
std::vector<Shape> random_shapes(const Config& cfg) {
  moesim::Rng rng(cfg.seed, "gemm.random_shapes");
  auto draw = [&](int64_t lo, int64_t hi) {
    return std::exp(rng.uniform(std::log(double(lo)), std::log(double(hi))));
  };
  auto round16 = [](double x) { return std::max<int64_t>(16, int64_t(std::llround(x / 16.0)) * 16); };
  std::vector<Shape> out;
  for (int i = 0; i < cfg.random_shapes; ++i) {
    const int64_t m = std::max<int64_t>(1, std::llround(draw(cfg.random_m.at(0), cfg.random_m.at(1))));
    const int64_t n = round16(draw(cfg.random_nk.at(0), cfg.random_nk.at(1)));
    const int64_t k = round16(draw(cfg.random_nk.at(0), cfg.random_nk.at(1)));
    out.push_back({m, n, k});
  }
  return out;
}

std::pair<int64_t, int64_t> parse_kn(const std::string& s) {
  const auto x = s.find('x');
  if (x == std::string::npos) throw moesim::ConfigError({"command line"}, "--kn", "'" + s + "' is not KxN");
  return {std::stoll(s.substr(0, x)), std::stoll(s.substr(x + 1))};
}

double elem_bytes(const std::string& dtype) { return dtype == "fp64" ? 8 : dtype == "bf16" ? 2 : 4; }

// The cold-weight pool of one element type: `elems` values, filled once (re-filled only when the
// size changes).
template <class T>
const std::vector<T>& cold_pool(size_t elems) {
  static std::vector<T> pool;
  if (pool.size() != elems) {
    pool.assign(elems, T{});
    fill(pool, 99);
  }
  return pool;
}

// One configuration to measure: its row (kernel, dtype, threads, m, pattern, note), the rows per
// group, and B's shape.
struct Job {
  mb::Record r;
  std::vector<int64_t> rows;
  int64_t n = 0, k = 0;
};

// Samples of one configuration gathered over the passes.
struct Gathered {
  mb::Measurement meas;  // per_call_s of every pass; inner and warmup of the last
  double flops = 0, traffic = 0;
  std::string weights;   // weights=cold | weights=own | empty
};

// Runs one layer configuration once (one pass) and appends its samples.
template <class T>
void bench_layer(Gathered& g, const Job& job, const mb::MeasureOptions& opt, double cold_mib) {
  Layer<T> layer(job.rows, job.n, job.k);
  if (cold_mib > 0) {
    const auto& pool = cold_pool<T>(static_cast<size_t>(cold_mib * 1048576.0 / sizeof(T)));
    layer.pool = pool.data();
    layer.pool_copies = pool.size() / static_cast<size_t>(job.k * job.n);
    if (layer.pool_copies < 2) layer.pool_copies = 0;  // one B larger than half the pool: cold anyway
    g.weights = layer.pool_copies ? "weights=cold" : "weights=own";
  }
  mb::append_samples(g.meas, mb::measure([&] { layer.run(); }, opt));
  g.flops = layer.flops();
  g.traffic = layer.traffic();
}

void bench_dtype(Gathered& g, const Job& job, const Config& cfg, const mb::MeasureOptions& opt) {
  const double cold = cfg.cold_weights_mib;
  const std::string& dtype = job.r.dtype;
  if (dtype == "fp32") bench_layer<float>(g, job, opt, cold);
  else if (dtype == "fp64") bench_layer<double>(g, job, opt, cold);
  else if (dtype == "bf16" && MOESIM_HAVE_SBGEMM) bench_layer<bf16>(g, job, opt, cold);
  else throw moesim::ConfigError({"command line"}, "--dtypes", "unknown dtype '" + dtype +
                                 "' (valid values: fp32, fp64" +
                                 std::string(MOESIM_HAVE_SBGEMM ? ", bf16" : "; bf16 needs an OpenBLAS with cblas_sbgemm") + ")");
}

void write_row(mb::ResultWriter& w, const Job& job, const Gathered& g) {
  mb::Record r = job.r;
  r.n = job.n;
  r.k = job.k;
  r.flops = g.flops;
  r.traffic_bytes = g.traffic;
  r.warmup = g.meas.warmup;
  r.inner = g.meas.inner;
  if (!g.weights.empty()) r.note += (r.note.empty() ? "" : " ") + g.weights;
  char util[48];
  std::snprintf(util, sizeof util, "cpu_per_wall=%.2f", g.meas.cpu_per_wall());
  r.note += (r.note.empty() ? "" : " ") + std::string(util);
  mb::set_timing(r, mb::summarize(g.meas.per_call_s));
  w.write(r);
}

// Every configuration of the command line, in the order the rows are written.
std::vector<Job> jobs(const Config& cfg) {
  std::vector<Job> out;
  const auto ms = mb::parse_int_list(cfg.m_list, "--m");
  for (int64_t threads : mb::parse_int_list(cfg.threads, "--threads")) {
    for (const auto& dtype : cfg.dtypes) {
      const mb::Record base{.kernel = "gemm", .device = "cpu", .dtype = dtype, .threads = threads};
      const auto add = [&](mb::Record r, std::vector<int64_t> rows, int64_t n, int64_t k) { out.push_back({std::move(r), std::move(rows), n, k}); };
      // Expert-shaped GEMMs: tokens per expert m against the FFN's (k, n).
      for (const auto& kn : cfg.kn) {
        const auto [k, n] = parse_kn(kn);
        for (int64_t m : ms) {
          if (2.0 * m * n * k > cfg.max_gflop * 1e9) continue;
          mb::Record r = base;
          r.m = m;
          r.pattern = cfg.grid_pattern;
          add(r, {m}, n, k);
        }
      }
      if (cfg.grid_only) continue;
      // Random off-grid shapes: the held-out check of the shape model.
      for (const Shape& sh : random_shapes(cfg)) {
        if (2.0 * sh.m * sh.n * sh.k > cfg.max_gflop * 1e9) continue;
        mb::Record r = base;
        r.m = sh.m;
        r.pattern = "random";
        add(r, {sh.m}, sh.n, sh.k);
      }
      // Square GEMMs: the device's practical peak.
      for (int64_t s : mb::parse_int_list(cfg.square, "--square")) {
        if (2.0 * s * s * s > cfg.max_gflop * 1e9) continue;
        mb::Record r = base;
        r.m = s;
        r.pattern = "square";
        add(r, {s}, s, s);
      }
      // Grouped GEMMs: one MoE layer's experts.
      const auto [gk, gn] = parse_kn(cfg.grouped_kn);
      for (int64_t g : mb::parse_int_list(cfg.groups, "--groups")) {
        if (double(g) * gk * gn * elem_bytes(dtype) > cfg.max_weights_gib * 1073741824.0) continue;
        for (int64_t tokens : mb::parse_int_list(cfg.tokens, "--tokens")) {
          for (double s : cfg.skews) {
            auto rows = mb::zipf_split(tokens, g, s);
            mb::Record r = base;
            r.kernel = "grouped_gemm";
            r.mode = "loop";
            r.groups = g;
            r.m = (tokens + g - 1) / g;
            char pat[32];
            std::snprintf(pat, sizeof pat, s == 0 ? "uniform" : "zipf%.2g", s);
            r.pattern = pat;
            r.note = "tokens=" + std::to_string(tokens) + " max_rows=" + std::to_string(rows.front());
            add(r, std::move(rows), gn, gk);
          }
        }
      }
    }
  }
  return out;
}

// Longer than OpenBLAS's default spin before an idle worker sleeps (2^28 cycles, ~0.1 s at 2.5 GHz).
constexpr std::chrono::milliseconds kWorkerIdle{300};

// Every configuration measured in `passes` interleaved sweeps (each with 1/passes of the budget
// and the sample counts), so slow drift of the machine (memory-bound rates on a VM moved 20-25%
// within minutes, docs/validation.md) spreads over every row instead of biasing the rows measured
// late against those measured early; rows are written after the last pass, in job order.
void run(const Config& cfg, int argc, char** argv) {
  auto prov = mb::collect_provenance("mb_gemm", argc, argv);
  prov.set("blas", openblas_get_config());
  prov.set("blas_core", openblas_get_corename());
  prov.set("threads", cfg.threads);
  prov.set("cold_weights_mib", std::to_string(cfg.cold_weights_mib));
  prov.set("passes", std::to_string(cfg.passes));
  prov.set("order", (cfg.shuffle_seed == 0 ? std::string("as listed") : "shuffled per pass, seed " + std::to_string(cfg.shuffle_seed)) +
                        "; fewest threads first in each pass, " + std::to_string(kWorkerIdle.count()) +
                        " ms pause when the thread count drops");
  mb::Output out(cfg.out);
  mb::ResultWriter w(out.stream(), prov);
  const std::vector<Job> all = jobs(cfg);
  std::vector<Gathered> gathered(all.size());
  const mb::MeasureOptions opt = mb::per_pass(cfg.measure, cfg.passes);
  for (int pass = 0; pass < cfg.passes; ++pass) {
    // Within a pass, fewest threads first (each block in the pass's shuffled order). After a call
    // with more threads, OpenBLAS's idle workers spin on the other cores for a while; a 1-thread
    // call right then shared its core's neighbour with them and ran 3-7% noisier than the
    // 2-thread calls (docs/validation.md, "Noise floor of a held-out point"). So every drop in
    // threads (once per pass) waits kWorkerIdle for the workers to go to sleep.
    std::vector<size_t> order = mb::pass_order(all.size(), cfg.shuffle_seed, pass);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return all[a].r.threads < all[b].r.threads; });
    for (size_t i : order) {
      if (all[i].r.threads < openblas_get_num_threads()) std::this_thread::sleep_for(kWorkerIdle);
      openblas_set_num_threads(int(all[i].r.threads));
      bench_dtype(gathered[i], all[i], cfg, opt);
    }
  }
  for (size_t i = 0; i < all.size(); ++i) write_row(w, all[i], gathered[i]);
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  CLI::App app{"GEMM and grouped GEMM throughput with OpenBLAS; writes a moesim microbench CSV"};
  app.add_option("--out", cfg.out, "CSV file ('-' = stdout)");
  app.add_option("--dtypes", cfg.dtypes, "fp32, fp64, bf16")->delimiter(',');
  app.add_option("--threads", cfg.threads, "OpenBLAS thread counts, e.g. 1,2");
  app.add_option("--m", cfg.m_list, "tokens per expert (rows), e.g. 1..4096");
  app.add_option("--kn", cfg.kn, "expert GEMM shapes KxN (d_model x d_ff and back)")->delimiter(',');
  app.add_option("--square", cfg.square, "square GEMM sizes");
  app.add_option("--groups", cfg.groups, "experts per grouped GEMM");
  app.add_option("--tokens", cfg.tokens, "rows (tokens x top-k) per grouped GEMM");
  app.add_option("--skews", cfg.skews, "Zipf exponents of the per-expert rows (0 = uniform)")->delimiter(',');
  app.add_option("--grouped-kn", cfg.grouped_kn, "grouped GEMM shape KxN");
  app.add_option("--max-gflop", cfg.max_gflop, "skip configurations above this many GFLOP per call");
  app.add_option("--max-weights-gib", cfg.max_weights_gib, "skip grouped layers with more weights");
  app.add_option("--random-shapes", cfg.random_shapes, "off-grid GEMMs with log-uniform random m, n, k (pattern random)");
  app.add_option("--random-m", cfg.random_m, "range of the random m, LO,HI")->delimiter(',')->expected(2);
  app.add_option("--random-nk", cfg.random_nk, "range of the random n and k, LO,HI")->delimiter(',')->expected(2);
  app.add_option("--seed", cfg.seed, "seed of the random shapes");
  app.add_flag("--grid-only", cfg.grid_only, "measure only the --m x --kn grid (no random, square or grouped GEMMs)");
  app.add_option("--pattern", cfg.grid_pattern, "pattern column of the grid rows (expert_ffn; microbench.sh's register-tile step writes tile)");
  app.add_option("--cold-weights-mib", cfg.cold_weights_mib,
                 "take each call's weights from a pool of this many MiB (above the last-level cache: weights read from DRAM, "
                 "as an MoE layer reads them); 0 = re-use one weight matrix")->check(CLI::NonNegativeNumber);
  app.add_option("--passes", cfg.passes, "interleaved sweeps over every configuration, each with 1/N of the budget and samples")
      ->check(CLI::Range(1, 100));
  app.add_option("--shuffle-seed", cfg.shuffle_seed, "measure each pass in a seeded random order (0 = as listed)");
  mb::add_measure_options(app, cfg.measure);
  CLI11_PARSE(app, argc, argv);
  return mb::run_reporting("mb_gemm", [&] { run(cfg, argc, argv); });
}
