#pragma once
// Provenance of a measurement: which machine, CPU, kernel, libraries, threads, date and command.
// Written as the "# key: value" comment block at the top of every result CSV.
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace moesim::bench {

struct Provenance {
  std::vector<std::pair<std::string, std::string>> fields;  // in insertion order
  void set(const std::string& key, const std::string& value);  // replaces an existing key
  std::optional<std::string> get(const std::string& key) const;
};

// Schema identifier written first; bump when record columns change meaning.
inline constexpr const char* kResultSchema = "moesim.microbench/1";

// The machine facts every kernel records: schema, tool, host, cpu_model, cpu_logical_cores,
// cpu_mhz, kernel (uname -r), os, memory_total, date_utc, compiler, loadavg_start, git_rev (MOESIM_GIT_REV),
// mode (MOESIM_BENCH_MODE), command. Kernels add their library versions and thread counts.
Provenance collect_provenance(const std::string& tool, int argc, char** argv);

// Pure parsers (tested on fixed text): the "model name" of the first processor in /proc/cpuinfo;
// the PRETTY_NAME of /etc/os-release; the MemTotal of /proc/meminfo in bytes.
std::string cpu_model_from_cpuinfo(const std::string& cpuinfo);
std::string cpu_mhz_from_cpuinfo(const std::string& cpuinfo);
std::string os_name_from_os_release(const std::string& os_release);
long long mem_total_bytes_from_meminfo(const std::string& meminfo);

// "2024-05-01T12:34:56Z" for a UNIX time.
std::string iso8601_utc(long long unix_seconds);

// "# key: value" lines; newlines in values become spaces. parse_provenance_block is its inverse.
std::string format_provenance_block(const Provenance& p);
Provenance parse_provenance_block(const std::string& text);

// Whole file as text, "" when unreadable.
std::string read_text_file(const std::string& path);

}  // namespace moesim::bench
