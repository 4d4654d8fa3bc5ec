#include "validate/common/headline.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <tuple>

namespace moesim::bench {
namespace {

using Pred = std::function<bool(const Record&)>;

const Record* best(const std::vector<Record>& rs, const Pred& p, double Record::*field) {
  const Record* b = nullptr;
  for (const auto& r : rs)
    if (p(r) && (!b || r.*field > b->*field)) b = &r;
  return b;
}

const Record* largest(const std::vector<Record>& rs, const Pred& p) {
  const Record* b = nullptr;
  for (const auto& r : rs)
    if (p(r) && (!b || r.size_bytes > b->size_bytes)) b = &r;
  return b;
}

const Record* smallest(const std::vector<Record>& rs, const Pred& p) {
  const Record* b = nullptr;
  for (const auto& r : rs)
    if (p(r) && (!b || r.size_bytes < b->size_bytes)) b = &r;
  return b;
}

std::string shape(const Record& r) {
  return r.kernel + " m=" + std::to_string(r.m) + " n=" + std::to_string(r.n) + " k=" + std::to_string(r.k);
}

void gemm_lines(const std::vector<Record>& rs, std::vector<Headline>& out) {
  std::set<std::tuple<std::string, std::string, int64_t>> keys;  // device, dtype, threads
  for (const auto& r : rs)
    if (r.kernel == "gemm") keys.insert({r.device, r.dtype, r.threads});
  for (const auto& [dev, dtype, threads] : keys) {
    auto same = [&](const Record& r) { return r.kernel == "gemm" && r.device == dev && r.dtype == dtype && r.threads == threads; };
    const Record* peak = best(rs, same, &Record::flops_per_s);
    const std::string base = "gemm." + dev + "." + dtype + ".threads" + std::to_string(threads);
    out.push_back({base + ".peak", peak->flops_per_s / 1e9, "GFLOP/s", shape(*peak)});
    for (int64_t m : {1, 8, 64, 512}) {  // efficiency of expert GEMMs with m tokens
      const Record* r = best(rs, [&](const Record& x) { return same(x) && x.pattern == "expert_ffn" && x.m == m; },
                             &Record::flops_per_s);
      if (r) out.push_back({base + ".efficiency_m" + std::to_string(m), r->flops_per_s / peak->flops_per_s,
                            "fraction", shape(*r)});
    }
  }
}

void rate_line(const std::vector<Record>& rs, std::vector<Headline>& out, const std::string& name,
               const Pred& p, bool at_largest) {
  const Record* r = at_largest ? largest(rs, p) : best(rs, p, &Record::bytes_per_s);
  if (r) out.push_back({name, r->bytes_per_s / 1e9, "GB/s", r->kernel + " size=" + std::to_string(r->size_bytes) +
                        " threads=" + std::to_string(r->threads)});
}

void memory_lines(const std::vector<Record>& rs, std::vector<Headline>& out) {
  std::set<int64_t> threads;
  for (const auto& r : rs)
    if (r.kernel == "stream_copy" || r.kernel == "stream_triad") threads.insert(r.threads);
  for (int64_t t : threads)
    for (const char* k : {"stream_copy", "stream_triad"})
      rate_line(rs, out, std::string(k) + ".threads" + std::to_string(t) + ".dram",
                [&](const Record& r) { return r.kernel == k && r.threads == t; }, true);
  rate_line(rs, out, "memcpy.largest", [](const Record& r) { return r.kernel == "memcpy"; }, true);
}

void storage_lines(const std::vector<Record>& rs, std::vector<Headline>& out) {
  for (const char* mode : {"direct", "buffered_cold"}) {
    auto read = [&](const Record& r) { return r.kernel == "storage_read" && r.mode == mode; };
    const std::string base = std::string("storage.") + mode;
    const Record* seq = best(rs, [&](const Record& r) { return read(r) && r.pattern == "seq" && r.queue_depth == 1; },
                             &Record::bytes_per_s);
    if (seq) out.push_back({base + ".seq_qd1_best", seq->bytes_per_s / 1e6, "MB/s", "block=" + std::to_string(seq->size_bytes)});
    const Record* rnd = smallest(rs, [&](const Record& r) { return read(r) && r.pattern == "rand" && r.queue_depth == 1; });
    if (rnd) {
      out.push_back({base + ".rand_qd1_smallest_latency", rnd->median_s * 1e6, "us", "block=" + std::to_string(rnd->size_bytes)});
      out.push_back({base + ".rand_qd1_smallest_rate", rnd->bytes_per_s / 1e6, "MB/s", "block=" + std::to_string(rnd->size_bytes)});
    }
    const Record* rbest = best(rs, [&](const Record& r) { return read(r) && r.pattern == "rand"; }, &Record::bytes_per_s);
    if (rbest) out.push_back({base + ".rand_best", rbest->bytes_per_s / 1e6, "MB/s",
                              "block=" + std::to_string(rbest->size_bytes) + " qd=" + std::to_string(rbest->queue_depth)});
  }
}

void alltoall_lines(const std::vector<Record>& rs, std::vector<Headline>& out) {
  std::set<std::pair<std::string, int64_t>> keys;
  for (const auto& r : rs)
    if (r.kernel == "alltoall") keys.insert({r.transport, r.ranks});
  for (const auto& [transport, ranks] : keys) {
    auto same = [&](const Record& r) { return r.kernel == "alltoall" && r.transport == transport && r.ranks == ranks; };
    const std::string base = "alltoall." + transport + ".ranks" + std::to_string(ranks);
    const Record* small = smallest(rs, same);
    out.push_back({base + ".latency_smallest", small->median_s * 1e6, "us", "size=" + std::to_string(small->size_bytes)});
    const Record* big = best(rs, same, &Record::bytes_per_s);
    out.push_back({base + ".bandwidth_best", big->bytes_per_s / 1e9, "GB/s", "size=" + std::to_string(big->size_bytes)});
  }
}

}  // namespace

std::vector<Headline> headlines(const std::vector<Record>& records) {
  std::vector<Headline> out;
  gemm_lines(records, out);
  memory_lines(records, out);
  storage_lines(records, out);
  alltoall_lines(records, out);
  return out;
}

std::string format_headlines(const std::vector<Headline>& h) {
  std::string s;
  char buf[512];
  for (const auto& x : h) {
    std::snprintf(buf, sizeof buf, "%-50s %12.4g %-8s (%s)\n", x.name.c_str(), x.value, x.unit.c_str(), x.where.c_str());
    s += buf;
  }
  return s;
}

}  // namespace moesim::bench
