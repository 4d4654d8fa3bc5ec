// Calibration: fits recover known parameters from synthetic result rows, the written presets load
// with the hardware readers, and bad CSVs fail naming file and line.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <tuple>

#include "hardware/compute_model.hpp"
#include "hardware/readers.hpp"
#include "hardware/storage_model.hpp"
#include "sim/core/errors.hpp"
#include "validate/calibrate/calibrate.hpp"
#include "validate/calibrate/fit.hpp"
#include "validate/calibrate/ipc_regimes.hpp"
#include "validate/calibrate/segments.hpp"
#include "validate/common/csv.hpp"

namespace moesim::calibrate {
namespace {

// Ground truth of the synthetic machine.
constexpr double kPeak = 50e9, kEffMax = 0.7, kMHalf = 24, kTriad = 12e9, kCopy = 15e9;
// Storage: two request-size regimes (small: 90 us + s / 0.8 GB/s; from 1 MiB: 200 us + s / 2 GB/s).
constexpr double kLat = 90e-6, kSeq = 2.0e9, kRand = 0.8e9, kThreshold = 1 << 20, kLatLarge = 200e-6;
constexpr double kOverhead = 2e-6, kPort = 3e9, kBus = 8e9, kCores = 2;

bench::Record gemm(int64_t m, int64_t n, int64_t k, const char* pattern, double eff) {
  bench::Record r{.kernel = "gemm", .device = "cpu", .dtype = "fp32", .m = m, .n = n, .k = k, .pattern = pattern, .threads = 2};
  r.flops = 2.0 * m * n * k;
  r.traffic_bytes = 4.0 * (m * k + k * n + m * n);
  r.flops_per_s = kPeak * eff;
  r.median_s = r.flops / r.flops_per_s;
  return r;
}

constexpr int64_t kOffGridReads[] = {102400, 307200, 3670016, 10485760, 52428800, 157286400};

bench::Record read(int64_t size, const char* pattern) {
  bench::Record r{.kernel = "storage_read", .device = "vda", .size_bytes = size, .pattern = pattern, .mode = "direct", .queue_depth = 1, .threads = 1};
  r.median_s = size >= kThreshold ? kLatLarge + size / kSeq : kLat + size / kRand;
  r.traffic_bytes = static_cast<double>(size);
  r.bytes_per_s = size / r.median_s;
  return r;
}

bench::Record a2a(int64_t size, int64_t ranks, double cores = kCores) {
  bench::Record r{.kernel = "alltoall", .device = "mpi", .size_bytes = size, .pattern = "uniform", .ranks = ranks, .transport = "sm", .threads = 1};
  IpcFit truth{kOverhead, kPort, kBus, 0, 0};
  r.median_s = ipc_time(truth, static_cast<double>(ranks), static_cast<double>(size), cores);
  return r;
}

bench::Record stream(const char* kernel, double bw) {
  bench::Record r{.kernel = kernel, .device = "cpu", .dtype = "fp64", .size_bytes = 1 << 27, .threads = 2};
  r.bytes_per_s = bw;
  r.median_s = 1;
  return r;
}

std::string csv(const std::vector<bench::Record>& rows, double cores = kCores) {
  bench::Provenance p;
  p.set("schema", bench::kResultSchema);
  p.set("host", "synthetic");
  p.set("date_utc", "2030-01-02T03:04:05Z");
  p.set("memory_total_bytes", "17179869184");
  p.set("cpu_logical_cores", fmt::format("{:g}", cores));
  std::ostringstream out;
  bench::ResultWriter w(out, p);
  for (const auto& r : rows) w.write(r);
  return out.str();
}

DataSet synthetic(double cores = kCores) {
  std::vector<bench::Record> g;
  for (int64_t m : {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048})
    g.push_back(gemm(m, 3072, 768, "expert_ffn", kEffMax * m / (m + kMHalf)));
  g.push_back(gemm(2048, 2048, 2048, "square", 1.0));
  std::vector<bench::Record> s;
  // The power-of-two grid 64 KiB..256 MiB (fitted) and six off-grid sizes (held out).
  for (int64_t sz = 1 << 16; sz <= 1 << 28; sz *= 2)
    for (const char* pat : {"seq", "rand"}) s.push_back(read(sz, pat));
  for (int64_t sz : kOffGridReads)
    for (const char* pat : {"seq", "rand"}) s.push_back(read(sz, pat));
  std::vector<bench::Record> m = {stream("stream_copy", kCopy), stream("stream_triad", kTriad)};
  std::vector<bench::Record> a;
  for (int64_t p : {2, 4, 8})
    for (int64_t sz : {1024, 8192, 65536, 524288, 4194304}) a.push_back(a2a(sz, p, cores));
  DataSet d;
  d.dir = "synthetic";
  for (auto [name, rows] : {std::pair{"gemm.csv", g}, {"storage.csv", s}, {"membw.csv", m}, {"alltoall.csv", a}}) {
    bench::Provenance prov;
    auto parsed = parse_rows(csv(rows, cores), name, &prov);
    d.provenance[name] = prov;
    d.rows.insert(d.rows.end(), parsed.begin(), parsed.end());
  }
  return d;
}

TEST(CalibrateFit, LineRecoversInterceptAndSlope) {
  std::vector<double> xs = {1e3, 1e4, 1e5, 1e6}, ys;
  for (double x : xs) ys.push_back(5e-6 + x / 2e9);
  LineFit f = fit_line_relative(xs, ys);
  EXPECT_NEAR(f.intercept, 5e-6, 1e-12);
  EXPECT_NEAR(1.0 / f.slope, 2e9, 1e3);
  EXPECT_LT(f.rms_rel, 1e-9);
  EXPECT_FALSE(f.clamped);
}

TEST(CalibrateFit, NegativeInterceptIsClampedToZero) {
  LineFit f = fit_line_relative({1, 2, 3}, {0.5, 1.6, 2.7});  // exact line has intercept -0.6
  EXPECT_TRUE(f.clamped);
  EXPECT_EQ(f.intercept, 0.0);
  EXPECT_GT(f.slope, 0.0);
}

TEST(CalibrateFit, RampRecoversEffMaxAndMHalf) {
  std::vector<double> ms = {1, 4, 16, 64, 256, 1024}, effs;
  for (double m : ms) effs.push_back(0.62 * m / (m + 37));
  RampFit f = fit_ramp(ms, effs);
  EXPECT_NEAR(f.eff_max, 0.62, 1e-4);
  EXPECT_NEAR(f.m_half, 37, 0.05);
  EXPECT_LT(f.rms, 1e-5);
}

TEST(CalibrateFit, ErrorStatsArePercentiles) {
  ErrorStats s = error_stats({10, 0, 30, 20, 40});
  EXPECT_EQ(s.count, 5);
  EXPECT_DOUBLE_EQ(s.median, 20);
  EXPECT_DOUBLE_EQ(s.p90, 36);
  EXPECT_DOUBLE_EQ(s.max, 40);
  EXPECT_DOUBLE_EQ(abs_pct_error(110, 100), 10);
}

TEST(Calibrate, SplitFitsEvenSizesAndHoldsOutOdd) {
  DataSet d = synthetic();
  Calibration c = calibrate(d, "synth");
  ASSERT_TRUE(c.device);
  ASSERT_EQ(c.device->held_out.size(), 6u);
  for (const Row* r : c.device->held_out) EXPECT_TRUE(r->r.m == 2 || r->r.m == 8 || r->r.m == 32 || r->r.m == 128 || r->r.m == 512 || r->r.m == 2048) << r->r.m;
  ASSERT_TRUE(c.storage);
  EXPECT_EQ(c.storage->held_out.size(), 12u);  // 6 off-grid sizes x (seq, rand)
  for (const Row* r : c.storage->held_out) EXPECT_FALSE(on_grid(static_cast<double>(r->r.size_bytes))) << r->r.size_bytes;
  ASSERT_EQ(c.links.size(), 1u);
  EXPECT_EQ(c.links[0].held_out.size(), 6u);  // sizes 8192 and 524288 at P = 2, 4 and 8
}

TEST(Calibrate, RecoversDeviceParameters) {
  const DataSet data = synthetic();  // outlives c: c's rows point into it
  Calibration c = calibrate(data, "synth");
  const auto& d = c.device->spec;
  EXPECT_NEAR(d.peak.at(hw::Dtype::fp32).value, kPeak, kPeak * 1e-6);
  EXPECT_NEAR(d.gemm.eff_max, kEffMax, 1e-3);
  EXPECT_NEAR(d.gemm.m_half, kMHalf, 0.05);
  EXPECT_NEAR(d.memory_bandwidth.value, kCopy, 1);
  EXPECT_NEAR(d.memory_bandwidth.value * d.memory_efficiency, kTriad, 1e3);
  EXPECT_NEAR(d.memory_capacity.value, 17179869184.0, 1);
}

TEST(Calibrate, RecoversStorageRegimes) {
  const DataSet data = synthetic();  // outlives c: c's rows point into it
  Calibration c = calibrate(data, "synth");
  const auto& s = c.storage->spec;
  ASSERT_EQ(s.regimes.size(), 2u);  // BIC: a third regime does not pay for itself on exact data
  EXPECT_NEAR(s.regimes[0].latency.value, kLat, 1e-9);
  EXPECT_NEAR(s.regimes[0].bandwidth.value, kRand, kRand * 1e-6);
  EXPECT_NEAR(s.regimes[1].latency.value, kLatLarge, 1e-9);
  EXPECT_NEAR(s.regimes[1].bandwidth.value, kSeq, kSeq * 1e-6);
  // The boundary is the first large fitted size (1 MiB), where the device switches.
  EXPECT_EQ(s.regimes[1].from.value, 1048576.0);
  EXPECT_NEAR(s.read_latency.value, kLat, 1e-9);
  // The held-out off-grid reads are predicted by the fitted regimes (to the CSV's precision).
  for (const Row* r : c.storage->held_out) {
    const double t = hw::read_time(s, Bytes(static_cast<double>(r->r.size_bytes))).value;
    EXPECT_LT(abs_pct_error(t, r->r.median_s), 0.01) << r->r.size_bytes;  // % (CSV keeps 6 digits)
  }
}

TEST(CalibrateFit, ContiguousPartitionsAndBic) {
  // 4 items, parts of >= 2: {0..3} and {0,1 | 2,3}.
  auto p = contiguous_partitions(4, 3, 2);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0], (std::vector<size_t>{0}));
  EXPECT_EQ(p[1], (std::vector<size_t>{0, 2}));
  EXPECT_EQ(contiguous_partitions(5, 5, 1).size(), 16u);  // 2^(n-1) compositions
  EXPECT_LT(bic(1e-4, 20, 2), bic(1e-4, 20, 5));            // same fit, fewer parameters wins
  EXPECT_DOUBLE_EQ(regime_boundary(4, 16), 16);  // the gap (4, 16) belongs to the lower regime
}

