#pragma once
// Running the moesim binary from tests, and a tiny scenario (2-layer Mixtral decode, 2 tokens) that
// simulates in a fraction of a second per point.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace moesim::plan::testing {

namespace fs = std::filesystem;

struct Result {
  int code = -1;
  std::string output;
};

inline Result moesim(const std::string& args) {
  std::string cmd = std::string(MOESIM_BINARY) + " " + args + " 2>&1";
  Result r;
  FILE* p = popen(cmd.c_str(), "r");
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

inline fs::path scratch(const std::string& tag) {
  auto d = fs::temp_directory_path() / ("moesim_plan_" + tag + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

inline std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

inline const char* kTinyBase = R"(name = "tiny"
seed = 1
[model]
preset = "mixtral_8x7b"
layers = 2
[cluster]
nodes = 1
devices_per_node = 8
device = { preset = "h100_sxm" }
[cluster.host]
link = { preset = "pcie5_x16" }
[cluster.intra_node]
kind = "nvswitch"
link = { preset = "nvswitch4" }
[parallel]
kind = "ep"
[routing]
kind = "popularity"
law = "zipf"
max_mean = 1.5
[workload]
kind = "inference"
batch = 16
prompt_tokens = 128
generate_tokens = 2
phases = "decode"
)";

inline fs::path write_scenario(const fs::path& dir, const std::string& extra) {
  fs::path f = dir / "tiny.toml";
  std::ofstream(f) << kTinyBase << extra;
  return f;
}

inline size_t lines_of(const fs::path& p) {
  std::string s = slurp(p);
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

}  // namespace moesim::plan::testing
