#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "models/routing/trace.hpp"

namespace routing_test {

inline std::filesystem::path tmp_dir() {
  auto d = std::filesystem::temp_directory_path() / ("moesim_routing_" + std::to_string(::getpid()));
  std::filesystem::create_directories(d);
  return d;
}

inline std::filesystem::path write_file(const std::string& name, const std::string& text) {
  auto p = tmp_dir() / name;
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "<no error>";
}

inline std::filesystem::path olmoe_trace() {
  return std::filesystem::path(MOESIM_SOURCE_DIR) / "../shared/data/routing/olmoe-1b-7b_layer0_vllm.jsonl";
}

}  // namespace routing_test