TEST(CalibrateFit, IpcRegimesRecoverEagerRendezvousAndDramRate) {
  // Truth: o = 0.5 us below 4 KiB (eager), 12 us above (rendezvous); from 1 MiB copies run at
  // 40% of the cache rate. Ports 3 GB/s (bind at P = 2), bus 10 GB/s (binds at P = 4, 8), 2 cores.
  IpcRegimeFit truth;
  truth.port_bw = 3e9;
  truth.bus_bw = 10e9;
  truth.regimes = {{0, 0.5e-6, 1.0}, {4096, 12e-6, 1.0}, {1048576, 12e-6, 0.4}};
  std::vector<IpcPoint> pts;
  for (double p : {2.0, 4.0, 8.0})
    for (double s = 256; s <= 64 * 1048576.0; s *= 4) pts.push_back({p, s, ipc_time(truth, p, s, 2)});
  const IpcRegimeFit m = fit_ipc_regimes(pts, 2, 3);
  ASSERT_EQ(m.regimes.size(), 3u);
  EXPECT_NEAR(m.regimes[0].overhead, 0.5e-6, 1e-9);
  EXPECT_NEAR(m.regimes[1].overhead, 12e-6, 1e-8);
  EXPECT_NEAR(m.regimes[2].efficiency, 0.4, 1e-3);
  EXPECT_NEAR(m.port_bw, 3e9, 3e9 * 1e-3);
  EXPECT_NEAR(m.bus_bw, 10e9, 10e9 * 1e-3);
  EXPECT_LT(m.rms_rel, 1e-4);
  // Held-out sizes between the fitted ones, inside each regime, are predicted.
  for (double s : {1500.0, 50000.0, 3e6})
    for (double p : {2.0, 4.0, 8.0}) EXPECT_LT(abs_pct_error(ipc_time(m, p, s, 2), ipc_time(truth, p, s, 2)), 0.5) << s;
}

