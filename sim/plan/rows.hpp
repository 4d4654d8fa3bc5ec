#pragma once
// Result rows of a sweep or a plan: one JSON object per point, streamed to a JSON Lines file as
// points finish, then rewritten sorted by point index (and as CSV) when the sweep ends, each file
// replaced atomically (written beside, then renamed).
//
// Row: {"point", "points", "repeat", "key", "status" ("ok" | "error" | "does_not_fit" |
// "crashed"), "error", "device", "axes": {key: value}, "metrics": {name: value}}.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace moesim::plan {

using Row = nlohmann::ordered_json;

struct ReadRows {
  std::vector<Row> rows;
  uintmax_t valid_bytes = 0;   // length of the file up to the end of its last complete row
  int64_t dropped_lines = 0;   // partial or unreadable lines (an interrupted write) left out
};
// Reads a JSON Lines file; a missing file reads as empty.
ReadRows read_rows(const std::filesystem::path& path);

// Appends rows to a JSON Lines file, one complete line per write, flushed.
class RowAppender {
 public:
  // Opens for append; `truncate_to` cuts a partial last line off first.
  RowAppender(const std::filesystem::path& path, uintmax_t truncate_to, bool fresh);
  ~RowAppender();
  void append(const Row& row);

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

// Sorted by point index; one row per point (the first kept). Throws std::runtime_error when two
// rows claim the same point with different keys (outputs of different sweeps).
std::vector<Row> sorted_unique(std::vector<Row> rows);

std::string jsonl_text(const std::vector<Row>& rows);
// Columns: point, repeat, key, status, error, device, then the axes (in the first row's order),
// then every metric any row has (sorted by name). RFC 4180 quoting.
std::string csv_text(const std::vector<Row>& rows);

// Writes text to path atomically (temporary sibling, flush, rename). Throws IoError.
void write_atomically(const std::filesystem::path& path, const std::string& text);

}  // namespace moesim::plan
