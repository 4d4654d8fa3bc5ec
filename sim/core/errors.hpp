#pragma once
// Error types. Library code throws these; only the app prints them and chooses the exit code.
#include <stdexcept>
#include <string>

namespace moesim {

// Where in which input a value came from. line/col are 1-based; 0 means unknown.
struct Location {
  std::string file;
  int line = 0;
  int col = 0;
  std::string str() const;  // "file:line:col" (or "file" when line is unknown)
};

// An error in an input file: formats as "file:line:col: error: key: detail".
class ConfigError : public std::runtime_error {
 public:
  ConfigError(Location where, std::string key, std::string detail);
  const Location& where() const { return where_; }
  const std::string& key() const { return key_; }
  const std::string& detail() const { return detail_; }

 private:
  Location where_;
  std::string key_;
  std::string detail_;
};

// A configuration that is well-formed but impossible (does not fit, does not divide).
class InfeasibleError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An I/O problem (missing file, unwritable output directory).
class IoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace moesim
