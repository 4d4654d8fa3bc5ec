#pragma once
// Large outputs (timeline.json, memory.csv, links.csv) are produced in chunks: a writer appends to
// text() and calls spill() now and then; a FileSink then writes what it holds once it passes a
// chunk (1 MiB), so a 2,048-GPU run never holds a whole file in memory nor grows one huge string
// (each growth a fresh allocation, page faults and a copy). StringSink keeps everything.
// Numbers are appended without temporary strings (append_int, append_g9).
#include <cstdint>
#include <filesystem>
#include <string>

namespace moesim::report {

class TextSink {
 public:
  static constexpr size_t kChunk = size_t{1} << 20;
  virtual ~TextSink() = default;
  std::string& text() { return buf_; }
  void spill() {
    if (buf_.size() >= kChunk) drain();
  }

 protected:
  virtual void drain() = 0;  // hands buf_ on (and empties it), or keeps it
  std::string buf_;
};

class StringSink final : public TextSink {
 public:
  std::string take() { return std::move(buf_); }

 private:
  void drain() override {}
};

// Writes into `file` (created or truncated); close() writes the rest, fsyncs and closes, every
// step checked (IoError naming the file), as AtomicDir::write does for a whole text.
class FileSink final : public TextSink {
 public:
  explicit FileSink(std::filesystem::path file);
  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;
  void close();

 private:
  void drain() override;
  std::filesystem::path file_;
  int fd_ = -1;
};

void append_int(std::string& out, int64_t v);
// printf's %.9g (what fmt's {:.9g} gives), without a temporary string.
void append_g9(std::string& out, double v);

}  // namespace moesim::report
