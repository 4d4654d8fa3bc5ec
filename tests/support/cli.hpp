#pragma once
// Running the moesim binary from tests as a user would: output (stdout and stderr together) and
// exit code, files on disk, a scratch folder per test process.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace moesim::test_support {

struct CliResult {
  int code = -1;
  std::string output;
};

// `env` is prepended to the command line (e.g. "MOESIM_PRESETS=/x ").
inline CliResult run_moesim(const std::string& args, const std::string& env = "") {
  std::string cmd = env + std::string(MOESIM_BINARY) + " " + args + " 2>&1";
  CliResult r;
  FILE* p = popen(cmd.c_str(), "r");
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// An empty folder under the system temp dir, unique to this test process.
inline std::filesystem::path scratch_dir(const std::string& tag) {
  auto d = std::filesystem::temp_directory_path() / ("moesim_" + tag + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

// Single-quoted for the shell.
inline std::string quoted(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

// A tiny scenario (2-layer Mixtral decode of 16 requests on one 8-GPU node, 2 tokens) that
// simulates in a fraction of a second; append tables or override keys with --set.
inline const char* kTinyMixtralDecode = R"(name = "tiny"
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

// Writes kTinyMixtralDecode + `extra` to <dir>/<stem>.toml.
inline std::filesystem::path write_tiny_scenario(const std::filesystem::path& dir, const std::string& extra,
                                                 const std::string& stem = "tiny") {
  std::filesystem::path f = dir / (stem + ".toml");
  std::ofstream(f) << kTinyMixtralDecode << extra;
  return f;
}

}  // namespace moesim::test_support