// The synthetic data set with its gemm.csv rows replaced by `g`.
DataSet with_gemm_rows(const std::vector<bench::Record>& g) {
  DataSet d = synthetic();
  std::erase_if(d.rows, [](const Row& r) { return r.file == "gemm.csv"; });
  auto parsed = parse_rows(csv(g), "gemm.csv", nullptr);
  d.rows.insert(d.rows.end(), parsed.begin(), parsed.end());
  return d;
}

TEST(Calibrate, GemmShapeTableHoldsOutRandomShapes) {
  // Grid m in {1..256} x (k, n) in {512x512, 1024x2048, 2048x2048}, efficiency a power law in
  // (m, nk) (log eff linear in (log2 m, log2 nk)) so the table interpolates it exactly; six random
  // shapes held out.
  auto eff = [](double m, double nk) { return 0.05 * std::pow(m, 0.4) * std::pow(nk / 262144.0, 0.1); };
  std::vector<bench::Record> g;
  for (auto [k, n] : {std::pair<int64_t, int64_t>{512, 512}, {1024, 2048}, {2048, 2048}})
    for (int64_t m = 1; m <= 256; m *= 2) g.push_back(gemm(m, n, k, "expert_ffn", eff(m, double(n * k))));
  for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{3, 600, 700}, {7, 1500, 900}, {20, 2000, 1000},
                         {50, 800, 1800}, {100, 1200, 1200}, {200, 2040, 1900}})
    g.push_back(gemm(m, n, k, "random", eff(m, double(n * k))));
  g.push_back(gemm(2048, 2048, 2048, "square", 1.0));
  const DataSet d = with_gemm_rows(g);
  Calibration c = calibrate(d, "synth");
  const auto& dev = c.device->spec;
  EXPECT_EQ(dev.gemm.shapes.size(), 27u);
  ASSERT_EQ(c.device->held_out.size(), 6u);
  for (const Row* r : c.device->held_out) {
    EXPECT_EQ(r->r.pattern, "random");
    const double t = hw::op_time(dev, Flops(r->r.flops), Bytes(r->r.traffic_bytes), hw::Dtype::fp32, r->r.m, 1).value;
    EXPECT_LT(abs_pct_error(t, r->r.median_s), 0.01) << r->r.m;  // % (CSV keeps 6 digits)
  }
}

