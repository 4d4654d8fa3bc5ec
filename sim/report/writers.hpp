#pragma once
// Output files of a run (out/<name>/): summary.json, steps.csv, layers.csv, memory.csv,
// timeline.json (Chrome trace format, opens in Perfetto), resolved.toml; and the short table the
// CLI prints. Numbers are formatted deterministically (same run, same bytes).
#include <filesystem>
#include <string>

#include "sim/report/metrics.hpp"

namespace moesim::report {

std::string summary_json(const Summary& s);
std::string steps_csv(const Summary& s);
std::string layers_csv(const Summary& s);
std::string memory_csv(const RunResult& r);
class TextSink;
void write_memory_csv(const RunResult& r, TextSink& out);  // the same, in chunks
// timeline.json: sim/report/timeline_json.hpp.
// The human-readable table (the app prints it).
std::string text_table(const Summary& s);

// Writes every file into a temporary sibling of <dir>/<name> and renames it into place (AtomicDir,
// sim/report/atomic_output.hpp): never a half-written output folder. Returns the final folder.
std::filesystem::path write_outputs(const scenario::Scenario& sc, const RunResult& r, const Summary& s,
                                    const std::filesystem::path& dir);

}  // namespace moesim::report
