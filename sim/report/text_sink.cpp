#include "sim/report/text_sink.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "sim/core/errors.hpp"

namespace moesim::report {
namespace {

[[noreturn]] void fail(const std::filesystem::path& p, const char* what, int err) {
  throw IoError(fmt::format("{}: error: {}: {}", p.string(), what, std::strerror(err)));
}

}  // namespace

FileSink::FileSink(std::filesystem::path file) : file_(std::move(file)) {
  fd_ = ::open(file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail(file_, "cannot write", errno);
  buf_.reserve(kChunk + kChunk / 4);
}

FileSink::~FileSink() {
  if (fd_ >= 0) ::close(fd_);
}

void FileSink::drain() {
  size_t off = 0;
  while (off < buf_.size()) {
    const ssize_t w = ::write(fd_, buf_.data() + off, buf_.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) fail(file_, "write failed", w == 0 ? EIO : errno);
    off += static_cast<size_t>(w);
  }
  buf_.clear();
}

void FileSink::close() {
  drain();
  if (::fsync(fd_) != 0 && errno != EINVAL && errno != EROFS) fail(file_, "fsync failed", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail(file_, "close failed", errno);
}

void append_int(std::string& out, int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_g9(std::string& out, double v) {
  char buf[48];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 9);
  out.append(buf, r.ptr);
}

}  // namespace moesim::report
