#pragma once
// Resource guards (docs/robustness.md): work whose memory would exceed what the machine has is
// refused up front with the estimate, instead of being killed by the OOM killer after minutes.
#include <optional>
#include <string>
#include <string_view>

namespace moesim {

// Physical memory of this machine in bytes (sysconf), or 0 when unknown.
double physical_memory();
// The memory limit: `text` ("16GiB") when given, else $MOESIM_MAX_MEMORY, else physical_memory().
// Throws ConfigError naming `option` for a malformed value.
double memory_limit(std::string_view text, std::string_view option = "--max-memory");
// Throws InfeasibleError "<what> needs about X of memory (<how>); the limit is Y (...)" when
// `bytes` exceeds `limit` (0 = no limit).
void require_memory(double bytes, double limit, std::string_view what, std::string_view how);

}  // namespace moesim
