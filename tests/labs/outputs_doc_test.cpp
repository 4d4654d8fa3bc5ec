// docs/outputs.md documents every output a run writes: each summary.json key (dotted path, `[]`
// for array elements), each CSV file with each of its columns (under that file's own heading),
// and each memory category. The test runs one small scenario per workload kind and checks every
// key, file and column written against the page, so a new column fails until it is documented.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tests/labs/lab_pages.hpp"

namespace moesim::labs {
namespace {

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

bool documented(const std::string& doc, const std::string& name) { return doc.find("`" + name + "`") != std::string::npos; }

// The part of the page under `### <file>` up to the next heading of level 2 or 3.
std::string section_of(const std::string& doc, const std::string& file) {
  auto at = doc.find("\n### `" + file + "`");
  if (at == std::string::npos) return "";
  auto end = doc.find("\n##", at + 4);
  return doc.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

void collect_keys(const nlohmann::json& j, const std::string& path, std::set<std::string>& keys, std::set<std::string>& categories) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (path.ends_with("memory_at_peak")) {
        categories.insert(it.key());
        continue;
      }
      const std::string p = path.empty() ? it.key() : path + "." + it.key();
      if (!it.value().is_object()) keys.insert(p);  // leaves and arrays; objects by their members
      collect_keys(it.value(), p, keys, categories);
    }
  } else if (j.is_array()) {
    for (const auto& e : j) collect_keys(e, path + "[]", keys, categories);
  }
}

struct Written {
  std::set<std::string> keys, categories;
  std::map<std::string, std::set<std::string>> csv_columns;  // file -> columns
  std::set<std::string> files;
};

// One small run per workload kind: inference, training (pipelined), offload, CPU-GPU hybrid, serving.
Written run_all() {
  const std::string script = R"(
moesim run scenarios/examples/quickstart.toml --out out >/dev/null
moesim run scenarios/examples/mixtral_train_2x8_a100_ep16.toml --set model.layers=4 --set workload.steps=1 --set workload.seq_len=256 --set parallel.pp=2 --set parallel.ep=8 --set workload.micro_batches=2 --set 'name="pp"' --out out >/dev/null
moesim run scenarios/offload/rpi4_sd_switch_base_8.toml --set workload.generate_tokens=2 --out out >/dev/null
moesim run scenarios/offload/hybrid_t4_xeon_mixtral.toml --set model.layers=2 --set workload.generate_tokens=2 --set 'name="hybrid"' --out out >/dev/null
moesim run scenarios/serving/mixtral_8xh100_ep8_poisson.toml --set model.layers=2 --set workload.arrival.requests=6 --set output.timeline=true --out out >/dev/null
cp -r out "$KEEP"
)";
  const fs::path keep = fs::temp_directory_path() / ("moesim_outputs_doc_" + std::to_string(::getpid()));
  fs::remove_all(keep);
  const auto r = run_block("KEEP='" + keep.string() + "'\n" + script, "outputs");
  EXPECT_EQ(r.code, 0) << r.output;
  Written w;
  int runs = 0;
  for (const auto& run : fs::directory_iterator(keep)) {
    ++runs;
    for (const auto& f : fs::directory_iterator(run.path())) {
      const std::string name = f.path().filename().string();
      w.files.insert(name);
      if (name == "summary.json") collect_keys(nlohmann::json::parse(slurp(f.path())), "", w.keys, w.categories);
      if (f.path().extension() == ".csv") {
        std::istringstream in(slurp(f.path()));
        std::string header, row;
        std::getline(in, header);
        std::istringstream cols(header);
        for (std::string c; std::getline(cols, c, ',');) w.csv_columns[name].insert(c);
        if (name == "memory.csv")
          while (std::getline(in, row)) {
            auto a = row.find(','), b = row.find(',', a + 1);
            w.categories.insert(row.substr(a + 1, b - a - 1));
          }
      }
    }
  }
  EXPECT_EQ(runs, 5);
  fs::remove_all(keep);
  return w;
}

TEST(OutputsDoc, EveryFileKeyColumnAndCategoryWrittenIsDocumented) {
  const std::string doc = slurp(source_dir() / "docs/outputs.md");
  ASSERT_FALSE(doc.empty());
  const Written w = run_all();
  ASSERT_GT(w.keys.size(), 40u);
  for (const auto& f : w.files) EXPECT_TRUE(documented(doc, f)) << "output file " << f << " not in docs/outputs.md";
  for (const auto& k : w.keys) EXPECT_TRUE(documented(doc, k)) << "summary.json key `" << k << "` not in docs/outputs.md";
  for (const auto& c : w.categories) EXPECT_TRUE(documented(doc, c)) << "memory category `" << c << "` not in docs/outputs.md";
  for (const auto& [file, cols] : w.csv_columns) {
    const std::string sec = section_of(doc, file);
    EXPECT_FALSE(sec.empty()) << "no `### `" << file << "`` section in docs/outputs.md";
    for (const auto& c : cols) EXPECT_TRUE(documented(sec, c)) << file << " column `" << c << "` not documented in its section";
  }
  for (const char* must : {"links.csv", "timeline.json", "requests.csv", "kv.csv"}) EXPECT_TRUE(w.files.count(must)) << must;
}

}  // namespace
}  // namespace moesim::labs