TEST(Calibrate, GemmShapeTableFitsOneGridPerRowPitchAlignment) {
  // Rows whose B pitch is 64-B aligned (n = 528, 2064: 2112 B, 8256 B) run 1.5x faster than
  // 1-KiB-aligned ones (n = 512, 2048): the calibrator keeps two grids, and random shapes are
  // predicted from the grid of their own alignment (a pitch below 64 B is held at the 64-B grid).
  auto eff = [](double m, double nk, double align) {
    return (align <= 64 ? 1.5 : 1.0) * 0.05 * std::pow(m, 0.4) * std::pow(nk / 262144.0, 0.1);
  };
  std::vector<bench::Record> g;
  for (int64_t d : {0, 16})
    for (auto [k, n] : {std::pair<int64_t, int64_t>{512, 512}, {1024, 2048}})
      for (int64_t m = 1; m <= 256; m *= 2) {
        const double align = std::min(hw::gemm_row_align(n + d, 4.0), 1024.0);
        g.push_back(gemm(m, n + d, k, "expert_ffn", eff(m, double((n + d) * k), align)));
      }
  for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{3, 600, 700}, {20, 1040, 1000}, {50, 1024, 1800},
                         {100, 2064, 1000}, {200, 1536, 700}})
    g.push_back(gemm(m, n, k, "random", eff(m, double(n * k), std::min(hw::gemm_row_align(n, 4.0), 1024.0))));
  g.push_back(gemm(2048, 2048, 2048, "square", 1.0));
  const DataSet d = with_gemm_rows(g);
  Calibration c = calibrate(d, "synth");
  const auto& dev = c.device->spec;
  ASSERT_EQ(dev.gemm.shapes.size(), 36u);  // 2 levels x 2 nk x 9 m
  EXPECT_EQ(dev.gemm.shapes.front().align, 64.0);
  EXPECT_EQ(dev.gemm.shapes.back().align, 1024.0);
  ASSERT_EQ(c.device->held_out.size(), 5u);
  for (const Row* r : c.device->held_out) {
    const double t = hw::op_time(dev, Flops(r->r.flops), Bytes(r->r.traffic_bytes), hw::Dtype::fp32, r->r.m, 1, r->r.n).value;
    EXPECT_LT(abs_pct_error(t, r->r.median_s), 0.01) << r->r.m << " x " << r->r.n;
  }
}

