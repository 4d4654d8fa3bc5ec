// libFuzzer target: the TOML scenario reader (TOML++ parse, presets, every section's reader).
// Seeds: scenarios/**/*.toml (scripts/fuzz.sh).
#include <string>

#include "fuzz/fuzz_common.hpp"
#include "sim/scenario/scenario.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  moesim::fuzz::expect_clean_rejection([&] {
    auto doc = moesim::config::Document::parse(text, "fuzz.toml");
    moesim::scenario::read_scenario(std::move(doc));
  });
  return 0;
}
