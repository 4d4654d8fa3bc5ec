#pragma once
// What `moesim sweep` and `moesim plan` print: a progress line on a terminal, and rows as a table.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "sim/plan/rows.hpp"
#include "sim/plan/sweep.hpp"

namespace moesim::app {

// "\r  sweep 12/40 points, 1.3 points/s, ETA 21s" on stderr when it is a terminal; silent otherwise.
inline std::function<void(const plan::SweepProgress&)> progress_printer(const std::string& label) {
  if (!::isatty(STDERR_FILENO)) return {};
  return [label](const plan::SweepProgress& p) {
    const int64_t ran = p.done - p.reused;
    const double rate = p.elapsed_s > 0 ? ran / p.elapsed_s : 0;
    std::string eta = rate > 0 ? fmt::format("ETA {:.0f}s", (p.total - p.done) / rate) : "ETA --";
    fmt::print(stderr, "\r  {} {}/{} points{}, {:.2f} points/s, {}   ", label, p.done, p.total,
               p.reused ? fmt::format(" ({} from the existing output)", p.reused) : "", rate, p.done == p.total ? "done" : eta);
    if (p.done == p.total) fmt::print(stderr, "\n");
  };
}

inline std::string cell_text(const plan::Row& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return fmt::format("{:.4g}", v.get<double>());
  return v.dump();
}

inline std::string clip(std::string s, size_t n) {
  if (s.size() > n) s = s.substr(0, n - 3) + "...";
  return s;
}

// One line per row: point, status, the axes, the metrics asked for (when present), the error.
inline void print_rows(const std::vector<plan::Row>& rows, const std::vector<std::string>& metrics, size_t limit = 40) {
  if (rows.empty()) return;
  std::vector<std::string> axes;
  for (const auto& [k, v] : rows.front()["axes"].items()) axes.push_back(k);
  std::vector<std::vector<std::string>> table;
  std::vector<std::string> head = {"point", "status"};
  head.insert(head.end(), axes.begin(), axes.end());
  head.insert(head.end(), metrics.begin(), metrics.end());
  head.push_back("error");
  table.push_back(head);
  for (size_t i = 0; i < rows.size() && i < limit; ++i) {
    const auto& r = rows[i];
    std::vector<std::string> line = {std::to_string(r["point"].get<int64_t>()), r.value("status", "")};
    for (const auto& k : axes) line.push_back(r["axes"].contains(k) ? clip(cell_text(r["axes"][k]), 40) : "");
    for (const auto& m : metrics) line.push_back(r["metrics"].contains(m) ? cell_text(r["metrics"][m]) : "");
    line.push_back(clip(r.value("error", ""), 90));
    table.push_back(line);
  }
  std::vector<size_t> width(head.size(), 0);
  for (const auto& l : table)
    for (size_t c = 0; c < l.size(); ++c) width[c] = std::max(width[c], l[c].size());
  for (const auto& l : table) {
    std::string s = " ";
    for (size_t c = 0; c < l.size(); ++c) s += fmt::format(" {:<{}}", l[c], width[c]);
    while (!s.empty() && s.back() == ' ') s.pop_back();
    fmt::print("{}\n", s);
  }
  if (rows.size() > limit) fmt::print("  ... {} more rows in the CSV\n", rows.size() - limit);
}

}  // namespace moesim::app
