#include <chrono>
#include <sstream>
#include <fstream>
#include <regex>

#include "models/routing/stats.hpp"
#include "models/routing/trace.hpp"
#include "sim/core/config.hpp"
#include "sim/core/rng.hpp"
#include "test_util.hpp"

using namespace moesim;
using namespace moesim::routing;
using namespace routing_test;

namespace {

// 2 steps x 3 layers, variable k (null slots), awkward floats, dropped marks, shared experts.
Trace sample_trace() {
  Trace t;
  t.meta = {16, 2, "test-model", "unit test", false};
  Rng rng(7, "sample");
  for (int64_t s : {0, 3}) {
    TraceStep st{s, {}};
    for (int32_t l : {0, 1, 4}) {
      LayerRouting r;
      r.tokens = 5 + l;
      r.k = l == 4 ? 3 : 2;
      for (int64_t i = 0; i < r.tokens * r.k; ++i) {
        r.experts.push_back(i % 7 == 6 ? kNoExpert : static_cast<int32_t>(rng.below(16)));
        r.weights.push_back(static_cast<float>(rng.uniform()) / 3.0f);
        if (l == 1) r.dropped.push_back(static_cast<uint8_t>(rng.below(2)));
      }
      if (l == 4) r.weights.clear(), r.shared_experts = 2;
      st.layers.push_back({l, r, {}});
    }
    t.steps.push_back(std::move(st));
  }
  return t;
}

Trace round_trip(const Trace& t, TraceFormat f, const std::string& name) {
  auto p = tmp_dir() / name;
  write_trace(t, p, f);
  return read_trace(p, f);
}

}  // namespace

TEST(TraceFormats, JsonlRoundTripsExactly) {
  Trace t = sample_trace();
  EXPECT_TRUE(round_trip(t, TraceFormat::jsonl, "rt.jsonl") == t);
  EXPECT_EQ(infer_trace_format(tmp_dir() / "rt.jsonl"), TraceFormat::jsonl);
}

TEST(TraceFormats, BinaryRoundTripsExactly) {
  Trace t = sample_trace();
  EXPECT_TRUE(round_trip(t, TraceFormat::binary, "rt.mtrace") == t);
  Trace loads = to_load_only(t);
  EXPECT_TRUE(round_trip(loads, TraceFormat::binary, "rt_loads.mtrace") == loads);
  EXPECT_TRUE(round_trip(loads, TraceFormat::jsonl, "rt_loads.jsonl") == loads);
}

TEST(TraceFormats, CsvRoundTripsTheRouting) {
  Trace t = sample_trace();
  for (auto& s : t.steps)
    for (auto& l : s.layers) {
      l.routing.shared_experts = 0;  // csv has no place for shared experts or meta
      if (l.routing.dropped.empty()) l.routing.dropped.assign(l.routing.experts.size(), 0);
      if (l.routing.weights.empty()) l.routing.weights.assign(l.routing.experts.size(), 0.5f);
    }
  Trace back = round_trip(t, TraceFormat::csv, "rt.csv");
  EXPECT_TRUE(back.steps == t.steps);
}

TEST(TraceFormats, NpyRoundTripsTheIds) {
  Trace t;
  t.meta = {8, 2, "", "", false};
  TraceStep st{0, {}};
  for (int32_t l = 0; l < 3; ++l) {
    LayerRouting r;
    r.tokens = 4, r.k = 2;
    for (int i = 0; i < 8; ++i) r.experts.push_back((i * 3 + l) % 8);
    st.layers.push_back({l, r, {}});
  }
  t.steps.push_back(st);
  Trace back = round_trip(t, TraceFormat::npy, "rt.npy");
  EXPECT_TRUE(back.steps == t.steps);
  EXPECT_EQ(back.meta.top_k, 2);
}

