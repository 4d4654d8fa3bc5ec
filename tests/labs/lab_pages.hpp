#pragma once
// Reading the lab pages (docs/labs/NN_*.md): their answer blocks (```sh answer=A1.2 ...```), the
// answer lines that state each value (`**A1.2** ... = **0.123** ms (±1%)`), and running a block the
// way scripts/labs_answers.sh does (bash, in a scratch folder holding links to the repository's
// scenarios/ and validate/, `moesim` on PATH, outputs under out/labs of the scratch folder).
#include <filesystem>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace moesim::labs {

namespace fs = std::filesystem;

struct AnswerBlock {
  std::string id;        // "A1.2"
  std::string page;      // file name, e.g. "01_all_to_all.md"
  std::string script;    // the commands, as shown on the page
  std::string needs;     // a path (relative to the repository root) the block needs, or ""
  int line = 0;          // 1-based line of the opening fence
};

// Test parameter printing: the answer id, not the struct's bytes.
inline void PrintTo(const AnswerBlock& b, std::ostream* os) { *os << b.id << " (" << b.page << ":" << b.line << ")"; }

struct AnswerValue {
  std::string id;
  std::string text;  // the number as written ("0.123")
  double value = 0;
  double tolerance = 0;  // relative, e.g. 0.01 for (±1%)
  int line = 0;
};

struct LabPage {
  fs::path path;
  std::string text;
  std::vector<AnswerBlock> blocks;
  std::vector<AnswerValue> values;
};

fs::path source_dir();
std::vector<fs::path> lab_page_paths();  // docs/labs/NN_*.md, sorted
LabPage read_lab_page(const fs::path& path);

struct BlockRun {
  int code = -1;
  std::string output;  // stdout and stderr
  std::optional<double> value;  // the last line of stdout, when it is a number
};

// Runs `script` with bash -eo pipefail in a fresh scratch folder (removed afterwards).
BlockRun run_block(const std::string& script, const std::string& tag);

// |simulated - page| <= tolerance * |page| + half a unit of the page's last written digit.
bool within_tolerance(const AnswerValue& v, double simulated);

}  // namespace moesim::labs
