// Storage regimes from O_DIRECT queue-depth-1 reads (docs/validation.md, "Storage regimes").
//
// t(s) = L_r + s / B_r for requests in regime r (hardware/storage_model.hpp). The fitted sizes
// are cut into contiguous regimes (segments.hpp), each fitted by relative least squares
// (fit_line_relative: weights 1/t², intercept clamped at 0); the cut with the smallest BIC wins.
// Read patterns (seq, rand) are pooled: at queue depth 1 an O_DIRECT read of an expert-sized block
// costs the same wherever it starts on the devices measured so far; the held-out rows of both
// patterns show whether that holds.
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "validate/calibrate/calibrate.hpp"
#include "validate/calibrate/fit.hpp"
#include "validate/calibrate/segments.hpp"
#include "validate/calibrate/series.hpp"

namespace moesim::calibrate {
namespace {

struct RegimeLine {
  double from = 0;
  LineFit line;
  Rows rows;
};

struct StorageCut {
  std::vector<RegimeLine> regimes;
  double sse = 0, score = std::numeric_limits<double>::infinity();
};

// Fits every regime of one partition of the fitted sizes; score = BIC (infinite when a regime has
// no positive bandwidth).
StorageCut fit_cut(const Rows& rows, const std::vector<double>& sizes, const std::vector<size_t>& starts) {
  StorageCut cut;
  for (size_t p = 0; p < starts.size(); ++p) {
    const size_t end = p + 1 < starts.size() ? starts[p + 1] : sizes.size();
    RegimeLine g;
    g.from = p == 0 ? 0.0 : regime_boundary(sizes[starts[p] - 1], sizes[starts[p]]);
    std::vector<double> xs, ys;
    for (const Row* r : rows) {
      const double s = static_cast<double>(r->r.size_bytes);
      if (s >= sizes[starts[p]] && s <= sizes[end - 1]) g.rows.push_back(r), xs.push_back(s), ys.push_back(r->r.median_s);
    }
    g.line = fit_line_relative(xs, ys);
    if (!(g.line.slope > 0)) return cut;
    cut.sse += g.line.rms_rel * g.line.rms_rel * g.line.points;
    cut.regimes.push_back(std::move(g));
  }
  const int params = 3 * static_cast<int>(starts.size()) - 1;  // L, 1/B per regime + the boundaries
  cut.score = bic(cut.sse, static_cast<int>(rows.size()), params);
  return cut;
}

}  // namespace

void fit_storage(const DataSet& d, Calibration& c) {
  Rows reads = select(d, [](const bench::Record& r) {
    return r.kernel == "storage_read" && r.mode == "direct" && r.queue_depth <= 1 && r.median_s > 0;
  });
  if (reads.empty()) {
    c.notes.push_back("no O_DIRECT queue-depth-1 storage_read rows: no storage preset");
    return;
  }
  Fitted<hw::StorageSpec> f;
  SplitRows split = split_by_size(reads, [](const Row& r) { return r.r.size_bytes; });
  const std::vector<double>& sizes = split.fit_sizes;
  StorageCut best;
  for (size_t min_len : {size_t{2}, size_t{1}}) {  // one distinct size per regime only when there are too few
    for (const auto& starts : contiguous_partitions(sizes.size(), kMaxStorageRegimes, min_len)) {
      StorageCut cut = fit_cut(split.fit, sizes, starts);
      if (cut.score < best.score - 1e-9) best = std::move(cut);
    }
    if (std::isfinite(best.score)) break;
  }
  if (!std::isfinite(best.score)) {
    c.notes.push_back("storage reads give no positive bandwidth above the latency: no storage preset");
    return;
  }
  for (size_t i = 0; i < best.regimes.size(); ++i) {
    const RegimeLine& g = best.regimes[i];
    f.spec.regimes.push_back({Bytes(g.from), Seconds(g.line.intercept), BytesPerSecond(1.0 / g.line.slope)});
    f.regime_why.push_back(fmt::format("regime {}: relative least squares of t = L + s/B over {} rows ({}){}; rms relative residual {:.3f}",
                                       i + 1, g.line.points, row_list(g.rows), g.line.clamped ? ", L < 0 clamped to 0" : "",
                                       g.line.rms_rel));
  }
  const auto& first = f.spec.regimes.front();
  const auto& last = f.spec.regimes.back();
  f.spec.read_latency = first.latency;
  f.spec.rand_read_bandwidth = first.bandwidth;
  f.spec.seq_read_bandwidth = last.bandwidth;
  f.spec.sequential_threshold = Bytes(best.regimes.size() > 1 ? last.from.value : sizes.front());
  const std::string regimes_rule = fmt::format(
      "{} regime(s) chosen by BIC among every contiguous cut of the fitted sizes ({}) into at most {} ranges; "
      "total rms relative residual {:.3f}", best.regimes.size(), sizes_text(sizes), kMaxStorageRegimes,
      std::sqrt(best.sse / static_cast<double>(split.fit.size())));
  f.why["regimes"] = regimes_rule;
  f.why["read_latency"] = "the first regime's latency (summary; [[regimes]] below are what the simulator uses)";
  f.why["rand_read_bandwidth"] = "the first regime's bandwidth (summary)";
  f.why["seq_read_bandwidth"] = "the last regime's bandwidth (summary; the storage edge's nominal rate)";
  f.why["sequential_threshold"] = "the last regime's lower bound (summary)";
  Rows writes = select(d, [](const bench::Record& r) { return r.kernel == "storage_write" && r.bytes_per_s > 0; });
  if (!writes.empty()) {
    f.spec.write_bandwidth = BytesPerSecond(writes.front()->r.bytes_per_s);
    f.why["write_bandwidth"] = fmt::format("storage_write {}:{} ({} {})", writes.front()->file, writes.front()->line,
                                           writes.front()->r.pattern, writes.front()->r.mode);
  } else {
    f.spec.write_bandwidth = f.spec.seq_read_bandwidth;
    f.why["write_bandwidth"] = "no storage_write row: equal to seq_read_bandwidth (assumption)";
  }
  f.held_out = split.held_out;
  f.split = fmt::format("O_DIRECT qd1 block sizes fitted: {}; held out: {} ({})", sizes_text(split.fit_sizes),
                        sizes_text(split.held_sizes), split.rule);
  c.storage = f;
}

}  // namespace moesim::calibrate
