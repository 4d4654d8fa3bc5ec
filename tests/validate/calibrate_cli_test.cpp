// `moesim calibrate` as a new user runs it: without --out it writes beside the measurements
// (<--data>/presets), never into the built-in catalog of the source tree, and the presets it
// wrote are found through MOESIM_PRESETS (and by `moesim validate --data` without it).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "tests/support/cli.hpp"

namespace moesim::test_support {
namespace {

namespace fs = std::filesystem;
const fs::path kRoot = MOESIM_SOURCE_DIR;

TEST(CalibrateCli, DefaultOutputIsBesideTheDataNotTheSourceTree) {
  const fs::path dir = scratch_dir("calibrate_default");
  const fs::path data = dir / "measurements";
  fs::copy(kRoot / "validate/data/vm-2026-11-23", data, fs::copy_options::recursive);
  const std::string name = "newcomer_cal_" + std::to_string(::getpid());
  const fs::path builtin = kRoot / "hardware/presets/devices" / (name + ".toml");

  auto r = run_moesim("calibrate --data " + quoted(data) + " --name " + name);
  const bool leaked = fs::exists(builtin);
  for (const char* sub : {"devices", "storage", "links"})  // never leave a stray preset in the tree
    for (const auto& e : fs::directory_iterator(kRoot / "hardware/presets" / sub))
      if (e.path().filename().string().starts_with(name)) fs::remove(e.path());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_FALSE(leaked) << "calibrate wrote into the source tree's hardware/presets";
  EXPECT_TRUE(fs::exists(data / "presets/devices" / (name + ".toml"))) << r.output;
  EXPECT_NE(r.output.find("MOESIM_PRESETS="), std::string::npos) << r.output;

  // Without MOESIM_PRESETS the preset is unknown; with it, `show` finds it.
  EXPECT_NE(run_moesim("show device " + name).code, 0);
  auto shown = run_moesim("show device " + name, "MOESIM_PRESETS=" + quoted(data / "presets") + " ");
  EXPECT_EQ(shown.code, 0) << shown.output;
  EXPECT_NE(shown.output.find(name), std::string::npos) << shown.output;

  // validate --data finds <data>/presets itself.
  auto v = run_moesim("validate --data " + quoted(data) + " --preset " + name + " --results " + quoted(dir / "results"));
  EXPECT_EQ(v.code, 0) << v.output;
  // Its worst points say what the model used (regime, ranks per core) and how much each point's
  // own repeats spread.
  std::string md;
  for (const auto& e : fs::directory_iterator(dir / "results")) {
    std::ifstream in(e.path());
    md.assign(std::istreambuf_iterator<char>(in), {});
  }
  EXPECT_NE(md.find("| model used | repeats ± |"), std::string::npos) << md.substr(0, 2000);
  // The summary says how many points miss by less than their own repeats spread.
  EXPECT_NE(md.find("| error within own repeats' spread | median spread % |"), std::string::npos) << md.substr(0, 2000);
  EXPECT_NE(md.find("| regime from "), std::string::npos);
  EXPECT_NE(md.find(" ranks on 2 cores ("), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace moesim::test_support
