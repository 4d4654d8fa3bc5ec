#include "sim/core/resources.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>

#include "sim/core/errors.hpp"
#include "sim/core/units.hpp"

namespace moesim {

double physical_memory() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0.0;
}

double memory_limit(std::string_view text, std::string_view option) {
  std::string value(text);
  std::string source(option);
  if (value.empty()) {
    if (const char* env = std::getenv("MOESIM_MAX_MEMORY"); env && *env) value = env, source = "MOESIM_MAX_MEMORY";
  }
  if (value.empty()) return physical_memory();
  auto r = parse_quantity(value, Dimension::bytes);
  if (!r) throw ConfigError(Location{source}, "", r.error());
  return *r;
}

void require_memory(double bytes, double limit, std::string_view what, std::string_view how) {
  if (limit <= 0 || (std::isfinite(bytes) && bytes <= limit)) return;
  throw InfeasibleError(fmt::format(
      "{} needs about {} of memory ({}); the limit is {} (--max-memory or MOESIM_MAX_MEMORY; default: this machine's "
      "physical memory). Reduce the size, or raise the limit if the estimate is too pessimistic",
      what, std::isfinite(bytes) ? format_bytes(Bytes(bytes)) : std::string("more than 2^1024 B"), how, format_bytes(Bytes(limit))));
}

}  // namespace moesim
