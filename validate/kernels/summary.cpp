// mb_summary: the headline numbers (headline.hpp) of one or more result CSVs.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>

#include "validate/common/csv.hpp"
#include "validate/common/headline.hpp"

namespace mb = moesim::bench;

int main(int argc, char** argv) {
  std::vector<std::string> files;
  CLI::App app{"Headline numbers of moesim microbench CSVs"};
  app.add_option("files", files, "result CSVs")->required();
  CLI11_PARSE(app, argc, argv);
  std::vector<mb::Record> all;
  try {
    for (const auto& f : files) {
      std::ifstream in(f);
      if (!in) throw std::runtime_error("cannot read " + f);
      auto rf = mb::read_results(in);
      all.insert(all.end(), rf.records.begin(), rf.records.end());
    }
  } catch (const std::exception& e) {
    std::cerr << "mb_summary: error: " << e.what() << '\n';
    return 1;
  }
  std::cout << mb::format_headlines(mb::headlines(all));
  return 0;
}
