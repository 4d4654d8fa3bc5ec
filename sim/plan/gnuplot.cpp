#include "sim/plan/gnuplot.hpp"

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "sim/plan/rows.hpp"

namespace moesim::plan {
namespace {

namespace fs = std::filesystem;

// gnuplot strings in single quotes: a quote is doubled.
std::string gp_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// A data-file field in double quotes (quotes inside become single quotes).
std::string double_quoted(std::string s) {
  for (auto& c : s)
    if (c == '"') c = '\'';
  return "\"" + s + "\"";
}

std::string num(double v) { return fmt::format("{:.9g}", v); }

std::string header(const std::string& stem, const std::string& title, int w = 800, int h = 500) {
  return fmt::format("# Renders {0}.svg from {0}.dat: gnuplot {0}.gp (moesim plot, docs/planning.md)\n"
                     "set terminal svg size {1},{2} dynamic font 'sans,11'\nset output {3}\nset title {4} noenhanced\n"
                     "set grid\nset key below noenhanced\n",
                     stem, w, h, gp_quote(stem + ".svg"), gp_quote(title));
}

PlotFiles files(const fs::path& dir, const std::string& stem) {
  return {dir / (stem + ".dat"), dir / (stem + ".gp"), dir / (stem + ".svg")};
}

}  // namespace

PlotFiles write_line_plot(const fs::path& dir, const std::string& stem, const LinePlot& p) {
  auto f = files(dir, stem);
  std::string data;
  std::string plot = "plot ";
  for (size_t i = 0; i < p.series.size(); ++i) {
    data += fmt::format("# {}\n", p.series[i].first);
    for (const auto& [x, y] : p.series[i].second) data += num(x) + " " + num(y) + "\n";
    data += "\n\n";
    plot += fmt::format("{}{} index {} using 1:2 with {} title {}", i ? ", \\\n     " : "", gp_quote(stem + ".dat"), i,
                        p.steps ? "steps lw 2" : "linespoints lw 2 pt 7", gp_quote(p.series[i].first));
  }
  std::string gp = header(stem, p.title);
  gp += fmt::format("set xlabel {} noenhanced\nset ylabel {} noenhanced\n", gp_quote(p.xlabel), gp_quote(p.ylabel));
  if (p.logx) gp += "set logscale x 2\n";
  gp += plot + "\n";
  write_atomically(f.data, data);
  write_atomically(f.script, gp);
  return f;
}

PlotFiles write_pareto_plot(const fs::path& dir, const std::string& stem, const ParetoPlot& p) {
  auto f = files(dir, stem);
  std::string data = "# all configurations meeting the SLOs: x y\n";
  for (const auto& [x, y] : p.all) data += num(x) + " " + num(y) + "\n";
  data += "\n\n# Pareto front: x y label\n";
  for (const auto& [label, xy] : p.front) data += num(xy.first) + " " + num(xy.second) + " " + double_quoted(label) + "\n";
  std::string gp = header(stem, p.title, 900, 550);
  gp += "set key inside left top\nset offsets graph 0.02, graph 0.15, graph 0.05, graph 0.02\n";
  gp += fmt::format("set xlabel {} noenhanced\nset ylabel {} noenhanced\n", gp_quote(p.xlabel), gp_quote(p.ylabel));
  gp += fmt::format("plot {0} index 0 using 1:2 with points pt 7 ps 0.8 lc rgb '#999999' title 'meets the SLOs', \\\n"
                    "     {0} index 1 using 1:2 with linespoints lw 2 pt 7 lc rgb '#d62728' title 'Pareto front', \\\n"
                    "     {0} index 1 using 1:2:3 with labels offset 1,0.6 left font 'sans,8' noenhanced notitle\n",
                    gp_quote(stem + ".dat"));
  write_atomically(f.data, data);
  write_atomically(f.script, gp);
  return f;
}

PlotFiles write_heat_map(const fs::path& dir, const std::string& stem, const HeatMap& p) {
  auto f = files(dir, stem);
  std::string data = "# row col value\n";
  for (size_t r = 0; r < p.cells.size(); ++r) {
    for (size_t c = 0; c < p.cells[r].size(); ++c) data += fmt::format("{} {} {}\n", c, r, num(p.cells[r][c]));
    data += "\n";
  }
  std::string gp = header(stem, p.title, 900, 600);
  gp += fmt::format("set xlabel {} noenhanced\nset ylabel {} noenhanced\nset cblabel {} noenhanced\nunset grid\nset view map\n",
                    gp_quote(p.xlabel), gp_quote(p.ylabel), gp_quote(p.cblabel));
  auto tics = [](const std::vector<std::string>& labels, const char* axis) {
    std::string s = fmt::format("set {}tics (", axis);
    const size_t step = labels.size() > 32 ? (labels.size() + 31) / 32 : 1;
    bool first = true;
    for (size_t i = 0; i < labels.size(); i += step) {
      s += fmt::format("{}{} {}", first ? "" : ", ", gp_quote(labels[i]), i);
      first = false;
    }
    return s + ") noenhanced\n";
  };
  if (!p.col_labels.empty()) gp += tics(p.col_labels, "x");
  if (!p.row_labels.empty()) gp += tics(p.row_labels, "y");
  gp += "set palette rgbformulae 22,13,10\n";
  gp += fmt::format("plot {} using 1:2:3 with image notitle\n", gp_quote(stem + ".dat"));
  write_atomically(f.data, data);
  write_atomically(f.script, gp);
  return f;
}

PlotFiles write_gantt(const fs::path& dir, const std::string& stem, const Gantt& p) {
  auto f = files(dir, stem);
  std::vector<std::string> lanes;
  for (const auto& b : p.bars)
    if (std::find(lanes.begin(), lanes.end(), b.lane) == lanes.end()) lanes.push_back(b.lane);
  std::string data = "# lane_index start end highlight label\n";
  for (const auto& b : p.bars) {
    const size_t lane = static_cast<size_t>(std::find(lanes.begin(), lanes.end(), b.lane) - lanes.begin());
    data += fmt::format("{} {} {} {} {}\n", lane, num(b.start), num(b.end), b.highlight ? 1 : 0, double_quoted(b.label));
  }
  std::string gp = header(stem, p.title, 1100, std::max<int>(300, 60 + 22 * static_cast<int>(lanes.size())));
  gp += fmt::format("set xlabel {} noenhanced\nunset key\nset ytics (", gp_quote(p.xlabel));
  for (size_t i = 0; i < lanes.size(); ++i) gp += fmt::format("{}{} {}", i ? ", " : "", gp_quote(lanes[i]), i);
  gp += ") noenhanced\nset yrange [-1:" + std::to_string(lanes.size()) + "] reverse\n";
  gp += fmt::format("plot {0} using (($2+$3)/2):1:(($3-$2)/2):(0.35):($4 > 0 ? 0xd62728 : 0x9ecae1) "
                    "with boxxyerror fs solid 0.9 lc rgb variable notitle\n",
                    gp_quote(stem + ".dat"));
  write_atomically(f.data, data);
  write_atomically(f.script, gp);
  return f;
}

bool gnuplot_available() {
  const char* path = std::getenv("PATH");
  if (!path) return false;
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':'))
    if (!dir.empty() && ::access((fs::path(dir) / "gnuplot").c_str(), X_OK) == 0) return true;
  return false;
}

std::string render(const PlotFiles& f) {
  if (!gnuplot_available()) return "gnuplot not found on PATH (Debian: apt-get install gnuplot-nox)";
  const fs::path dir = f.script.parent_path().empty() ? fs::path(".") : f.script.parent_path();
  const std::string script = f.script.filename().string();
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return "cannot fork to run gnuplot";
  if (pid == 0) {
    if (::chdir(dir.c_str()) != 0) _exit(126);
    execlp("gnuplot", "gnuplot", script.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return fmt::format("gnuplot failed on {} (status {})", f.script.string(), WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return "";
}

}  // namespace moesim::plan