TEST(Calibrate, RecoversIpcOverheadPortAndBus) {
  // On 8 cores P = 2, 4, 8 each have their own: o, B_port and B_bus are all identified.
  const DataSet data = synthetic(8);  // outlives c: c's rows point into it
  Calibration c = calibrate(data, "synth");
  const auto& l = c.links.at(0);
  EXPECT_EQ(l.cores, 8);
  EXPECT_FALSE(l.shared);
  EXPECT_NEAR(l.spec.message_overhead.value, kOverhead, kOverhead * 0.01);
  EXPECT_NEAR(l.spec.bandwidth.value, kPort, kPort * 0.01);
  EXPECT_NEAR(l.bus.bandwidth.value, kBus, kBus * 0.01);
  EXPECT_EQ(l.spec.latency.value, 0.0);
}

TEST(Calibrate, TheLinkComesFromRanksOnTheirOwnCores) {
  // On 2 cores only P = 2 has its own cores: the link (o, B_port) comes from it alone, B_bus is
  // not identified (2 B_port, said in the preset); P = 4, 8 are predicted by the rule fit over
  // every rank count, which recovers the synthetic truth (made with the rule).
  const DataSet data = synthetic(2);
  Calibration c = calibrate(data, "synth");
  const auto& l = c.links.at(0);
  EXPECT_NEAR(l.spec.message_overhead.value, kOverhead, kOverhead * 0.01);
  EXPECT_NEAR(l.spec.bandwidth.value, kPort, kPort * 0.01);  // the port binds at P = 2 (3 < 8/2 GB/s)
  EXPECT_NEAR(l.bus.bandwidth.value, 2 * kPort, kPort * 0.02);
  EXPECT_NE(l.bus_why.find("not identified"), std::string::npos) << l.bus_why;
  ASSERT_TRUE(l.shared);
  EXPECT_NEAR(l.shared->port.message_overhead.value, kOverhead, kOverhead * 0.01);
  EXPECT_NEAR(l.shared->bus.bandwidth.value, kBus, kBus * 0.01);
  EXPECT_NE(link_toml(c, l, data).find("those sharing the cores are predicted"), std::string::npos);
}

TEST(Calibrate, FitGridIsTwoToTheKAndThreeTimesIt) {
  EXPECT_TRUE(on_grid(4096));
  EXPECT_TRUE(on_grid(3 * 4096));
  EXPECT_TRUE(on_grid(1536));
  EXPECT_FALSE(on_grid(5 * 4096));
  EXPECT_FALSE(on_grid(29952));
  EXPECT_FALSE(on_grid(0));
}

