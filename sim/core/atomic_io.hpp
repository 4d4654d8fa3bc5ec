#pragma once
// Outputs that appear whole or not at all (docs/robustness.md). Every writer of results (run,
// compare, sweep, the trace writers) goes through here:
//
//   AtomicDir out(dir / name);          // a temporary sibling ".<name>.moesim-tmp-<pid>-<n>"
//   out.write("summary.json", text);    // each file: write, fsync, close, every step checked
//   out.commit();                       // swapped into place in one rename (renameat2 EXCHANGE),
//                                       // the previous output removed only after
//
//   write_file_atomic(path, text);      // one file, same steps (temporary sibling, rename)
//   write_atomically(path, [](const std::filesystem::path& tmp) { ...write tmp... });
//
// Guarantees: a reader of <dir>/<name> sees the previous complete output or the new complete one,
// never a mix; a process killed at any point leaves the previous output in place (or, between the
// two renames of the fallback path, beside it, restored by the next writer); two processes writing
// the same output never fail or interleave files (the last commit wins); temporary siblings left by
// dead processes are removed by the next writer of the same output; an interrupted process removes
// its own through remove_pending_outputs(). Errors throw IoError naming the path.
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace moesim {

class AtomicDir {
 public:
  explicit AtomicDir(std::filesystem::path final_dir);
  AtomicDir(const AtomicDir&) = delete;
  AtomicDir& operator=(const AtomicDir&) = delete;
  ~AtomicDir();  // not committed: removes the temporary directory

  const std::filesystem::path& temp_dir() const { return temp_; }
  const std::filesystem::path& final_dir() const { return final_; }
  // Writes <temp>/<relative> (creating sub-folders), flushed to disk and checked.
  void write(const std::filesystem::path& relative, std::string_view text) const;
  // Moves the finished directory into place; returns the final path.
  std::filesystem::path commit();

 private:
  std::filesystem::path final_, temp_;
  bool committed_ = false;
};

// One file, atomically: written to a temporary sibling, fsync'd, renamed over `file`. A target
// that exists and is not a regular file (/dev/stdout, a FIFO, /dev/full) is written directly, with
// every write and the close checked.
void write_file_atomic(const std::filesystem::path& file, std::string_view text);
// Same, for writers that stream to a path: `write` fills the temporary file it is given (and must
// throw on failure); the file is then fsync'd and renamed over `file`.
void write_atomically(const std::filesystem::path& file, const std::function<void(const std::filesystem::path&)>& write);

// Writes `text` to an open-able path with POSIX calls, checking every write, fsync and close.
void write_file_checked(const std::filesystem::path& file, std::string_view text, bool sync);

// Removes every temporary output of this process that is not committed yet. For the app's signal
// handling thread; safe to call while other threads write (they then fail, and the process exits).
void remove_pending_outputs() noexcept;
// Removes temporary siblings of `target` left by processes that no longer run, and restores a
// previous output that a killed fallback commit left beside it. Called by every writer.
void clean_stale_siblings(const std::filesystem::path& target) noexcept;

}  // namespace moesim