TEST(TraceFormats, NpyReadsAHookDumpDirectoryAndInt64) {
  auto dir = tmp_dir() / "hook";
  std::filesystem::create_directories(dir);
  for (int l : {0, 1, 10}) {  // layer_10 must sort after layer_1
    std::string header = "{'descr': '<i8', 'fortran_order': False, 'shape': (3, 2), }";
    while ((10 + header.size() + 1) % 64) header += ' ';
    header += '\n';
    std::ofstream out(dir / ("layer_" + std::to_string(l) + ".npy"), std::ios::binary);
    out.write("\x93NUMPY\x01\x00", 8);
    uint16_t n = static_cast<uint16_t>(header.size());
    out.write(reinterpret_cast<char*>(&n), 2);
    out << header;
    for (int64_t v = 0; v < 6; ++v) {
      int64_t id = v + l;
      out.write(reinterpret_cast<char*>(&id), 8);
    }
  }
  Trace t = read_trace(dir);
  ASSERT_EQ(t.steps.front().layers.size(), 3u);
  EXPECT_EQ(t.steps.front().layers[2].layer, 10);
  EXPECT_EQ(t.steps.front().layers[2].routing.expert(0, 0), 10);
  EXPECT_EQ(t.meta.num_experts, 16);
}

TEST(TraceFormats, LoadMatrixRoundTripsAndReadsEplbStyleFloats) {
  Trace loads = to_load_only(sample_trace());
  for (auto& s : loads.steps)  // the text form numbers layers 0..L-1 and steps 0..S-1
    for (size_t i = 0; i < s.layers.size(); ++i) s.layers[i].layer = static_cast<int32_t>(i);
  loads.steps[1].step = 1;
  Trace back = round_trip(loads, TraceFormat::load_matrix, "rt.loads");
  EXPECT_TRUE(back.steps == loads.steps);
  auto p = write_file("eplb.csv", "# loads\n3.0, 1.0, 0\n0 0 4\n");
  Trace e = read_trace(p);
  EXPECT_TRUE(e.meta.load_only);
  EXPECT_EQ(e.steps.front().layers[1].load, (std::vector<int64_t>{0, 0, 4}));
}

// Round trip of a large trace (10M selections). Its read speed is a benchmark, not asserted here:
// timed assertions fail on a loaded machine.
TEST(TraceFormats, BinaryRoundTripsTenMillionSelections) {
  Trace t;
  t.meta = {64, 8, "", "", false};
  LayerRouting r;
  r.tokens = 1'250'000, r.k = 8;
  r.experts.resize(10'000'000);
  for (size_t i = 0; i < r.experts.size(); ++i) r.experts[i] = static_cast<int32_t>((i * 2654435761u) % 64);
  r.weights.assign(r.experts.size(), 0.125f);
  t.steps.push_back({0, {{0, std::move(r), {}}}});
  auto p = tmp_dir() / "big.mtrace";
  write_trace(t, p, TraceFormat::binary);
  Trace back = read_trace(p);
  ASSERT_EQ(back.selections(), 10'000'000);
  const auto& e = back.steps[0].layers[0].routing.experts;
  for (size_t i = 0; i < e.size(); i += 999'983) EXPECT_EQ(e[i], static_cast<int32_t>((i * 2654435761u) % 64));
  std::filesystem::remove(p);
}

// --- the real OLMoE trace -------------------------------------------------------------------

TEST(TraceFormats, ReadsTheRealOlmoeVllmTrace) {
  auto path = olmoe_trace();
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "real trace absent: " << path;
  Trace t = read_trace(path);
  EXPECT_EQ(infer_trace_format(path), TraceFormat::vllm_jsonl);
  EXPECT_EQ(t.meta.num_experts, 64);
  EXPECT_EQ(t.meta.top_k, 8);
  ASSERT_EQ(t.steps.size(), 1u);
  ASSERT_EQ(t.layer_ids(), std::vector<int32_t>{0});
  // Independent count: scan the topk_ids arrays with a regex, not the reader.
  std::ifstream in(path);
  std::string line;
  std::vector<int64_t> count(64, 0);
  int64_t records = 0;
  std::regex ids("\"topk_ids\": *\\[([^\\]]*)\\]");
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_search(line, m, ids)) continue;
    ++records;
    std::stringstream ss(m[1].str());
    std::string cell;
    while (std::getline(ss, cell, ',')) ++count[std::stoi(cell)];
  }
  const auto& r = t.steps[0].layers[0].routing;
  EXPECT_EQ(r.tokens, records);
  EXPECT_EQ(r.expert_load(64), count);
  auto s = trace_stats(t);
  int32_t hottest = static_cast<int32_t>(std::max_element(count.begin(), count.end()) - count.begin());
  EXPECT_EQ(s.layers[0].load.hottest, hottest);
  EXPECT_GT(s.layers[0].load.max_over_mean, 1.5);  // a strongly skewed real layer
  EXPECT_EQ(s.paths.tokens, 0);                    // one logged layer: no paths
}

