#pragma once
// The side-by-side table and CSV of `moesim compare` (cmd_compare.cpp measures the rows). Training
// rows show iteration time, speedup, All-to-All / sparse-collective / migration time; inference
// and offload rows show TTFT, TPOT and tokens/s. Numbers are fixed-point, each column's unit in its
// header, rows aligned to the longest name. Memory at the peak is split by category, every
// category that is non-zero in some row (kv_cache and expert_cache included). A speedup between
// variants on different numbers of devices is not printed (footnote says why).
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace moesim::app {

// Row / baseline throughput ratio (training: baseline iteration time / row's; inference: row's
// tokens/s / baseline's). nullopt when the two run on different numbers of devices.
std::optional<double> compare_speedup(const nlohmann::json& row, const nlohmann::json& base);

std::string compare_table(const std::vector<nlohmann::json>& rows, const nlohmann::json& base);
std::vector<std::string> compare_footnotes(const std::vector<nlohmann::json>& rows, const nlohmann::json& base);
std::string compare_csv(const std::vector<nlohmann::json>& rows, const nlohmann::json& base);

}  // namespace moesim::app
