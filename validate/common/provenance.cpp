#include "validate/common/provenance.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

namespace moesim::bench {
namespace {

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// Value of the first "key<spaces>: value" line of a /proc file.
std::string proc_value(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    if (trim(line.substr(0, colon)) == key) return trim(line.substr(colon + 1));
  }
  return {};
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

}  // namespace

void Provenance::set(const std::string& key, const std::string& value) {
  for (auto& [k, v] : fields) {
    if (k == key) {
      v = value;
      return;
    }
  }
  fields.emplace_back(key, value);
}

std::optional<std::string> Provenance::get(const std::string& key) const {
  for (const auto& [k, v] : fields)
    if (k == key) return v;
  return std::nullopt;
}

std::string cpu_model_from_cpuinfo(const std::string& cpuinfo) {
  const std::string m = proc_value(cpuinfo, "model name");
  return m.empty() ? "unknown" : m;
}

std::string cpu_mhz_from_cpuinfo(const std::string& cpuinfo) { return proc_value(cpuinfo, "cpu MHz"); }

std::string os_name_from_os_release(const std::string& os_release) {
  std::istringstream in(os_release);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("PRETTY_NAME=", 0) != 0) continue;
    std::string v = line.substr(12);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return v;
  }
  return "unknown";
}

long long mem_total_bytes_from_meminfo(const std::string& meminfo) {
  const std::string v = proc_value(meminfo, "MemTotal");  // "24576000 kB"
  if (v.empty()) return 0;
  return std::atoll(v.c_str()) * 1024LL;
}

std::string iso8601_utc(long long unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Provenance collect_provenance(const std::string& tool, int argc, char** argv) {
  Provenance p;
  p.set("schema", kResultSchema);
  p.set("tool", tool);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  p.set("host", host);
  const std::string cpuinfo = read_text_file("/proc/cpuinfo");
  p.set("cpu_model", cpu_model_from_cpuinfo(cpuinfo));
  p.set("cpu_logical_cores", std::to_string(sysconf(_SC_NPROCESSORS_ONLN)));
  p.set("cpu_mhz", cpu_mhz_from_cpuinfo(cpuinfo));
  utsname u{};
  uname(&u);
  p.set("kernel", u.release);
  p.set("os", os_name_from_os_release(read_text_file("/etc/os-release")));
  p.set("memory_total_bytes", std::to_string(mem_total_bytes_from_meminfo(read_text_file("/proc/meminfo"))));
  p.set("date_utc", iso8601_utc(static_cast<long long>(std::time(nullptr))));
#if defined(__clang__)
  p.set("compiler", std::string("clang ") + __clang_version__);
#elif defined(__GNUC__)
  p.set("compiler", std::string("gcc ") + __VERSION__);
#endif
  // Other work on the machine competes with the kernels: the load at the start says how much.
  p.set("loadavg_start", trim(read_text_file("/proc/loadavg")));
  p.set("git_rev", env_or("MOESIM_GIT_REV", "unknown"));
  p.set("mode", env_or("MOESIM_BENCH_MODE", "manual"));
  std::string cmd;
  for (int i = 0; i < argc; ++i) cmd += (i ? " " : "") + std::string(argv[i]);
  p.set("command", cmd);
  return p;
}

std::string format_provenance_block(const Provenance& p) {
  std::string out;
  for (const auto& [k, v] : p.fields) {
    std::string clean = v;
    for (char& c : clean)
      if (c == '\n' || c == '\r') c = ' ';
    out += "# " + k + ": " + clean + "\n";
  }
  return out;
}

Provenance parse_provenance_block(const std::string& text) {
  Provenance p;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# ", 0) != 0) continue;
    const auto colon = line.find(": ", 2);
    if (colon == std::string::npos) continue;
    p.set(line.substr(2, colon - 2), line.substr(colon + 2));
  }
  return p;
}

}  // namespace moesim::bench
