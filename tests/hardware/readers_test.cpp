// Hardware readers: every preset of every catalog loads; scenario overrides; error messages.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <unistd.h>

#include "hardware/readers.hpp"

using namespace moesim;
using namespace moesim::hw;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError thrown";
  return "";
}

// Reads `key = { preset = ..., ... }` of a scenario text with `reader`.
template <class Reader>
auto read_from(const std::string& text, const std::string& key, Reader reader) {
  auto doc = config::Document::parse(text, "scenario.toml");
  return reader(config::Table::root(doc).table(key));
}

template <class Reader>
void load_every_preset(const char* catalog, Reader reader, size_t at_least) {
  auto names = config::preset_names(catalog);
  EXPECT_GE(names.size(), at_least) << catalog;
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    auto doc = config::Document::parse("preset = \"" + name + "\"\n", "test");
    try {
      auto spec = reader(config::Table::root(doc));
      EXPECT_EQ(spec.name, name);
      EXPECT_FALSE(spec.source.empty()) << name << ": every preset must cite its source";
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  }
}

}  // namespace

TEST(HardwareCatalog, EveryDevicePresetLoads) { load_every_preset(kDeviceCatalog, read_device, 16); }
TEST(HardwareCatalog, EveryLinkPresetLoads) { load_every_preset(kLinkCatalog, read_link, 18); }
TEST(HardwareCatalog, EveryStoragePresetLoads) { load_every_preset(kStorageCatalog, read_storage, 8); }
TEST(HardwareCatalog, EveryMemoryPresetLoads) { load_every_preset(kMemoryCatalog, read_memory, 7); }

TEST(HardwareReaders, DevicePresetValuesInSiUnits) {
  auto d = read_from("device = { preset = \"h100_sxm\" }\n", "device", read_device);
  EXPECT_EQ(d.name, "h100_sxm");
  EXPECT_EQ(d.kind, "gpu");
  EXPECT_DOUBLE_EQ(d.memory_bandwidth.value, 3.35e12);
  EXPECT_DOUBLE_EQ(d.memory_capacity.value, 80.0 * 1073741824.0);
  ASSERT_TRUE(d.peak.count(Dtype::bf16));
  EXPECT_NEAR(d.peak.at(Dtype::bf16).value, 989.4e12, 1e9);
  EXPECT_FALSE(d.peak.count(Dtype::int4));
  EXPECT_DOUBLE_EQ(d.kernel_launch.value, 5e-6);
}

TEST(HardwareReaders, ScenarioOverridesPresetValue) {
  auto d = read_from("device = { preset = \"h100_sxm\", memory_capacity = \"94GiB\" }\n", "device", read_device);
  EXPECT_DOUBLE_EQ(d.memory_capacity.value, 94.0 * 1073741824.0);
  EXPECT_DOUBLE_EQ(d.memory_bandwidth.value, 3.35e12);  // the rest comes from the preset
}

TEST(HardwareReaders, OverrideMergesIntoPeakTable) {
  auto d = read_from("[device]\npreset = \"h100_sxm\"\n[device.peak]\nbf16 = \"800TFlops\"\n", "device", read_device);
  EXPECT_DOUBLE_EQ(d.peak.at(Dtype::bf16).value, 800e12);
  EXPECT_NEAR(d.peak.at(Dtype::fp8).value, 1978.9e12, 1e9);  // other dtypes kept
}

TEST(HardwareReaders, PresetInheritanceKeepsTheNamedPreset) {
  auto d = read_from("device = { preset = \"a100_80gb\" }\n", "device", read_device);
  EXPECT_EQ(d.name, "a100_80gb");
  EXPECT_DOUBLE_EQ(d.memory_bandwidth.value, 2039e9);
  EXPECT_DOUBLE_EQ(d.peak.at(Dtype::bf16).value, 312e12);  // inherited from a100_40gb
}

