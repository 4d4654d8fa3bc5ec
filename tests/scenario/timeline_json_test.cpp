// timeline.json: the hand-written writer against the json-tree reference it replaced (byte for
// byte), and the device cap of [output] timeline_max_devices.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <climits>
#include <cmath>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "sim/core/errors.hpp"
#include "sim/core/rng.hpp"
#include "sim/report/text_sink.hpp"

#include "sim/report/timeline_json.hpp"
#include "sim/report/writers.hpp"

namespace moesim::report {
namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;
const fs::path kExamples = fs::path(MOESIM_SOURCE_DIR) / "scenarios/examples";

double us(double seconds) { return std::round(seconds * 1e9) / 1e3; }

// The previous writer (nlohmann ordered_json per event, compact dump): the reference.
std::string reference_timeline(const scenario::Scenario& sc, const RunResult& r) {
  ojson events = ojson::array();
  for (int32_t d = 0; d < sc.topology->device_count(); ++d) {
    events.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", d}, {"tid", 0},
                      {"args", {{"name", fmt::format("device {} (node {})", d, sc.topology->node_of(d))}}}});
    for (auto st : {graph::Stream::compute, graph::Stream::comm, graph::Stream::io})
      events.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", d}, {"tid", static_cast<int>(st)},
                        {"args", {{"name", std::string(graph::stream_name(st))}}}});
  }
  int64_t flow_id = 0;
  for (size_t i = 0; i < r.graphs.size(); ++i) {
    const auto& g = r.graphs[i];
    const auto& tl = r.timeline.steps[i];
    for (size_t j = 0; j < g.tasks.size(); ++j) {
      const auto& t = g.tasks[j];
      ojson args = {{"step", g.step}, {"layer", t.layer}, {"micro_batch", t.micro_batch}, {"op", t.op}};
      if (auto* w = std::get_if<graph::ComputeWork>(&t.work)) args["flops"] = w->flops.value, args["gemm_m"] = w->gemm_m;
      const int64_t start_ns = std::llround(tl.tasks[j].start * 1e9), end_ns = std::llround(tl.tasks[j].end * 1e9);
      for (int32_t d : graph::StepGraph::devices_of(t))
        events.push_back({{"name", t.name}, {"cat", t.op}, {"ph", "X"}, {"ts", static_cast<double>(start_ns) / 1e3},
                          {"dur", static_cast<double>(end_ns - start_ns) / 1e3}, {"pid", d},
                          {"tid", static_cast<int>(t.stream)}, {"args", args}});
    }
    for (size_t j = 0; j < g.tasks.size(); ++j) {  // flow arrows: transfer -> each consumer on a shared device
      const auto& consumer = g.tasks[j];
      for (graph::TaskId dep : consumer.deps) {
        const auto& producer = g.tasks[static_cast<size_t>(dep)];
        if (producer.stream == graph::Stream::compute) continue;
        const auto pd = graph::StepGraph::devices_of(producer);
        for (int32_t d : graph::StepGraph::devices_of(consumer)) {
          if (std::find(pd.begin(), pd.end(), d) == pd.end()) continue;
          ++flow_id;
          events.push_back({{"name", producer.op}, {"cat", "transfer"}, {"ph", "s"}, {"id", flow_id},
                            {"ts", static_cast<double>(std::llround(tl.tasks[static_cast<size_t>(dep)].start * 1e9)) / 1e3},
                            {"pid", d}, {"tid", static_cast<int>(producer.stream)}});
          events.push_back({{"name", producer.op}, {"cat", "transfer"}, {"ph", "f"}, {"bp", "e"}, {"id", flow_id},
                            {"ts", static_cast<double>(std::llround(tl.tasks[j].start * 1e9)) / 1e3},
                            {"pid", d}, {"tid", static_cast<int>(consumer.stream)}});
        }
      }
    }
  }
  for (const auto& d : r.memory.devices)
    for (const auto& p : d.total)
      events.push_back({{"name", "memory"}, {"ph", "C"}, {"ts", us(p.time)}, {"pid", d.device}, {"args", {{"bytes", p.bytes}}}});
  ojson doc = {{"displayTimeUnit", "ms"}, {"traceEvents", events}};
  return doc.dump() + "\n";
}

TEST(TimelineJson, SameBytesAsTheJsonTreeWriter) {
  auto s = scenario::load_scenario(kExamples / "quickstart.toml",
                                   {"workload.batch=16", "workload.generate_tokens=2", "model.layers=3"});
  auto r = run_scenario(*s, read_engine(*s));
  const std::string text = timeline_json(*s, r);
  EXPECT_GT(text.size(), 1000u);
  EXPECT_EQ(text, reference_timeline(*s, r));
}

TEST(TimelineJson, ShowsAtMostTimelineMaxDevicesAndSaysSo) {
  auto s = scenario::load_scenario(kExamples / "quickstart.toml", {"workload.batch=16", "workload.generate_tokens=1",
                                                                   "model.layers=2", "output.timeline_max_devices=3"});
  auto r = run_scenario(*s, read_engine(*s));
  auto j = nlohmann::json::parse(timeline_json(*s, r));
  std::set<int> pids;
  for (const auto& e : j["traceEvents"]) pids.insert(e["pid"].get<int>());
  EXPECT_EQ(pids, (std::set<int>{0, 1, 2}));
  const auto sum = summarize(*s, r);
  bool noted = false;
  for (const auto& n : sum.notes) noted |= n.find("timeline.json shows devices 0-2 of 8") != std::string::npos;
  EXPECT_TRUE(noted);
}

}  // namespace
}  // namespace moesim::report

namespace moesim::report {
namespace {

TEST(TextSink, NumbersFormatAsFmtDoes) {
  Rng rng(11, "numbers");
  std::vector<double> values = {0.0, -0.0, 1.0, 0.1, 1e-9, 123456789.0, 1234567891.0, 85899345920.0, 1e15, 1e16, 2.5e-5, -3.75};
  for (int i = 0; i < 20000; ++i) values.push_back(std::ldexp(rng.uniform(-1, 1), static_cast<int>(rng.below(140)) - 70));
  for (double v : values) {
    std::string got;
    append_g9(got, v);
    EXPECT_EQ(got, fmt::format("{:.9g}", v));
  }
  for (int64_t v : {int64_t{0}, int64_t{-7}, int64_t{1} << 40, INT64_MIN, INT64_MAX}) {
    std::string got;
    append_int(got, v);
    EXPECT_EQ(got, fmt::format("{}", v));
  }
}

TEST(TextSink, FileSinkWritesEveryChunk) {
  const auto file = fs::temp_directory_path() / fmt::format("moesim_sink_{}", ::getpid());
  std::string expected;
  {
    FileSink f(file);
    for (int i = 0; i < 300000; ++i) {
      f.text() += fmt::format("row {}\n", i);
      expected += fmt::format("row {}\n", i);
      f.spill();
    }
    f.close();
  }
  std::ifstream in(file, std::ios::binary);
  std::stringstream got;
  got << in.rdbuf();
  EXPECT_GT(expected.size(), 2 * TextSink::kChunk);
  EXPECT_EQ(got.str(), expected);
  fs::remove(file);
  EXPECT_THROW(FileSink(fs::path("/nonexistent-dir/x/y.csv")), IoError);
}

}  // namespace
}  // namespace moesim::report
