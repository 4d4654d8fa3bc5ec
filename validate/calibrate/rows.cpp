// Reading result CSVs with row locations (see rows.hpp).
#include "validate/calibrate/rows.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <tuple>

#include "sim/core/errors.hpp"
#include "validate/common/csv.hpp"

namespace moesim::calibrate {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& name, int line, const std::string& what) {
  throw IoError(fmt::format("{}:{}: error: {}", name, line, what));
}

}  // namespace

std::vector<Row> parse_rows(const std::string& text, const std::string& name, bench::Provenance* prov) {
  std::istringstream in(text);
  std::string line, comments;
  std::vector<std::string> header;
  std::vector<Row> rows;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (line[0] == '#') {
      comments += line + "\n";
      continue;
    }
    try {
      std::vector<std::string> cells = bench::csv_split(line);
      if (header.empty()) {
        if (std::find(cells.begin(), cells.end(), "kernel") == cells.end())
          fail(name, number, "header row has no 'kernel' column (not a moesim.microbench/1 result file)");
        header = std::move(cells);
        continue;
      }
      if (cells.size() != header.size())
        fail(name, number, fmt::format("{} cells, the header has {}", cells.size(), header.size()));
      rows.push_back(Row{bench::record_from_cells(header, cells), name, number});
    } catch (const IoError& e) {
      if (std::string(e.what()).starts_with(name + ":")) throw;
      fail(name, number, e.what());
    }
  }
  if (header.empty()) fail(name, number, "no header row");
  if (prov) *prov = bench::parse_provenance_block(comments);
  return rows;
}

DataSet read_data_dir(const std::string& dir) {
  if (!fs::is_directory(dir)) throw IoError(fmt::format("{}: error: not a folder of result CSVs", dir));
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".csv") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) throw IoError(fmt::format("{}: error: holds no *.csv result file", dir));
  DataSet d;
  d.dir = dir;
  for (const auto& f : files) {
    std::string name = f.filename().string();
    std::string text = bench::read_text_file(f.string());
    bench::Provenance prov;
    std::vector<Row> rows = parse_rows(text, name, &prov);
    d.provenance[name] = prov;
    d.rows.insert(d.rows.end(), rows.begin(), rows.end());
  }
  drop_superseded(d);
  return d;
}

namespace {
auto point_key(const bench::Record& r) {
  return std::tuple(r.kernel, r.device, r.dtype, r.m, r.n, r.k, r.groups, r.size_bytes, r.pattern, r.mode, r.queue_depth,
                    r.ranks, r.transport, r.threads);
}
}  // namespace

void drop_superseded(DataSet& d) {
  const auto date = [&](const Row& r) {
    auto it = d.provenance.find(r.file);
    return it == d.provenance.end() ? std::string() : it->second.get("date_utc").value_or("");
  };
  std::map<decltype(point_key(bench::Record{})), std::string> latest;
  for (const Row& r : d.rows) {
    std::string& l = latest[point_key(r.r)];
    l = std::max(l, date(r));
  }
  std::map<std::pair<std::string, std::string>, int> dropped;  // (file, superseding date) -> rows
  std::erase_if(d.rows, [&](const Row& r) {
    const std::string& l = latest[point_key(r.r)];
    if (date(r) >= l) return false;
    ++dropped[{r.file, l}];
    return true;
  });
  for (const auto& [key, n] : dropped)
    d.notes.push_back(fmt::format("{} rows of {} superseded by the same points measured again at {}", n, key.first, key.second));
}

std::string row_list(const std::vector<const Row*>& rows) {
  std::map<std::string, std::vector<int>> by_file;
  for (const Row* r : rows) by_file[r->file].push_back(r->line);
  std::string out;
  for (auto& [file, lines] : by_file) {
    std::sort(lines.begin(), lines.end());
    if (!out.empty()) out += "; ";
    out += fmt::format("{} lines {}", file, fmt::join(lines, ","));
  }
  return out;
}

}  // namespace moesim::calibrate
