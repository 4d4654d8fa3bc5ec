#pragma once
// The one atomic output writer used by run, compare, sweep and the trace writers (docs/robustness.md).
// The primitives live in sim/core/atomic_io.hpp so that the trace writers (models/, below this
// layer) use the same code; this header is what report-level writers include:
//
//   report::AtomicDir out(dir / name);   // temporary sibling ".<name>.moesim-tmp-<pid>-<n>"
//   out.write("summary.json", text);     // write, fsync, close: every step checked (IoError)
//   out.commit();                        // one rename into place; the previous output removed after
//
//   report::write_file_atomic(path, text);                    // one file (CSV, JSONL, plot data)
//   report::write_atomically(path, [&](const fs::path& tmp) {  // a writer that streams to a path
//     ... write tmp, throw on failure ... });
#include "sim/core/atomic_io.hpp"

namespace moesim::report {

using moesim::AtomicDir;
using moesim::remove_pending_outputs;
using moesim::write_atomically;
using moesim::write_file_atomic;

// Writes every file of `files` (relative name -> contents) as one directory `dir` atomically.
std::filesystem::path write_directory_atomic(const std::filesystem::path& dir,
                                             const std::vector<std::pair<std::string, std::string>>& files);

}  // namespace moesim::report