TEST(CalibrateFit, IpcOversubscriptionStretchesOverheadAndPort) {
  IpcFit m{1e-6, 4e9, 1e15, 0, 0};  // bus never binds
  // P = 2 on 2 cores: one message at the port rate; P = 8: 7 messages each 4x slower.
  EXPECT_NEAR(ipc_time(m, 2, 4e6, 2), 1e-6 + 4e6 / 4e9, 1e-12);
  EXPECT_NEAR(ipc_time(m, 8, 4e6, 2), 7 * 1e-6 * 4 + 7 * 4e6 / 4e9, 1e-12);
  m.bus_bw = 1e9;  // now the bus binds: P (P-1) s / B_bus
  EXPECT_NEAR(ipc_time(m, 4, 1e6, 2), 3 * 1e-6 * 2 + 12 * 1e6 / 1e9, 1e-12);
}

TEST(Calibrate, WrittenPresetsLoadWithTheReaders) {
  DataSet d = synthetic();
  Calibration c = calibrate(d, "synth");
  auto dev = hw::read_device(config::Table::root(*std::make_unique<config::Document>(config::Document::parse(device_toml(c, d), "dev.toml"))));
  auto doc_s = config::Document::parse(storage_toml(c, d), "st.toml");
  auto st = hw::read_storage(config::Table::root(doc_s));
  auto doc_l = config::Document::parse(link_toml(c, c.links[0], d), "link.toml");
  auto link = hw::read_link(config::Table::root(doc_l));
  EXPECT_NEAR(dev.peak.at(hw::Dtype::fp32).value, kPeak, kPeak * 1e-5);
  EXPECT_NEAR(dev.gemm.m_half, c.device->spec.gemm.m_half, 1e-3 * c.device->spec.gemm.m_half);
  EXPECT_NEAR(st.read_latency.value, c.storage->spec.read_latency.value, 1e-9);
  EXPECT_NEAR(link.bandwidth.value, c.links[0].spec.bandwidth.value, kPort * 1e-5);
  EXPECT_NEAR(link.message_overhead.value, c.links[0].spec.message_overhead.value, 1e-11);
  auto doc_b = config::Document::parse(bus_toml(c, c.links[0], d), "bus.toml");
  EXPECT_NEAR(hw::read_link(config::Table::root(doc_b)).bandwidth.value, c.links[0].bus.bandwidth.value, kBus * 1e-5);
  EXPECT_NE(device_toml(c, d).find("gemm.csv lines"), std::string::npos);  // provenance of the fit
}

TEST(CalibrateRows, BadNumberNamesFileAndLine) {
  std::string text = "# host: x\nkernel,m,median_s\ngemm,4,0.1\ngemm,abc,0.2\n";
  try {
    parse_rows(text, "gemm.csv", nullptr);
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("gemm.csv:4:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("abc"), std::string::npos) << e.what();
  }
}

TEST(CalibrateRows, WrongCellCountAndMissingHeaderAreErrors) {
  EXPECT_THROW(parse_rows("kernel,m\ngemm,1,2\n", "a.csv", nullptr), IoError);
  try {
    parse_rows("# only comments\n", "b.csv", nullptr);
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("b.csv:1:"), std::string::npos) << e.what();
  }
}

TEST(CalibrateRows, RealQuickRunDataCalibrates) {
  const std::string dir = std::string(MOESIM_SOURCE_DIR) + "/validate/data/vm-2026-11-23";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "no quick-run data";
  DataSet d = read_data_dir(dir);
  Calibration c = calibrate(d, "vm");
  EXPECT_GT(c.device->spec.peak.at(hw::Dtype::fp32).value, 1e9);
  EXPECT_TRUE(c.storage.has_value());
  // Both transports fit the oversubscribed IPC model with physical parameters.
  ASSERT_EQ(c.links.size(), 2u);
  for (const auto& l : c.links) {
    SCOPED_TRACE(l.transport);
    EXPECT_GT(l.spec.message_overhead.value, 1e-8);
    EXPECT_LT(l.spec.message_overhead.value, 1e-3);
    EXPECT_GT(l.bus.bandwidth.value, 1e8);
  }
}

}  // namespace

