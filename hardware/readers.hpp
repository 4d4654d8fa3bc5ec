#pragma once
// Readers of hardware descriptions from configuration tables. Each one resolves a preset from its
// catalog (so a scenario may write `device = { preset = "h100_sxm", memory_capacity = "94GiB" }`),
// reads every key it knows with units, validates ranges and calls finish() (unknown keys are
// errors with a suggestion). The preset schema is documented in docs/hardware.md.
#include "hardware/spec.hpp"
#include "sim/core/config.hpp"

namespace moesim::hw {

inline constexpr const char* kDeviceCatalog = "hardware/presets/devices";
inline constexpr const char* kLinkCatalog = "hardware/presets/links";
inline constexpr const char* kStorageCatalog = "hardware/presets/storage";
inline constexpr const char* kMemoryCatalog = "hardware/presets/memory";

DeviceSpec read_device(config::Table t);    // t.resolve_preset("hardware/presets/devices")
LinkSpec read_link(config::Table t);        // "hardware/presets/links"
StorageSpec read_storage(config::Table t);  // "hardware/presets/storage"
MemorySpec read_memory(config::Table t);    // "hardware/presets/memory"

// The device kinds a DeviceSpec may declare (TOML `kind`).
const std::vector<std::string>& device_kinds();

}  // namespace moesim::hw
