#pragma once
// Where a kernel writes its CSV: a file (parent folders created) or stdout for "-".
#include <fstream>
#include <memory>
#include <ostream>
#include <string>

namespace moesim::bench {

class Output {
 public:
  explicit Output(const std::string& path);  // throws IoError when the file cannot be opened
  std::ostream& stream() { return file_ ? *file_ : *stdout_; }

 private:
  std::unique_ptr<std::ofstream> file_;
  std::ostream* stdout_ = nullptr;
};

}  // namespace moesim::bench
