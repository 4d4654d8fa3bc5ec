#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "sim/core/config.hpp"

using namespace moesim;
using namespace moesim::config;
namespace fs = std::filesystem;

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

// A private data dir with a small preset catalog; MOESIM_DATA_DIR points at it during the test.
class ConfigWithPresets : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("moesim_cfg_" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "hw/devices");
    write("hw/devices/base_gpu.toml", "memory = \"40GiB\"\nbandwidth = \"1.5TBps\"\n[peak]\nbf16 = \"312TFlops\"\nfp32 = \"19.5TFlops\"\n");
    write("hw/devices/big_gpu.toml", "preset = \"base_gpu\"\nmemory = \"80GiB\"\n");
    old_ = std::getenv("MOESIM_DATA_DIR") ? std::getenv("MOESIM_DATA_DIR") : "";
    setenv("MOESIM_DATA_DIR", dir_.c_str(), 1);
  }
  void TearDown() override {
    if (old_.empty()) unsetenv("MOESIM_DATA_DIR");
    else setenv("MOESIM_DATA_DIR", old_.c_str(), 1);
    fs::remove_all(dir_);
  }
  void write(const std::string& rel, const std::string& text) { std::ofstream(dir_ / rel) << text; }
  fs::path dir_;
  std::string old_;
};

}  // namespace

TEST(Config, ParseErrorHasLineAndColumn) {
  auto e = error_of([] { Document::parse("a = 1\nb = [1, 2\n", "s.toml"); });
  EXPECT_NE(e.find("s.toml:2:11: error:"), std::string::npos) << e;
}

TEST(Config, MissingKeyNamesTheKeyAndTable) {
  auto doc = Document::parse("[cluster]\nnodes = 2\n", "s.toml");
  auto root = Table::root(doc);
  auto e = error_of([&] { root.table("cluster").integer("devices_per_node"); });
  EXPECT_NE(e.find("s.toml:1:1: error: cluster.devices_per_node: required key is missing"), std::string::npos) << e;
}

TEST(Config, WrongTypeHasExactLocation) {
  auto doc = Document::parse("[cluster]\nnodes = \"two\"\n", "s.toml");
  auto root = Table::root(doc);
  auto e = error_of([&] { root.table("cluster").integer("nodes"); });
  EXPECT_NE(e.find("s.toml:2:9: error: cluster.nodes: expected an integer, got a string"), std::string::npos) << e;
}

TEST(Config, UnitValuesAndBareNumbers) {
  auto doc = Document::parse("mem = \"80GiB\"\nbw = 3.35\nlat = \"1.5us\"\nsz = \"80Gb\"\n", "s.toml");
  auto root = Table::root(doc);
  EXPECT_DOUBLE_EQ(root.bytes("mem").value, 80.0 * 1073741824.0);
  EXPECT_DOUBLE_EQ(root.seconds("lat").value, 1.5e-6);
  auto e = error_of([&] { root.bandwidth("bw"); });
  EXPECT_NE(e.find("s.toml:2:6: error: bw: a bare number needs a unit"), std::string::npos) << e;
  e = error_of([&] { root.bytes("sz"); });
  EXPECT_NE(e.find("s.toml:4:6: error: sz:"), std::string::npos) << e;
  EXPECT_NE(e.find("bits"), std::string::npos) << e;
}

TEST(Config, UnknownKeyWithSuggestion) {
  auto doc = Document::parse("[cluster]\nnodes = 2\ndevices_per_nod = 8\n", "s.toml");
  auto root = Table::root(doc);
  auto c = root.table("cluster");
  c.integer("nodes");
  c.integer_or("devices_per_node", 8);
  auto e = error_of([&] { c.finish(); });
  EXPECT_NE(e.find("s.toml:3:19: error: cluster.devices_per_nod: unknown key; did you mean 'devices_per_node'?"),
            std::string::npos) << e;
}

TEST(Config, UnknownKeyWithoutCloseMatchListsValidKeys) {
  auto doc = Document::parse("nodes = 2\nzzzzzz = 1\n", "s.toml");
  auto root = Table::root(doc);
  root.integer("nodes");
  auto e = error_of([&] { root.finish(); });
  EXPECT_NE(e.find("s.toml:2:10: error: zzzzzz: unknown key (valid keys here: nodes"), std::string::npos) << e;
}

TEST(Config, ChoiceListsValidValuesAndSuggests) {
  auto doc = Document::parse("kind = \"unifrom\"\n", "s.toml");
  auto root = Table::root(doc);
  auto e = error_of([&] { root.choice("kind", {"uniform", "zipf", "trace"}); });
  EXPECT_NE(e.find("s.toml:1:8: error: kind: unknown value 'unifrom' (valid values: uniform, zipf, trace); did you mean 'uniform'?"),
            std::string::npos) << e;
}