namespace {

// A GEMM of a CPU whose micro-kernel works in tiles of 16 rows (the AMD EPYC measurement of
// docs/validation.md "GEMM tile remainder", in shape): per weight element, t/nk = T0 + q·C + R(r)
// for m = 16q + r, R rising to 12 leftover rows and falling after, so t(44) > t(64).
double tile_ns(int64_t r) {
  if (r <= 4) return 0.075 * static_cast<double>(r);
  if (r <= 8) return 0.3;
  if (r <= 12) return 0.3 + 0.07 * static_cast<double>(r - 8);
  return 0.58 - 0.08 * static_cast<double>(r - 12);
}
double tile_time(int64_t m, int64_t n, int64_t k) {
  return static_cast<double>(n * k) * 1e-9 * (0.3 + 0.4 * static_cast<double>(m / 16) + tile_ns(m % 16));
}
bench::Record timed_gemm(int64_t m, int64_t n, int64_t k, const char* pattern, double seconds) {
  bench::Record r = gemm(m, n, k, pattern, 1.0);
  r.median_s = seconds;
  r.flops_per_s = r.flops / seconds;
  return r;
}

}  // namespace

TEST(Calibrate, GemmTileFindsThePeriodAndRemainderCosts) {
  std::vector<bench::Record> g;
  const std::vector<std::pair<int64_t, int64_t>> kn = {{512, 512}, {1024, 2048}, {2048, 1024}};
  for (auto [k, n] : kn) {
    for (int64_t m = 1; m <= 16; ++m) g.push_back(timed_gemm(m, n, k, "expert_ffn", tile_time(m, n, k)));
    for (int64_t m = 32; m <= 128; m += 16) g.push_back(timed_gemm(m, n, k, "expert_ffn", tile_time(m, n, k)));
  }
  // The tile step (another run, two of the shapes, m = 16..48), 20% slower throughout: drift
  // between runs. Its pairs are taken within the run, so rho comes out 1.2 x R; a pair across
  // runs (t_tile(17) - t_grid(16)) would not.
  for (int64_t m = 16; m <= 48; ++m)
    for (auto [k, n] : {kn[1], kn[2]}) g.push_back(timed_gemm(m, n, k, "tile", 1.2 * tile_time(m, n, k)));
  for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{44, 600, 700}, {77, 1500, 900}, {21, 2000, 1000},
                         {100, 800, 1800}, {63, 1200, 1200}, {13, 2040, 1900}})
    g.push_back(timed_gemm(m, n, k, "random", tile_time(m, n, k)));
  g.push_back(gemm(2048, 2048, 2048, "square", 1.0));
  const DataSet d = with_gemm_rows(g);
  Calibration c = calibrate(d, "synth");
  const auto& dev = c.device->spec;
  ASSERT_EQ(dev.gemm.tile_rows, 16);
  ASSERT_EQ(dev.gemm.remainder.size(), 15u);
  for (const auto& x : dev.gemm.remainder) EXPECT_NEAR(x.per_weight.value * 1e9, 1.2 * tile_ns(x.rows), 1e-5) << x.rows;
  EXPECT_EQ(dev.gemm.shapes.size(), 2u * 23u);  // 2 distinct n·k x (m = 1..16, 32..128 by 16): remainder rows are not cells
  ASSERT_EQ(c.device->held_out.size(), 6u);
  for (const Row* r : c.device->held_out) {  // table from the grid run, rho from the drifted one
    const double t = hw::op_time(dev, Flops(r->r.flops), Bytes(r->r.traffic_bytes), hw::Dtype::fp32, r->r.m, 1, r->r.n).value;
    const int64_t rest = r->r.m > 16 ? r->r.m % 16 : 0;
    const double drift = 0.2 * static_cast<double>(r->r.n * r->r.k) * 1e-9 * tile_ns(rest);
    EXPECT_LT(abs_pct_error(t, r->r.median_s + drift), 0.01) << r->r.m;
  }
  // The written preset carries the tile and reads back.
  auto doc = config::Document::parse(device_toml(c, d), "dev.toml");
  const auto back = hw::read_device(config::Table::root(doc));
  EXPECT_EQ(back.gemm.tile_rows, 16);
  EXPECT_NEAR(back.gemm.remainder[11].per_weight.value * 1e9, 1.2 * tile_ns(12), 1e-5);
}