TEST(HardwareReaders, UnknownOverrideKeyHasLocationAndSuggestion) {
  auto e = error_of([] {
    read_from("[cluster]\ndevice = { preset = \"h100_sxm\", memory_capacty = \"94GiB\" }\n", "cluster",
              [](config::Table t) { return read_device(t.table("device")); });
  });
  EXPECT_NE(e.find("scenario.toml:2:"), std::string::npos) << e;
  EXPECT_NE(e.find("cluster.device.memory_capacty"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'memory_capacity'"), std::string::npos) << e;
}

TEST(HardwareReaders, UnknownDtypeInPeakSuggests) {
  auto e = error_of([] { read_from("[d]\npreset = \"h100_sxm\"\n[d.peak]\nbf61 = \"1TFlops\"\n", "d", read_device); });
  EXPECT_NE(e.find("scenario.toml:4:"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'bf16'"), std::string::npos) << e;
}

TEST(HardwareReaders, BareNumberBandwidthIsAnError) {
  auto e = error_of([] { read_from("link = { preset = \"nvlink4\", bandwidth = 25 }\n", "link", read_link); });
  EXPECT_NE(e.find("scenario.toml:1:"), std::string::npos) << e;
  EXPECT_NE(e.find("link.bandwidth: a bare number needs a unit"), std::string::npos) << e;
}

TEST(HardwareReaders, MessageOverheadIsATimeAndNeverNegative) {
  auto l = read_from("link = { preset = \"nvlink4\", message_overhead = \"1.5us\" }\n", "link", read_link);
  EXPECT_DOUBLE_EQ(l.message_overhead.value, 1.5e-6);
  auto e = error_of([] { read_from("link = { preset = \"nvlink4\", message_overhead = \"-1us\" }\n", "link", read_link); });
  EXPECT_NE(e.find("scenario.toml:1:"), std::string::npos) << e;
  EXPECT_NE(e.find("link.message_overhead: '-1us' is negative"), std::string::npos) << e;
  e = error_of([] { read_from("link = { preset = \"nvlink4\", message_overhead = 2 }\n", "link", read_link); });
  EXPECT_NE(e.find("link.message_overhead: a bare number needs a unit"), std::string::npos) << e;
}

TEST(HardwareReaders, BitsVersusBytesForCapacity) {
  auto e = error_of([] { read_from("m = { preset = \"ddr4_3200_8ch\", capacity = \"256Gb\" }\n", "m", read_memory); });
  EXPECT_NE(e.find("bits"), std::string::npos) << e;
}

TEST(HardwareReaders, EfficiencyOutsideUnitIntervalIsAnError) {
  auto e = error_of([] { read_from("d = { preset = \"h100_sxm\", memory_efficiency = 1.2 }\n", "d", read_device); });
  EXPECT_NE(e.find("d.memory_efficiency"), std::string::npos) << e;
  EXPECT_NE(e.find("(0, 1]"), std::string::npos) << e;
  e = error_of([] { read_from("d = { preset = \"h100_sxm\", gemm = { eff_max = 0.0 } }\n", "d", read_device); });
  EXPECT_NE(e.find("d.gemm.eff_max"), std::string::npos) << e;
}

TEST(HardwareReaders, ZeroPeakAndReservedAboveCapacityAreErrors) {
  auto e = error_of([] { read_from("[d]\npreset = \"a100_40gb\"\n[d.peak]\nfp32 = \"0TFlops\"\n", "d", read_device); });
  EXPECT_NE(e.find("d.peak.fp32: must be greater than zero"), std::string::npos) << e;
  e = error_of([] { read_from("d = { preset = \"a100_40gb\", reserved_memory = \"41GiB\" }\n", "d", read_device); });
  EXPECT_NE(e.find("d.reserved_memory"), std::string::npos) << e;
}

TEST(HardwareReaders, UnknownPresetSuggestsNearest) {
  auto e = error_of([] { read_from("d = { preset = \"h100_smx\" }\n", "d", read_device); });
  EXPECT_NE(e.find("did you mean 'h100_sxm'"), std::string::npos) << e;
}

TEST(HardwareReaders, DeviceWithoutPresetNeedsRequiredKeys) {
  auto d = read_from(
      "d = { kind = \"cpu\", memory_capacity = \"8GiB\", memory_bandwidth = \"10GBps\", peak = { fp32 = \"100GFlops\" } }\n",
      "d", read_device);
  EXPECT_EQ(d.name, "custom");
  EXPECT_DOUBLE_EQ(d.gemm.eff_max, GemmEfficiency{}.eff_max);  // defaults apply
  auto e = error_of([] { read_from("d = { kind = \"cpu\", memory_capacity = \"8GiB\" }\n", "d", read_device); });
  EXPECT_NE(e.find("required key is missing"), std::string::npos) << e;
}

TEST(HardwareReaders, StorageAndMemoryValues) {
  auto s = read_from("s = { preset = \"samsung_860_evo\" }\n", "s", read_storage);
  EXPECT_DOUBLE_EQ(s.seq_read_bandwidth.value, 550e6);
  EXPECT_DOUBLE_EQ(s.read_latency.value, 90e-6);
  auto m = read_from("m = { preset = \"ddr4_3200_8ch\" }\n", "m", read_memory);
  EXPECT_DOUBLE_EQ(m.bandwidth.value, 204.8e9);
  auto l = read_from("l = { preset = \"nvlink4\" }\n", "l", read_link);
  EXPECT_EQ(l.links_per_device, 18);
}

// A typo inside a preset file is reported at the preset file's line and column, so catalog
// authors find it (the scenario only names the preset).
TEST(HardwareReaders, ErrorInsidePresetFilePointsIntoThatFile) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("moesim_hw_" + std::to_string(::getpid()));
  fs::create_directories(dir / kDeviceCatalog);
  std::ofstream(dir / kDeviceCatalog / "bad_gpu.toml")
      << "kind = \"gpu\"\nmemory_capacity = \"8GiB\"\nmemory_bandwith = \"1TBps\"\n[peak]\nfp32 = \"1TFlops\"\n";
  const char* old = std::getenv("MOESIM_DATA_DIR");
  std::string saved = old ? old : "";
  setenv("MOESIM_DATA_DIR", dir.c_str(), 1);
  auto e = error_of([] { read_from("d = { preset = \"bad_gpu\", memory_bandwidth = \"1TBps\" }\n", "d", read_device); });
  EXPECT_NE(e.find("bad_gpu.toml:3:"), std::string::npos) << e;
  EXPECT_NE(e.find("d.memory_bandwith"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'memory_bandwidth'"), std::string::npos) << e;
  if (saved.empty()) unsetenv("MOESIM_DATA_DIR");
  else setenv("MOESIM_DATA_DIR", saved.c_str(), 1);
  fs::remove_all(dir);
}
