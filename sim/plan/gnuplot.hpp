#pragma once
// Plots as data + a gnuplot script written side by side (stem.dat, stem.gp); the script renders
// stem.svg in the same folder. render() runs gnuplot when it is installed (Debian: gnuplot-nox).
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace moesim::plan {

struct PlotFiles {
  std::filesystem::path data, script, svg;
};

using Series = std::vector<std::pair<double, double>>;

struct LinePlot {
  std::string title, xlabel, ylabel;
  bool logx = false;
  bool steps = false;                       // step function (memory over time)
  std::vector<std::pair<std::string, Series>> series;  // one line each, in this order
};
PlotFiles write_line_plot(const std::filesystem::path& dir, const std::string& stem, const LinePlot& plot);

// Every configuration as a point, the Pareto front as a line through its members (labelled).
struct ParetoPlot {
  std::string title, xlabel, ylabel;
  Series all;
  std::vector<std::pair<std::string, std::pair<double, double>>> front;  // label, (x, y)
};
PlotFiles write_pareto_plot(const std::filesystem::path& dir, const std::string& stem, const ParetoPlot& plot);

// A matrix as a heat map: cells[row][col]; rows and columns labelled.
struct HeatMap {
  std::string title, xlabel, ylabel, cblabel;
  std::vector<std::string> row_labels, col_labels;
  std::vector<std::vector<double>> cells;
};
PlotFiles write_heat_map(const std::filesystem::path& dir, const std::string& stem, const HeatMap& plot);

// Horizontal bars (a timeline): one row per lane, each bar [start, end] with a label.
struct Bar {
  std::string lane;
  double start = 0, end = 0;
  std::string label;
  bool highlight = false;  // drawn in the accent colour (e.g. on the critical path)
};
struct Gantt {
  std::string title, xlabel;
  std::vector<Bar> bars;
};
PlotFiles write_gantt(const std::filesystem::path& dir, const std::string& stem, const Gantt& plot);

// Whether a `gnuplot` executable is on PATH.
bool gnuplot_available();
// Runs gnuplot on the script in its folder. Returns "" on success, else what went wrong.
std::string render(const PlotFiles& files);

}  // namespace moesim::plan
