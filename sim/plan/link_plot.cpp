// Heat map of the busiest links of a run (links.csv, sim/report/links_csv.hpp): one row per link,
// one column per step, the cell the link's utilization in that step (bytes / (capacity x step)).
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "sim/core/errors.hpp"
#include "sim/plan/run_plots.hpp"

namespace moesim::plan {
namespace {

namespace fs = std::filesystem;

struct LinkRows {
  std::map<std::string, std::map<int64_t, double>> utilization;  // link -> step -> 0..1
  std::map<std::string, double> bytes;                           // link -> bytes over the run
  std::vector<int64_t> steps;
};

LinkRows read_links(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw IoError(fmt::format("cannot read {} (written by `moesim run`)", file.string()));
  LinkRows rows;
  std::string line;
  std::getline(in, line);
  if (line != "step,link,bytes,capacity_Bps,step_s,utilization") throw IoError(fmt::format("{}:1: not a moesim links.csv header", file.string()));
  for (int n = 2; std::getline(in, line); ++n) {
    std::stringstream ls(line);
    std::string step, link, bytes, cap, step_s, util;
    if (!std::getline(ls, step, ',') || !std::getline(ls, link, ',') || !std::getline(ls, bytes, ',') ||
        !std::getline(ls, cap, ',') || !std::getline(ls, step_s, ',') || !std::getline(ls, util, ','))
      throw IoError(fmt::format("{}:{}: expected 6 columns", file.string(), n));
    try {
      const int64_t s = std::stoll(step);
      rows.utilization[link][s] = std::stod(util);
      rows.bytes[link] += std::stod(bytes);
      if (std::find(rows.steps.begin(), rows.steps.end(), s) == rows.steps.end()) rows.steps.push_back(s);
    } catch (const std::exception&) {
      throw IoError(fmt::format("{}:{}: not a number in '{}'", file.string(), n, line));
    }
  }
  std::sort(rows.steps.begin(), rows.steps.end());
  return rows;
}

}  // namespace

PlotFiles plot_link_utilization(const fs::path& dir, int top) {
  const LinkRows rows = read_links(dir / "links.csv");
  if (rows.bytes.empty()) throw IoError(fmt::format("{}: no link carried any bytes", (dir / "links.csv").string()));
  std::vector<std::pair<std::string, double>> ranked(rows.bytes.begin(), rows.bytes.end());
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (top > 0 && static_cast<size_t>(top) < ranked.size()) ranked.resize(static_cast<size_t>(top));
  HeatMap h{fmt::format("{}: utilization of the {} busiest links per step", dir.filename().string(), ranked.size()), "step", "link",
            "utilization (bytes / (capacity x step time))", {}, {}, {}};
  for (const int64_t s : rows.steps) h.col_labels.push_back(std::to_string(s));
  for (const auto& [link, total] : ranked) {
    h.row_labels.push_back(link);
    std::vector<double> row;
    const auto& per = rows.utilization.at(link);
    for (const int64_t s : rows.steps) row.push_back(per.count(s) ? per.at(s) : 0.0);
    h.cells.push_back(std::move(row));
  }
  return write_heat_map(dir, "link_utilization", h);
}

}  // namespace moesim::plan
