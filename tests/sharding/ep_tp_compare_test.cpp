// End to end at small scale: `moesim compare` on the ep_tp scenarios (DeepSpeed-MoE inference,
// LocMoE training): the coordinated All-to-All moves 1/tp of the naive one's inter-node bytes and
// as many as plain EP (each token crosses once), and LocMoE's locality routing lowers them.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace moesim::sharding {
namespace {

namespace fs = std::filesystem;
const fs::path kDir = fs::path(MOESIM_SOURCE_DIR) / "scenarios/sharding";

// Column `column` of every row of `moesim compare` on `file` (variant -> value; the CSV keeps 6
// significant digits, hence the 1e-5 tolerances below).
std::map<std::string, double> compare_column(const std::string& file, const std::string& sets, const std::string& column) {
  fs::path out = fs::temp_directory_path() / fmt::format("moesim_ep_tp_{}_{}", ::getpid(), fs::path(file).stem().string());
  fs::create_directories(out);
  std::string cmd = fmt::format("{} compare {} {} --csv {} --out {} > {} 2>&1", MOESIM_BINARY, (kDir / file).string(), sets,
                                (out / "t.csv").string(), out.string(), (out / "stdout.txt").string());
  std::map<std::string, double> rows;
  if (std::system(cmd.c_str()) != 0) {
    ADD_FAILURE() << std::ifstream(out / "stdout.txt").rdbuf();
    return rows;
  }
  std::ifstream in(out / "t.csv");
  std::string header, line;
  std::getline(in, header);
  std::vector<std::string> names;
  std::stringstream hs(header);
  for (std::string c; std::getline(hs, c, ',');) names.push_back(c);
  size_t col = std::find(names.begin(), names.end(), column) - names.begin();
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
    if (col < cells.size()) rows[cells[0]] = std::stod(cells[col]);
  }
  fs::remove_all(out);
  return rows;
}

TEST(EpTpCompare, DeepSpeedCoordinatedAllToAllCrossesNodesOncePerTokenLikeEp) {
  auto inter = compare_column("deepspeed_moe_1_3b_128_inference.toml",
                              "--set model.layers=4 --set workload.generate_tokens=2", "inter_node_a2a_bytes");
  ASSERT_EQ(inter.size(), 13u);
  for (int P : {16, 32, 64}) {
    double ep = inter[fmt::format("ep{}", P)], coord = inter[fmt::format("ep_tp{}", P)],
           naive = inter[fmt::format("ep_tp{}_naive", P)];
    EXPECT_GT(coord, 0) << P;
    EXPECT_NEAR(naive, 4.0 * coord, 1e-5 * naive) << P << ": naive TP ranks each send every token (tp = 4)";
    EXPECT_NEAR(coord, ep, 1e-5 * ep) << P << ": experts on the same nodes, each token sent once";
  }
  EXPECT_EQ(inter["ep_tp8"], 0) << "one node: nothing crosses";
}

TEST(EpTpCompare, LocMoeGroupWiseAllToAllAndLocalityRouting) {
  auto inter = compare_column("locmoe_pangu_64npu.toml",
                              "--set model.layers=2 --set model.moe.first_dense_layers=0 --set workload.steps=2 "
                              "--set workload.seq_len=64",
                              "inter_node_a2a_bytes");
  ASSERT_EQ(inter.size(), 5u);
  EXPECT_NEAR(inter["naive"], 8.0 * inter["grouped"], 1e-5 * inter["naive"]) << "tp = 8";
  EXPECT_LT(inter["grouped_locmoe"], 0.8 * inter["grouped"]) << "the locality bias keeps tokens on their server";
  EXPECT_LT(inter["ep_locmoe"], 0.8 * inter["ep"]);
}

}  // namespace
}  // namespace moesim::sharding
