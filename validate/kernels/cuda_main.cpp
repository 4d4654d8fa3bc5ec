// mb_cuda: the GPU versions of the microbenchmarks, writing the same CSV schema as the host
// kernels (record.hpp): cuBLAS GEMM by shape and dtype, grouped GEMM (a loop of GEMMs and one
// cublasGemmGroupedBatchedEx), HBM copy and triad, pinned and pageable H2D / D2H copies.
// Work counted: GEMM flops = 2 m n k, traffic = (m k + k n) in_bytes + m n out_bytes; D2D copy
// traffic = 2 * bytes (read + write); triad = 3 * bytes (STREAM convention); H2D/D2H = bytes.
#include <CLI/CLI.hpp>
#include <iostream>

#include "validate/common/cli.hpp"
#include "validate/common/csv.hpp"
#include "validate/common/lists.hpp"
#include "validate/common/output.hpp"
#include "validate/common/stats.hpp"
#include "validate/kernels/cuda_ops.hpp"

namespace mb = moesim::bench;
namespace cu = moesim::bench::cuda;

namespace {

struct Config {
  std::string out = "-";
  int device = 0;
  std::vector<std::string> dtypes{"fp32", "tf32", "bf16", "fp16"};
  std::string m_list = "1..8192";
  std::vector<std::string> kn{"4096x14336", "14336x4096"};  // Mixtral-8x7B expert FFN
  std::string square = "1024..16384";
  std::string groups = "8,64,256";
  std::string tokens = "256,4096,65536";
  std::vector<double> skews{0.0, 1.0};
  std::string grouped_kn = "7168x2048";  // DeepSeek-V3 routed expert (d_model x moe_intermediate)
  std::string copy_sizes = "1MiB..4GiB";
  std::string host_sizes = "4KiB..1GiB";
  double max_weights_gib = 16;
  bool grid_only = false;                   // only the --m x --kn grid (no squares, grouped GEMMs or copies)
  std::string grid_pattern = "expert_ffn";  // pattern column of the grid rows (the tile step writes tile)
  cu::TimingOptions timing;
};

std::pair<int64_t, int64_t> parse_kn(const std::string& s) {
  const auto x = s.find('x');
  if (x == std::string::npos) throw std::runtime_error("'" + s + "' is not KxN");
  return {std::stoll(s.substr(0, x)), std::stoll(s.substr(x + 1))};
}

double in_bytes(const std::string& d) { return d == "bf16" || d == "fp16" ? 2 : 4; }

void write(mb::ResultWriter& w, mb::Record r, const cu::Timing& t) {
  if (t.per_call_s.empty()) {  // a variant this cuBLAS cannot run: say so in a row without times
    r.note = t.note;
    w.write(r);
    return;
  }
  r.warmup = t.warmup;
  r.inner = t.inner;
  if (!t.note.empty()) r.note = t.note;
  mb::set_timing(r, mb::summarize(t.per_call_s));
  w.write(r);
}

mb::Record gemm_record(const std::string& dev, const std::string& dtype, int64_t total_rows, int64_t n, int64_t k,
                       int64_t weights) {
  mb::Record r{.kernel = "gemm", .device = dev, .dtype = dtype, .n = n, .k = k, .threads = 1};
  r.flops = 2.0 * double(total_rows) * double(n) * double(k);
  const double ib = in_bytes(dtype);
  r.traffic_bytes = (double(total_rows) * k + double(weights) * k * n) * ib + double(total_rows) * n * ib;
  return r;
}

void bench_gemms(mb::ResultWriter& w, const Config& cfg, const std::string& dev) {
  for (const auto& dtype : cfg.dtypes) {
    for (const auto& kn : cfg.kn) {
      const auto [k, n] = parse_kn(kn);
      for (int64_t m : mb::parse_int_list(cfg.m_list, "--m")) {
        auto r = gemm_record(dev, dtype, m, n, k, 1);
        r.m = m;
        r.pattern = cfg.grid_pattern;
        write(w, r, cu::time_gemm(dtype, m, n, k, cfg.timing));
      }
    }
    if (cfg.grid_only) continue;
    for (int64_t s : mb::parse_int_list(cfg.square, "--square")) {
      auto r = gemm_record(dev, dtype, s, s, s, 1);
      r.m = s;
      r.pattern = "square";
      write(w, r, cu::time_gemm(dtype, s, s, s, cfg.timing));
    }
    const auto [gk, gn] = parse_kn(cfg.grouped_kn);
    for (int64_t g : mb::parse_int_list(cfg.groups, "--groups")) {
      if (double(g) * gk * gn * in_bytes(dtype) > cfg.max_weights_gib * 1073741824.0) continue;
      for (int64_t tokens : mb::parse_int_list(cfg.tokens, "--tokens"))
        for (double s : cfg.skews) {
          const auto rows = mb::zipf_split(tokens, g, s);
          int64_t used = 0;
          for (int64_t x : rows) used += x > 0;
          for (const char* mode : {"loop", "grouped"}) {
            auto r = gemm_record(dev, dtype, tokens, gn, gk, used);
            r.kernel = "grouped_gemm";
            r.mode = mode;
            r.groups = g;
            r.m = (tokens + g - 1) / g;
            char pat[32];
            std::snprintf(pat, sizeof pat, s == 0 ? "uniform" : "zipf%.2g", s);
            r.pattern = pat;
            r.note = "tokens=" + std::to_string(tokens) + " max_rows=" + std::to_string(rows.front());
            write(w, r, cu::time_grouped_gemm(dtype, rows, gn, gk, mode, cfg.timing));
          }
        }
    }
  }
}

void bench_copies(mb::ResultWriter& w, const Config& cfg, const std::string& dev, int64_t memory) {
  for (int64_t bytes : mb::parse_size_list(cfg.copy_sizes, "--copy-sizes", 4)) {
    if (3 * bytes > memory / 2) continue;
    mb::Record r{.kernel = "d2d_copy", .device = dev, .size_bytes = bytes, .threads = 1};
    r.traffic_bytes = 2.0 * double(bytes);
    write(w, r, cu::time_d2d_copy(bytes, cfg.timing));
    r.kernel = "stream_triad";
    r.dtype = "fp64";
    r.traffic_bytes = 3.0 * double(bytes);
    r.flops = 2.0 * double(bytes) / 8;
    write(w, r, cu::time_triad(bytes, cfg.timing));
  }
  for (int64_t bytes : mb::parse_size_list(cfg.host_sizes, "--host-sizes", 4))
    for (bool pinned : {true, false})
      for (bool h2d : {true, false}) {
        mb::Record r{.kernel = h2d ? "h2d" : "d2h", .device = dev, .size_bytes = bytes,
                     .transport = pinned ? "pinned" : "pageable", .threads = 1};
        r.traffic_bytes = double(bytes);
        write(w, r, cu::time_host_copy(h2d, pinned, bytes, cfg.timing));
      }
}

void run(const Config& cfg, int argc, char** argv) {
  const cu::DeviceInfo info = cu::device_info(cfg.device);
  auto prov = mb::collect_provenance("mb_cuda", argc, argv);
  prov.set("gpu", info.name);
  prov.set("gpu_compute_capability", std::to_string(info.cc_major) + "." + std::to_string(info.cc_minor));
  prov.set("gpu_sm_count", std::to_string(info.sm_count));
  prov.set("gpu_memory_bytes", std::to_string(info.memory_bytes));
  prov.set("cuda_runtime", std::to_string(info.runtime_version));
  prov.set("cuda_driver", std::to_string(info.driver_version));
  prov.set("cublas", std::to_string(info.cublas_version));
  mb::Output out(cfg.out);
  mb::ResultWriter w(out.stream(), prov);
  const std::string dev = "cuda:" + std::to_string(cfg.device);
  bench_gemms(w, cfg, dev);
  if (!cfg.grid_only) bench_copies(w, cfg, dev, info.memory_bytes);
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  CLI::App app{"CUDA microbenchmarks (cuBLAS GEMM / grouped GEMM, HBM copy, H2D/D2H); moesim microbench CSV"};
  app.add_option("--out", cfg.out, "CSV file ('-' = stdout)");
  app.add_option("--device", cfg.device, "CUDA device index");
  app.add_option("--dtypes", cfg.dtypes, "fp32, tf32, bf16, fp16")->delimiter(',');
  app.add_option("--m", cfg.m_list, "tokens per expert (rows)");
  app.add_option("--kn", cfg.kn, "expert GEMM shapes KxN")->delimiter(',');
  app.add_option("--square", cfg.square, "square GEMM sizes");
  app.add_option("--groups", cfg.groups, "experts per grouped GEMM");
  app.add_option("--tokens", cfg.tokens, "rows per grouped GEMM");
  app.add_option("--skews", cfg.skews, "Zipf exponents of the per-expert rows")->delimiter(',');
  app.add_option("--grouped-kn", cfg.grouped_kn, "grouped GEMM shape KxN");
  app.add_option("--copy-sizes", cfg.copy_sizes, "device copy / triad sizes (range steps x4)");
  app.add_option("--host-sizes", cfg.host_sizes, "H2D/D2H sizes (range steps x4)");
  app.add_option("--max-weights-gib", cfg.max_weights_gib, "skip grouped layers with more weights");
  app.add_flag("--grid-only", cfg.grid_only, "measure only the --m x --kn grid (no squares, grouped GEMMs or copies)");
  app.add_option("--pattern", cfg.grid_pattern, "pattern column of the grid rows (expert_ffn; the register-tile step writes tile)");
  app.add_option("--warmup", cfg.timing.warmup, "warm-up calls");
  app.add_option("--reps", cfg.timing.reps, "timed samples");
  CLI11_PARSE(app, argc, argv);
  return mb::run_reporting("mb_cuda", [&] { run(cfg, argc, argv); });
}