TEST(TraceFormats, ReplaysTheOlmoeTraceForAWholeModel) {
  auto path = olmoe_trace();
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "real trace absent: " << path;
  auto doc = config::Document::parse("kind = \"trace\"\npath = \"" + std::filesystem::absolute(path).string() + "\"\n", "scenario.toml");
  RoutingContext ctx;
  ctx.num_experts = 64, ctx.top_k = 8, ctx.num_moe_layers = 16;
  auto src = RoutingRegistry::instance().create(config::Table::root(doc), ctx);
  Trace t = read_trace(path);
  const auto& all = t.steps[0].layers[0].routing;
  LayerRouting r = src->route({2, 5, 256, {}});
  ASSERT_EQ(r.tokens, 256);
  for (int64_t i = 0; i < 256 * 8; ++i) EXPECT_EQ(r.experts[i], all.experts[2 * 256 * 8 + i]);
  EXPECT_EQ(src->notes().size(), 2u);  // fewer layers than the model; token cycling
}

// --- replay source ----------------------------------------------------------------------------

TEST(TraceReplay, ResolvesPathRelativeToTheTomlAndCyclesTokens) {
  Trace t = sample_trace();
  write_trace(t, tmp_dir() / "replay.mtrace", TraceFormat::binary);
  auto doc = config::Document::parse("kind = \"trace\"\npath = \"replay.mtrace\"\n", (tmp_dir() / "scenario.toml").string());
  RoutingContext ctx;
  ctx.num_experts = 16, ctx.top_k = 2, ctx.num_moe_layers = 3;
  auto src = RoutingRegistry::instance().create(config::Table::root(doc), ctx);
  EXPECT_TRUE(src->route({3, 1, 6, {}}) == t.steps[1].layers[1].routing);  // exact step and token count
  LayerRouting r = src->route({1, 2, 4, {}});  // layer 2 not logged: ids[2 mod 3] = 4; cycled tokens
  EXPECT_EQ(r.k, 3);
  EXPECT_EQ(r.expert(0, 0), t.steps[0].layers[2].routing.expert(4, 0));
  EXPECT_FALSE(src->notes().empty());
}

TEST(TraceReplay, LoadOnlyTracesExpandToDistinctExpertsPerToken) {
  Trace t;
  t.meta = {4, 2, "", "", true};
  t.steps.push_back({0, {{0, {}, {40, 30, 20, 10}}}});
  RoutingContext ctx;
  ctx.num_experts = 4, ctx.top_k = 2;
  auto src = make_trace_replay(t, ctx);
  LayerRouting r = src->route({0, 0, 50, {}});
  EXPECT_EQ(r.expert_load(4), (std::vector<int64_t>{40, 30, 20, 10}));
  for (int64_t i = 0; i < 50; ++i) EXPECT_NE(r.expert(i, 0), r.expert(i, 1));
}

TEST(TraceReplay, MoreExpertsThanTheModelIsAnError) {
  RoutingContext ctx;
  ctx.num_experts = 8;
  EXPECT_THROW(make_trace_replay(sample_trace(), ctx), InfeasibleError);
}

// --- broken files -----------------------------------------------------------------------------