TEST(Config, RangeChecks) {
  auto doc = Document::parse("k = 0\n", "s.toml");
  auto root = Table::root(doc);
  auto e = error_of([&] { root.integer_in("k", 1, 8); });
  EXPECT_NE(e.find("expected an integer in [1, 8]"), std::string::npos) << e;
}

TEST(Config, SetOverridesAndCreatesTables) {
  auto doc = Document::parse("[cluster]\nnodes = 2\n", "s.toml");
  doc.apply_set("cluster.nodes=4");
  doc.apply_set("cluster.device.memory=80GiB");
  doc.apply_set("routing.kind=\"zipf\"");
  auto root = Table::root(doc);
  EXPECT_EQ(root.table("cluster").integer("nodes"), 4);
  EXPECT_DOUBLE_EQ(root.table("cluster").table("device").bytes("memory").value, 80.0 * 1073741824.0);
  EXPECT_EQ(root.table("routing").string("kind"), "zipf");
  auto e = error_of([&] { doc.apply_set("nodes"); });
  EXPECT_NE(e.find("expected --set table.key=value"), std::string::npos) << e;
}

TEST(Config, SetValueErrorsPointAtTheSetOption) {
  auto doc = Document::parse("[cluster]\nnodes = 2\n", "s.toml");
  doc.apply_set("cluster.nodes=\"four\"");
  auto root = Table::root(doc);
  auto e = error_of([&] { root.table("cluster").integer("nodes"); });
  EXPECT_NE(e.find("--set cluster.nodes=\"four\":1:5: error: cluster.nodes"), std::string::npos) << e;
}

// Found by fuzz_set: a bare value with bytes that are not UTF-8 escaped as toml++'s own
// parse_error (no location, not a ConfigError).
TEST(Config, SetValueThatIsNotUtf8IsAConfigErrorAtTheSetOption) {
  auto doc = Document::parse("[workload]\nbatch = 2\n", "s.toml");
  const std::string bad = "workload.batch=3\xff\xff2";
  try {
    doc.apply_set(bad);
    FAIL() << "accepted a value that is not UTF-8";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("workload.batch"), std::string::npos) << what;
    EXPECT_NE(what.find("not valid as a TOML string"), std::string::npos) << what;
  }
}

TEST_F(ConfigWithPresets, PresetWithOverridesAndInheritance) {
  auto doc = Document::parse("[device]\npreset = \"big_gpu\"\nbandwidth = \"2TBps\"\n[device.peak]\nfp32 = \"20TFlops\"\n", "s.toml");
  auto root = Table::root(doc);
  auto dev = root.table("device");
  dev.resolve_preset("hw/devices");
  EXPECT_DOUBLE_EQ(dev.bytes("memory").value, 80.0 * 1073741824.0);  // big_gpu over base_gpu
  EXPECT_DOUBLE_EQ(dev.bandwidth("bandwidth").value, 2e12);           // scenario override
  auto peak = dev.table("peak");
  EXPECT_DOUBLE_EQ(peak.flops_rate("fp32").value, 20e12);             // nested override
  EXPECT_DOUBLE_EQ(peak.flops_rate("bf16").value, 312e12);            // kept from base
  // Values keep the file they came from.
  EXPECT_NE(peak.where("bf16").file.find("base_gpu.toml"), std::string::npos);
  EXPECT_EQ(dev.where("bandwidth").file, "s.toml");
  // The resolved document is printable and still loads.
  EXPECT_NE(doc.dump().find("memory = '80GiB'"), std::string::npos) << doc.dump();
}

TEST_F(ConfigWithPresets, UnknownPresetSuggests) {
  auto doc = Document::parse("[device]\npreset = \"big_gpo\"\n", "s.toml");
  auto root = Table::root(doc);
  auto dev = root.table("device");
  auto e = error_of([&] { dev.resolve_preset("hw/devices"); });
  EXPECT_NE(e.find("s.toml:2:10: error: device.preset: unknown preset 'big_gpo'"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'big_gpu'?"), std::string::npos) << e;
}

TEST_F(ConfigWithPresets, ErrorInPresetValuePointsIntoPresetFile) {
  write("hw/devices/broken.toml", "memory = 40\n");
  auto doc = Document::parse("[device]\npreset = \"broken\"\n", "s.toml");
  auto root = Table::root(doc);
  auto dev = root.table("device");
  dev.resolve_preset("hw/devices");
  auto e = error_of([&] { dev.bytes("memory"); });
  EXPECT_NE(e.find("broken.toml:1:10: error: device.memory: a bare number needs a unit"), std::string::npos) << e;
}

TEST(Config, MissingFileIsAnIoError) {
  EXPECT_THROW(Document::load_file("/nonexistent/scenario.toml"), IoError);
}
