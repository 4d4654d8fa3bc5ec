// libFuzzer target: the --set parser. Each input line is one --set argument applied to a shipped
// scenario (scenarios/examples/quickstart.toml or the first example), which is then read whole.
#include <fstream>
#include <sstream>
#include <string>

#include "fuzz/fuzz_common.hpp"
#include "sim/scenario/scenario.hpp"

#ifndef MOESIM_FUZZ_BASE_SCENARIO
#error "MOESIM_FUZZ_BASE_SCENARIO must name a scenario file"
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string base = [] {
    std::ifstream in(MOESIM_FUZZ_BASE_SCENARIO);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }();
  const std::string sets(reinterpret_cast<const char*>(data), size);
  moesim::fuzz::expect_clean_rejection([&] {
    auto doc = moesim::config::Document::parse(base, MOESIM_FUZZ_BASE_SCENARIO);
    std::istringstream lines(sets);
    std::string line;
    while (std::getline(lines, line)) doc.apply_set(line);
    moesim::scenario::read_scenario(std::move(doc));
  });
  return 0;
}