namespace {
const std::string kMeta = R"({"type": "meta", "top_k": 2, "num_experts": 4, "model_id": "m"})";
std::string route(int idx, const std::string& ids) {
  return R"({"type": "route", "req_id": "r0", "token_idx": )" + std::to_string(idx) + R"(, "layer": 0, "topk_ids": )" + ids + "}";
}
void expect_error(const std::string& name, const std::string& text, const std::string& want) {
  auto p = write_file(name, text);
  std::string e = error_of([&] { read_trace(p); });
  EXPECT_NE(e.find(p.string()), std::string::npos) << e;
  EXPECT_NE(e.find(want), std::string::npos) << "want '" << want << "' in: " << e;
}
}  // namespace

TEST(TraceErrors, VllmBadIdWrongKNonMonotoneMalformed) {
  expect_error("bad_id.jsonl", kMeta + "\n" + route(0, "[1, 2]") + "\n" + route(1, "[1, 4]") + "\n", ":3:1: error:");
  expect_error("bad_id2.jsonl", kMeta + "\n" + route(0, "[1, 9]") + "\n", "expert id 9 outside [0, 4)");
  expect_error("wrong_k.jsonl", kMeta + "\n" + route(0, "[1, 2, 3]") + "\n", ":2:1: error: topk_ids: wrong k: 3 ids");
  expect_error("order.jsonl", kMeta + "\n" + route(5, "[1, 2]") + "\n" + route(4, "[1, 2]") + "\n", ":3:1: error: token_idx: 4 does not follow 5");
  expect_error("malformed.jsonl", kMeta + "\n" + route(0, "[1, 2]") + "\n{\"type\": \"route\", \"lay\n", ":3:1: error: record: malformed JSON");
  expect_error("no_meta.jsonl", route(0, "[1, 2]") + "\n", ":1:1: error:");
}

TEST(TraceErrors, CanonicalJsonlStepsMustIncrease) {
  std::string meta = R"({"type":"meta","format":"moesim-trace","version":1,"num_experts":4,"top_k":1})";
  expect_error("steps.jsonl", meta + "\n{\"step\":2,\"layer\":0,\"token\":0,\"experts\":[1]}\n{\"step\":1,\"layer\":0,\"token\":0,\"experts\":[1]}\n",
               ":3:1: error: step 1 layer 0 token 0: steps must not decrease");
  expect_error("k.jsonl", meta + "\n{\"step\":0,\"layer\":0,\"token\":0,\"experts\":[1]}\n{\"step\":0,\"layer\":0,\"token\":1,\"experts\":[1,2]}\n",
               ":3:1: error: step 0 layer 0 token 1: wrong k");
}

TEST(TraceErrors, CsvNpyLoadsBinary) {
  expect_error("bad.csv", "step,layer,token,expert,weight\n0,0,0,3,0.5\n0,0,1,x,0.5\n", ":3:1: error: expert: 'x' is not a valid integer");
  expect_error("cols.csv", "step,layer,tokn,expert\n", "unknown column 'tokn'");
  expect_error("short.csv", "step,layer,token,expert\n0,0,0\n", ":2:1: error: row: 3 cells, header has 4");
  expect_error("ragged.loads", "1 2 3\n4 5\n", ":2:1: error: layer 1: 2 experts, line 1 has 3");
  expect_error("float.npy", std::string("\x93NUMPY\x01\x00\x46\x00", 10) + "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }" + std::string(10, ' ') + "\n",
               "not an integer type");
  expect_error("garbage.mtrace", "MOETRACX", "magic");
  // A valid binary trace cut short: the error names the block and the byte offset.
  auto p = tmp_dir() / "cut.mtrace";
  write_trace(sample_trace(), p, TraceFormat::binary);
  std::string bytes;
  {
    std::ifstream in(p, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  expect_error("cut2.mtrace", bytes.substr(0, bytes.size() - 7), "truncated");
  expect_error("cut3.mtrace", bytes.substr(0, bytes.size() - 7), "block 5 (byte");
}
