#pragma once
// Shared by the text trace readers: assembling per-token records into a Trace with checks that name
// the file and line of the offending record. Internal to models/routing.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "models/routing/trace.hpp"
#include "sim/core/errors.hpp"

namespace moesim::routing::io {

[[noreturn]] void fail_at(const std::string& file, int64_t line, const std::string& what, const std::string& detail);

// Accumulates token records in file order. Steps must not decrease; within a (step, layer), token
// indices must increase; every record of a layer must have the same number of slots unless
// `pad_variable_k` (then shorter tokens are padded with kNoExpert).
class TraceBuilder {
 public:
  TraceBuilder(std::string file, std::optional<int32_t> num_experts, bool pad_variable_k);

  void add(int64_t line, int64_t step, int32_t layer, int64_t token, const std::vector<int32_t>& experts,
           const std::vector<float>& weights, const std::vector<uint8_t>& dropped);
  // Same, with per-slot bit-widths (empty = none; all records of a layer agree).
  void add(int64_t line, int64_t step, int32_t layer, int64_t token, const std::vector<int32_t>& experts,
           const std::vector<float>& weights, const std::vector<uint8_t>& dropped, const std::vector<uint8_t>& bits);
  void add_load(int64_t line, int64_t step, int32_t layer, std::vector<int64_t> load);
  // The trace; meta.num_experts is the given count, or max id + 1 when none was given.
  Trace finish(TraceMeta meta);

 private:
  struct Token {
    size_t offset, slots;
  };
  struct LayerAcc {
    std::vector<Token> tokens;
    std::vector<int32_t> experts;
    std::vector<float> weights;
    std::vector<uint8_t> dropped;
    std::vector<uint8_t> bits;
    bool has_bits = false;
    int64_t last_token = -1;
    int64_t first_line = 0;
    bool has_weights = false, has_dropped = false;
    std::vector<int64_t> load;
  };
  void flush_step();
  TraceLayer finish_layer(int32_t layer, LayerAcc& acc) const;

  std::string file_;
  std::optional<int32_t> num_experts_;
  bool pad_;
  int32_t max_id_ = -1;
  int64_t step_ = INT64_MIN;
  int64_t step_line_ = 0;
  std::map<int32_t, LayerAcc> layers_;
  std::vector<TraceStep> done_;
  bool any_load_ = false, any_routes_ = false;
};

// Shortest text that reads back to exactly the same float.
std::string float_text(float v);

}  // namespace moesim::routing::io