TEST(Calibrate, GemmTileIsNotFittedToASmoothTime) {
  // t linear in m: every period predicts the held-back rows exactly, and so does linear
  // interpolation between multiples: no tile, and a note says why.
  std::vector<bench::Record> g;
  for (auto [k, n] : {std::pair<int64_t, int64_t>{1024, 2048}, {2048, 1024}})
    for (int64_t m = 1; m <= 128; ++m) g.push_back(timed_gemm(m, n, k, "expert_ffn", static_cast<double>(n * k) * 1e-9 * (0.3 + 0.03 * m)));
  for (int64_t m : {5, 50, 77, 99}) g.push_back(timed_gemm(m, 1000, 1000, "random", 1e-3 * (0.3 + 0.03 * m)));
  g.push_back(gemm(2048, 2048, 2048, "square", 1.0));
  const DataSet d = with_gemm_rows(g);
  Calibration c = calibrate(d, "synth");
  EXPECT_EQ(c.device->spec.gemm.tile_rows, 0);
  EXPECT_TRUE(std::any_of(c.notes.begin(), c.notes.end(), [](const std::string& n) { return n.find("no tile") != std::string::npos; }));
}

// A later file measuring some of gemm.csv's points again replaces exactly those rows; a file of
// the same date adds to them.
TEST(CalibrateRows, LaterMeasurementOfAPointSupersedesTheEarlierOne) {
  const auto add_file = [](DataSet& d, const std::string& name, const std::string& date, const std::vector<bench::Record>& rows) {
    std::string text = csv(rows);
    const std::string old_date = "2030-01-02T03:04:05Z";
    text.replace(text.find(old_date), old_date.size(), date);
    bench::Provenance prov;
    auto parsed = parse_rows(text, name, &prov);
    d.provenance[name] = prov;
    d.rows.insert(d.rows.end(), parsed.begin(), parsed.end());
  };
  const auto count = [](const DataSet& d, const std::string& file, int64_t m) {
    return std::count_if(d.rows.begin(), d.rows.end(), [&](const Row& r) { return r.file == file && r.r.m == m; });
  };
  DataSet d = synthetic();
  const size_t before = d.rows.size();
  add_file(d, "gemm-fresh.csv", "2030-01-02T05:00:00Z", {gemm(4, 3072, 768, "expert_ffn", 0.5), gemm(8, 3072, 768, "expert_ffn", 0.5)});
  add_file(d, "gemm-same-date.csv", "2030-01-02T03:04:05Z", {gemm(16, 3072, 768, "expert_ffn", 0.5)});
  add_file(d, "gemm-other-threads.csv", "2030-01-03T00:00:00Z", {[] {
             auto r = gemm(32, 3072, 768, "expert_ffn", 0.5);
             r.threads = 1;
             return r;
           }()});
  drop_superseded(d);
  EXPECT_EQ(count(d, "gemm.csv", 4), 0);
  EXPECT_EQ(count(d, "gemm.csv", 8), 0);
  EXPECT_EQ(count(d, "gemm-fresh.csv", 4), 1);
  EXPECT_EQ(count(d, "gemm.csv", 16), 1);  // same date: both kept (averaged by the fit)
  EXPECT_EQ(count(d, "gemm-same-date.csv", 16), 1);
  EXPECT_EQ(count(d, "gemm.csv", 32), 1);  // another thread count is another point
  EXPECT_EQ(d.rows.size(), before + 4 - 2);
  ASSERT_EQ(d.notes.size(), 1u);
  EXPECT_NE(d.notes[0].find("2 rows of gemm.csv superseded"), std::string::npos) << d.notes[0];
}

}  // namespace moesim::calibrate
