#pragma once
// Result CSVs (schema moesim.microbench/1, docs/validation.md) read row by row, each row keeping
// the file and line it came from, so a fit can say which rows it used and a bad row is reported
// as "file:line: error: ...".
#include <map>
#include <string>
#include <vector>

#include "validate/common/provenance.hpp"
#include "validate/common/record.hpp"

namespace moesim::calibrate {

struct Row {
  bench::Record r;
  std::string file;  // file name (no folder), e.g. "gemm.csv"
  int line = 0;      // 1-based line in that file
};

struct DataSet {
  std::string dir;
  std::vector<Row> rows;                               // files in name order, rows in file order
  std::map<std::string, bench::Provenance> provenance;  // per file name
  std::vector<std::string> notes;                       // e.g. rows superseded by a later file
};

// Drops every row whose measured point (kernel, device, dtype, shape, size, pattern, mode, queue
// depth, ranks, transport, threads) is measured again in a file of a later provenance date_utc:
// a re-measurement of part of a grid (layer_check.sh --fresh-gemm) replaces those cells and keeps
// the rest. Rows of equal dates all stay (the fits average them). Says what it dropped in notes.
void drop_superseded(DataSet& d);

// Parses one result file's text. Throws IoError "<name>:<line>: error: <what>" on a malformed
// row, a row with the wrong number of cells, or a missing header.
std::vector<Row> parse_rows(const std::string& text, const std::string& name, bench::Provenance* prov);

// Every *.csv of `dir`, by name, less the rows a later file measures again (drop_superseded).
// Throws IoError when the folder is missing or holds no CSV.
DataSet read_data_dir(const std::string& dir);

// "gemm.csv:12,14,16" style list of the rows' locations (grouped by file).
std::string row_list(const std::vector<const Row*>& rows);

}  // namespace moesim::calibrate
