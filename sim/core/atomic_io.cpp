// Atomic outputs: temporary sibling, checked writes with fsync, one rename into place. Linux:
// renameat2(RENAME_NOREPLACE / RENAME_EXCHANGE) swaps a finished directory with the previous one
// in one step; where the file system does not support it, the previous output is first renamed
// aside (restored by clean_stale_siblings if the process dies before the new one is in place).
#include "sim/core/atomic_io.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>

#include "sim/core/errors.hpp"

namespace moesim {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kTmpTag = ".moesim-tmp-";
constexpr std::string_view kOldTag = ".moesim-old-";

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}
std::set<fs::path>& pending() {
  static std::set<fs::path> p;
  return p;
}
void register_pending(const fs::path& p) {
  std::lock_guard lock(registry_mutex());
  pending().insert(p);
}
void unregister_pending(const fs::path& p) {
  std::lock_guard lock(registry_mutex());
  pending().erase(p);
}

// ".<name><tag><pid>-<n>" beside `target`.
fs::path sibling(const fs::path& target, std::string_view tag) {
  static std::atomic<unsigned> seq{0};
  return target.parent_path() / fmt::format(".{}{}{}-{}", target.filename().string(), tag, static_cast<long>(::getpid()), seq++);
}

std::string errno_text() { return std::strerror(errno); }

[[noreturn]] void io_fail(const fs::path& p, std::string_view what) {
  throw IoError(fmt::format("{}: error: {}: {}", p.string(), what, errno_text()));
}

void fsync_path(const fs::path& p, bool directory) {
  const int fd = ::open(p.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) io_fail(p, "cannot open to sync");
  const int r = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  if (r != 0 && errno != EINVAL && errno != EROFS) io_fail(p, "fsync failed");
}

void fsync_parent(const fs::path& p) noexcept {
  try {
    fsync_path(p.parent_path().empty() ? fs::path(".") : p.parent_path(), true);
  } catch (...) {
  }
}

void make_parent(const fs::path& target) {
  if (target.parent_path().empty()) return;
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec) throw IoError(fmt::format("{}: error: cannot create output directory: {}", target.parent_path().string(), ec.message()));
}

bool process_alive(long pid) { return pid == static_cast<long>(::getpid()) || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH; }

// The pid in ".<name><tag><pid>-<n>", or -1.
long pid_of(std::string_view entry, std::string_view prefix) {
  if (!entry.starts_with(prefix)) return -1;
  std::string_view rest = entry.substr(prefix.size());
  auto dash = rest.find('-');
  if (dash == 0 || dash == std::string_view::npos) return -1;
  long pid = 0;
  for (char c : rest.substr(0, dash)) {
    if (c < '0' || c > '9') return -1;
    pid = pid * 10 + (c - '0');
  }
  return pid;
}

bool rename2(const fs::path& from, const fs::path& to, unsigned flags) {
  return ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags) == 0;
}

// Fallback when renameat2 is unsupported: previous output aside, new one in, previous one removed.
void replace_by_renames(const fs::path& temp, const fs::path& final_path) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const fs::path old = sibling(final_path, kOldTag);
    const bool moved_old = ::rename(final_path.c_str(), old.c_str()) == 0;
    if (!moved_old && errno != ENOENT) io_fail(final_path, "cannot move the previous output aside");
    if (::rename(temp.c_str(), final_path.c_str()) == 0) {
      std::error_code ec;
      if (moved_old) fs::remove_all(old, ec);
      return;
    }
    const int err = errno;
    if (moved_old) ::rename(old.c_str(), final_path.c_str());  // put it back; another writer may have won
    if (err != EEXIST && err != ENOTEMPTY) {
      errno = err;
      io_fail(final_path, fmt::format("cannot move {} into place", temp.string()));
    }
  }
  throw IoError(fmt::format("{}: error: could not replace the output (another writer kept replacing it)", final_path.string()));
}

// Puts `temp` at `final_path` (replacing what is there) in one step where the OS allows it.
void move_into_place(const fs::path& temp, const fs::path& final_path, bool directory) {
  std::error_code ec;
  auto st = fs::symlink_status(final_path, ec);
  if (fs::exists(st) && (directory ? !fs::is_directory(st) : fs::is_directory(st)))
    throw IoError(fmt::format("{}: error: exists and is not a {}; not replacing it", final_path.string(), directory ? "directory" : "file"));
  if (!directory) {  // rename(2) replaces a file atomically
    if (::rename(temp.c_str(), final_path.c_str()) != 0) io_fail(final_path, "cannot move the new file into place");
    return;
  }
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (rename2(temp, final_path, RENAME_NOREPLACE)) return;
    if (errno == EINVAL || errno == ENOSYS) return replace_by_renames(temp, final_path);
    if (errno != EEXIST) io_fail(final_path, fmt::format("cannot move {} into place", temp.string()));
    if (rename2(temp, final_path, RENAME_EXCHANGE)) {  // temp now holds the previous output
      fs::remove_all(temp, ec);
      return;
    }
    if (errno == EINVAL || errno == ENOSYS) return replace_by_renames(temp, final_path);
    if (errno != ENOENT) io_fail(final_path, fmt::format("cannot swap {} into place", temp.string()));
    // ENOENT: another writer moved the previous output away between the two calls; try again.
  }
  throw IoError(fmt::format("{}: error: could not replace the output (another writer kept replacing it)", final_path.string()));
}

}  // namespace

