#pragma once
// CSV files of microbenchmark results: a comment block of provenance ("# key: value" lines), one
// header row (record_columns()), then one row per Record. RFC 4180 quoting for cells that contain
// a comma, a quote or a newline.
#include <istream>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "validate/common/provenance.hpp"
#include "validate/common/record.hpp"

namespace moesim::bench {

std::string csv_escape(const std::string& cell);
std::string csv_line(const std::vector<std::string>& cells);
// Splits one CSV line (no embedded newlines) into cells, undoing csv_escape. Throws IoError on an
// unterminated quote.
std::vector<std::string> csv_split(const std::string& line);

class ResultWriter {
 public:
  // Writes the provenance block and the header row at once.
  ResultWriter(std::ostream& out, const Provenance& prov);
  void write(const Record& r);  // and flushes, so an interrupted run keeps its finished rows

 private:
  std::ostream& out_;
};

struct ResultFile {
  Provenance provenance;
  std::vector<Record> records;
};

// Reads what ResultWriter wrote (and any CSV with a header of known column names).
ResultFile read_results(std::istream& in);

}  // namespace moesim::bench
