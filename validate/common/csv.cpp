#include "validate/common/csv.hpp"

#include "sim/core/errors.hpp"

namespace moesim::bench {

std::string csv_escape(const std::string& cell) {
  if (cell.find_first_of(",\"\n\r") == std::string::npos) return cell;
  std::string out = "\"";
  for (char c : cell) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csv_line(const std::vector<std::string>& cells) {
  std::string line;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i) line += ',';
    line += csv_escape(cells[i]);
  }
  return line;
}

std::vector<std::string> csv_split(const std::string& line) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cells.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cells.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      cells.emplace_back();
    } else if (c != '\r') {
      cells.back() += c;
    }
  }
  if (quoted) throw IoError("unterminated quote in CSV line: " + line);
  return cells;
}

ResultWriter::ResultWriter(std::ostream& out, const Provenance& prov) : out_(out) {
  out_ << format_provenance_block(prov) << csv_line(record_columns()) << '\n';
  out_.flush();
}

void ResultWriter::write(const Record& r) {
  out_ << csv_line(record_cells(r)) << '\n';
  out_.flush();
}

ResultFile read_results(std::istream& in) {
  ResultFile f;
  std::vector<std::string> header;
  std::string line;
  std::string block;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.front() == '#') {
      block += line + '\n';
      continue;
    }
    if (header.empty()) {
      header = csv_split(line);
      continue;
    }
    f.records.push_back(record_from_cells(header, csv_split(line)));
  }
  f.provenance = parse_provenance_block(block);
  return f;
}

}  // namespace moesim::bench