void write_file_checked(const fs::path& file, std::string_view text, bool sync) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) io_fail(file, "cannot write");
  size_t off = 0;
  while (off < text.size()) {
    const ssize_t w = ::write(fd, text.data() + off, text.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const int err = errno;
      ::close(fd);
      errno = w == 0 ? EIO : err;
      io_fail(file, "write failed");
    }
    off += static_cast<size_t>(w);
  }
  if (sync && ::fsync(fd) != 0 && errno != EINVAL && errno != EROFS) {
    const int err = errno;
    ::close(fd);
    errno = err;
    io_fail(file, "fsync failed");
  }
  if (::close(fd) != 0) io_fail(file, "close failed");
}

void clean_stale_siblings(const fs::path& target) noexcept {
  try {
    const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
    const std::string name = target.filename().string();
    const std::string tmp_prefix = fmt::format(".{}{}", name, kTmpTag), old_prefix = fmt::format(".{}{}", name, kOldTag);
    const std::string legacy_tmp = fmt::format(".{}.tmp-", name), legacy_partial = name + ".partial";
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      const std::string entry = e.path().filename().string();
      long pid = pid_of(entry, tmp_prefix);
      if (pid < 0) pid = pid_of(entry + "-", legacy_tmp);
      if (pid >= 0 && !process_alive(pid)) {
        fs::remove_all(e.path(), ec);
        continue;
      }
      if (entry == legacy_partial) {
        fs::remove(e.path(), ec);
        continue;
      }
      pid = pid_of(entry, old_prefix);
      if (pid < 0 || process_alive(pid)) continue;
      // A previous output moved aside by a writer that died before its new one was in place.
      if (!fs::exists(target) && ::rename(e.path().c_str(), target.c_str()) == 0) continue;
      fs::remove_all(e.path(), ec);
    }
  } catch (...) {
  }
}

AtomicDir::AtomicDir(fs::path final_dir) : final_(std::move(final_dir)) {
  if (final_.filename().empty()) final_ = final_.parent_path();
  make_parent(final_);
  clean_stale_siblings(final_);
  temp_ = sibling(final_, kTmpTag);
  register_pending(temp_);
  std::error_code ec;
  if (!fs::create_directory(temp_, ec) || ec) {
    unregister_pending(temp_);
    throw IoError(fmt::format("{}: error: cannot create output directory: {}", temp_.string(), ec ? ec.message() : "exists"));
  }
}

AtomicDir::~AtomicDir() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(temp_, ec);
  unregister_pending(temp_);
}

void AtomicDir::write(const fs::path& relative, std::string_view text) const {
  if (relative.is_absolute() || relative.empty())
    throw IoError(fmt::format("{}: error: '{}' is not a relative file name", temp_.string(), relative.string()));
  for (const auto& part : relative)
    if (part == "..") throw IoError(fmt::format("{}: error: '{}' leaves the output directory", final_.string(), relative.string()));
  const fs::path file = temp_ / relative;
  if (relative.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    if (ec) throw IoError(fmt::format("{}: error: cannot create directory: {}", file.parent_path().string(), ec.message()));
  }
  write_file_checked(file, text, true);
}

fs::path AtomicDir::commit() {
  if (committed_) return final_;
  fsync_path(temp_, true);
  move_into_place(temp_, final_, true);
  committed_ = true;
  unregister_pending(temp_);
  fsync_parent(final_);
  return final_;
}

void write_atomically(const fs::path& file, const std::function<void(const fs::path&)>& write) {
  std::error_code ec;
  auto st = fs::status(file, ec);
  if (fs::exists(st) && !fs::is_regular_file(st) && !fs::is_directory(st)) {
    write(file);  // a device or FIFO: nothing to rename over
    return;
  }
  make_parent(file);
  clean_stale_siblings(file);
  const fs::path temp = sibling(file, kTmpTag);
  register_pending(temp);
  try {
    write(temp);
    fsync_path(temp, false);
    move_into_place(temp, file, false);
  } catch (...) {
    fs::remove(temp, ec);
    unregister_pending(temp);
    throw;
  }
  unregister_pending(temp);
  fsync_parent(file);
}

void write_file_atomic(const fs::path& file, std::string_view text) {
  write_atomically(file, [&](const fs::path& p) { write_file_checked(p, text, false); });
}

void remove_pending_outputs() noexcept {
  std::lock_guard lock(registry_mutex());
  for (const auto& p : pending()) {
    std::error_code ec;
    fs::remove_all(p, ec);
  }
  pending().clear();
}

}  // namespace moesim
