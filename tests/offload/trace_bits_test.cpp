// Per-token bit-widths (D²MoE dual routing) from a trace's `bits` column, or from bit_mix.
#include <gtest/gtest.h>

#include <filesystem>
#include <fmt/format.h>
#include <fstream>

#include "models/offload/nested_planes.hpp"
#include "models/routing/trace.hpp"
#include "models/workload/token_costs.hpp"
#include "sim/core/errors.hpp"
#include "sim/scenario/scenario.hpp"

namespace moesim::offload {
namespace {

namespace fs = std::filesystem;

fs::path temp_file(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / fmt::format("moesim_trace_bits_{}", ::getpid());
  fs::create_directories(dir);
  return dir / name;
}

// One step, `layers` MoE layers, `tokens` tokens routed top-2 to experts (t, t+1) mod 8, every
// slot at `bits` bits (0: no bits column).
fs::path write_trace(const std::string& name, int32_t layers, int64_t tokens, int bits) {
  fs::path f = temp_file(name);
  std::ofstream o(f);
  o << "step,layer,token,expert" << (bits > 0 ? ",bits" : "") << "\n";
  for (int32_t l = 0; l < layers; ++l)
    for (int64_t t = 0; t < tokens; ++t)
      for (int k = 0; k < 2; ++k) {
        o << fmt::format("0,{},{},{}", l, t, (t + k) % 8);
        if (bits > 0) o << fmt::format(",{}", bits);
        o << "\n";
      }
  return f;
}

TEST(TraceBits, CsvBitsColumnReadsAndRoundTrips) {
  auto f = write_trace("bits.csv", 2, 3, 3);
  auto t = routing::read_trace(f);
  ASSERT_EQ(t.steps.size(), 1u);
  const auto& r = t.steps[0].layers[0].routing;
  ASSERT_EQ(r.bits.size(), 6u);
  for (auto b : r.bits) EXPECT_EQ(b, 3);
  auto g = temp_file("bits_out.csv");
  routing::write_trace(t, g, routing::TraceFormat::csv);
  EXPECT_EQ(routing::read_trace(g).steps, t.steps);
  // A trace without the column still reads, with no bit-widths.
  EXPECT_TRUE(routing::read_trace(write_trace("nobits.csv", 1, 2, 0)).steps[0].layers[0].routing.bits.empty());
}

TEST(TraceBits, BadBitWidthIsAnErrorWithItsLine) {
  fs::path f = temp_file("bad.csv");
  std::ofstream(f) << "step,layer,token,expert,bits\n0,0,0,1,4\n0,0,1,2,40\n";
  try {
    routing::read_trace(f);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(":3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bit-width"), std::string::npos) << e.what();
  }
}

// LLaMA-MoE-3.5B (8 experts, top-2) replaying the trace: every expert used by the batch.
std::unique_ptr<scenario::Scenario> nested(const fs::path& trace, const std::string& bit_source) {
  std::string toml = fmt::format(R"(
name = "bits"
seed = 1
[model]
preset = "llama_moe_3_5b"
[cluster]
nodes = 1
devices_per_node = 1
device = {{ preset = "rtx3060_laptop_6gb" }}
[cluster.host]
link = {{ preset = "pcie4_x16" }}
storage = {{ preset = "nvme_generic" }}
[cluster.intra_node]
kind = "nvswitch"
link = {{ preset = "nvswitch4" }}
[routing]
kind = "trace"
path = "{}"
[workload]
kind = "offload_inference"
batch = 8
prompt_tokens = 8
generate_tokens = 1
phases = "decode"
cache_size = "64GiB"
[workload.precision]
mode = "nested"
base_bits = "int2"
max_bits = "int4"
bit_mix = [0.3, 0.4, 0.3]
bit_source = "{}"
)", trace.string(), bit_source);
  return scenario::read_scenario(config::Document::parse(toml, "bits.toml"));
}

double bytes_read(scenario::Scenario& s) {
  double b = 0;
  for (int64_t i = 0; i < s.workload->steps(); ++i) b += s.workload->build(i).info.extra["bytes_read"];
  return b;
}

TEST(TraceBits, TracedBitWidthsDecideThePlanesLoaded) {
  auto s2 = nested(write_trace("int2.csv", 1, 8, 2), "trace");
  const double P = workload::expert_params(s2->model);
  const double layers = static_cast<double>(s2->model.moe_layer_count());
  NestedLayout lay;
  // 8 tokens top-2 over (t, t+1) mod 8 touch all 8 experts in every layer.
  EXPECT_NEAR(bytes_read(*s2), layers * 8 * plane_bytes(P, 0, lay), 1.0);
  auto s4 = nested(write_trace("int4.csv", 1, 8, 4), "trace");
  EXPECT_NEAR(bytes_read(*s4), layers * 8 * (plane_bytes(P, 0, lay) + 2 * plane_bytes(P, 1, lay)), 1.0);
  // "mix" ignores the column: bit_mix draws put some slots above INT2.
  auto mix = nested(write_trace("int2b.csv", 1, 8, 2), "mix");
  EXPECT_GT(bytes_read(*mix), layers * 8 * plane_bytes(P, 0, lay) + 1.0);
}

TEST(TraceBits, TraceSourceWithoutBitsIsAnError) {
  auto s = nested(write_trace("none.csv", 1, 8, 0), "trace");
  EXPECT_THROW(s->workload->build(0), InfeasibleError);
  auto a = nested(write_trace("none2.csv", 1, 8, 0), "auto");  // auto falls back to bit_mix
  EXPECT_GT(bytes_read(*a), 0);
}

}  // namespace
}  // namespace moesim::offload
