#include "validate/common/record.hpp"

#include <charconv>
#include <cstdio>
#include <functional>
#include <map>

#include "sim/core/errors.hpp"
#include "validate/common/stats.hpp"

namespace moesim::bench {
namespace {

std::string int_cell(int64_t v) { return v == 0 ? std::string() : std::to_string(v); }

std::string real_cell(double v) {
  if (v == 0) return {};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

int64_t parse_int(const std::string& s, const std::string& col) {
  if (s.empty()) return 0;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size())
    throw IoError("column " + col + ": not an integer: '" + s + "'");
  return v;
}

double parse_real(const std::string& s, const std::string& col) {
  if (s.empty()) return 0;
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size())
    throw IoError("column " + col + ": not a number: '" + s + "'");
  return v;
}

// One accessor per column: how to print it and how to read it back.
struct Column {
  std::string name;
  std::function<std::string(const Record&)> get;
  std::function<void(Record&, const std::string&)> set;
};

#define MOESIM_STR(f) Column{#f, [](const Record& r) { return r.f; }, \
                             [](Record& r, const std::string& s) { r.f = s; }}
#define MOESIM_INT(f) Column{#f, [](const Record& r) { return int_cell(r.f); }, \
                             [](Record& r, const std::string& s) { r.f = parse_int(s, #f); }}
#define MOESIM_REAL(f) Column{#f, [](const Record& r) { return real_cell(r.f); }, \
                              [](Record& r, const std::string& s) { r.f = parse_real(s, #f); }}

const std::vector<Column>& columns() {
  static const std::vector<Column> cols = {
      MOESIM_STR(kernel), MOESIM_STR(device), MOESIM_STR(dtype),
      MOESIM_INT(m), MOESIM_INT(n), MOESIM_INT(k), MOESIM_INT(groups), MOESIM_INT(size_bytes),
      MOESIM_STR(pattern), MOESIM_STR(mode), MOESIM_INT(queue_depth), MOESIM_INT(ranks),
      MOESIM_STR(transport), MOESIM_INT(threads), MOESIM_INT(warmup), MOESIM_INT(reps),
      MOESIM_INT(inner), MOESIM_REAL(median_s), MOESIM_REAL(p10_s), MOESIM_REAL(p90_s),
      MOESIM_REAL(min_s), MOESIM_REAL(max_s), MOESIM_REAL(mean_s), MOESIM_REAL(stddev_s),
      MOESIM_REAL(flops), MOESIM_REAL(traffic_bytes), MOESIM_REAL(flops_per_s),
      MOESIM_REAL(bytes_per_s), MOESIM_STR(note)};
  return cols;
}

#undef MOESIM_STR
#undef MOESIM_INT
#undef MOESIM_REAL

}  // namespace

const std::vector<std::string>& record_columns() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& c : columns()) v.push_back(c.name);
    return v;
  }();
  return names;
}

std::vector<std::string> record_cells(const Record& r) {
  std::vector<std::string> out;
  for (const auto& c : columns()) out.push_back(c.get(r));
  return out;
}

Record record_from_cells(const std::vector<std::string>& header, const std::vector<std::string>& cells) {
  static const std::map<std::string, const Column*> by_name = [] {
    std::map<std::string, const Column*> m;
    for (const auto& c : columns()) m[c.name] = &c;
    return m;
  }();
  Record r;
  for (std::size_t i = 0; i < header.size() && i < cells.size(); ++i) {
    auto it = by_name.find(header[i]);
    if (it != by_name.end()) it->second->set(r, cells[i]);
  }
  return r;
}

void set_timing(Record& r, const Summary& s) {
  r.reps = static_cast<int64_t>(s.count);
  r.median_s = s.median;
  r.p10_s = s.p10;
  r.p90_s = s.p90;
  r.min_s = s.min;
  r.max_s = s.max;
  r.mean_s = s.mean;
  r.stddev_s = s.stddev;
  if (s.median > 0) {
    r.flops_per_s = r.flops / s.median;
    r.bytes_per_s = r.traffic_bytes / s.median;
  }
}

}  // namespace moesim::bench
