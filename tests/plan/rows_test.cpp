// Result rows: a JSON Lines file cut mid-line reads back without its partial line; CSV quoting;
// rows of different sweeps are not silently mixed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "sim/plan/rows.hpp"

namespace moesim::plan {
namespace {

namespace fs = std::filesystem;

TEST(Rows, PartialLastLineIsDroppedAndCutOffOnAppend) {
  fs::path f = fs::temp_directory_path() / ("moesim_rows_" + std::to_string(::getpid()) + ".jsonl");
  {
    std::ofstream o(f, std::ios::binary);
    o << R"({"point":0,"key":"a","status":"ok"})" << "\n" << R"({"point":1,"key":"b","sta)";
  }
  auto r = read_rows(f);
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.dropped_lines, 1);
  {
    RowAppender app(f, r.valid_bytes, false);
    app.append(Row{{"point", 1}, {"key", "b"}, {"status", "ok"}});
  }
  auto again = read_rows(f);
  ASSERT_EQ(again.rows.size(), 2u);
  EXPECT_EQ(again.dropped_lines, 0);
  EXPECT_EQ(again.rows[1]["key"], "b");
  fs::remove(f);
}

TEST(Rows, CsvQuotesCommasQuotesAndNewlines) {
  std::vector<Row> rows = {Row{{"point", 0}, {"repeat", 0}, {"key", "k"}, {"status", "error"}, {"error", "a, \"b\"\nc"}, {"device", "x"},
                              {"axes", {{"parallel", "{ kind = 'ep', ep = 8 }"}}}, {"metrics", Row::object()}}};
  const std::string csv = csv_text(rows);
  EXPECT_NE(csv.find("\"a, \"\"b\"\"\nc\""), std::string::npos) << csv;
  EXPECT_NE(csv.find("\"{ kind = 'ep', ep = 8 }\""), std::string::npos) << csv;
}

TEST(Rows, SortedUniqueOrdersByPointAndRefusesMixedSweeps) {
  std::vector<Row> rows = {Row{{"point", 2}, {"key", "c"}}, Row{{"point", 0}, {"key", "a"}}, Row{{"point", 2}, {"key", "c"}}};
  auto s = sorted_unique(rows);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0]["point"], 0);
  rows.push_back(Row{{"point", 0}, {"key", "other"}});
  EXPECT_THROW(sorted_unique(rows), std::runtime_error);
}

}  // namespace
}  // namespace moesim::plan
