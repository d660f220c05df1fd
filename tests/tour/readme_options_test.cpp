// The README's table of which lab takes which option, kept true: for every lab, the options its
// --help lists are exactly the rows ticked in its column.
#include "lab_run.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace readme_options_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::testing::bin_path;
using hazardlab::testing::run;

std::vector<std::string> cells(const std::string& row) {
  std::vector<std::string> out;
  std::stringstream in(row);
  std::string cell;
  std::getline(in, cell, '|'); // before the first bar
  while (std::getline(in, cell, '|')) {
    const auto first = cell.find_first_not_of(' ');
    const auto last = cell.find_last_not_of(' ');
    out.push_back(first == std::string::npos ? "" : cell.substr(first, last - first + 1));
  }
  return out;
}

// lab -> the options ticked in its column.
std::map<std::string, std::set<std::string>> readme_table() {
  std::ifstream readme(HAZARDLAB_SOURCE_DIR "/README.md");
  std::vector<std::string> labs;
  std::map<std::string, std::set<std::string>> taken;
  for (std::string line; std::getline(readme, line);) {
    if (line.starts_with("| option |")) {
      const auto header = cells(line);
      labs.assign(header.begin() + 1, header.end() - 1); // between "option" and "what it is"
      continue;
    }
    if (labs.empty() || !line.starts_with("| `--")) continue;
    const auto row = cells(line);
    const std::string option = row.at(0).substr(1, row.at(0).size() - 2); // without the backticks
    for (std::size_t i = 0; i < labs.size(); ++i)
      if (!row.at(i + 1).empty()) taken[labs[i]].insert(option);
  }
  return taken;
}

// The options a lab's --help lists: "  --form TEXT…", "  -h,--help …".
std::set<std::string> help_options(const std::string& lab) {
  const auto help = run({bin_path(lab), "--help"});
  EXPECT_EQ(help.exit_status, 0) << help.err;
  std::set<std::string> options;
  const std::regex option_line(R"(^\s+(?:-\w,)?(--[a-z][a-z-]*)(?:,(--[a-z][a-z-]*))?)");
  std::stringstream in(help.out);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, option_line)) continue;
    options.insert(m[1]);
    if (m[2].matched) options.insert(m[2]);
  }
  return options;
}

TEST(Readme, ItsTableOfOptionsIsWhatEveryLabsHelpSays) {
  const auto table = readme_table();
  ASSERT_EQ(table.size(), 6u) << "the README's table of options was not found, or not with six labs";
  for (const auto& [lab, options] : table) {
    SCOPED_TRACE(lab);
    EXPECT_EQ(options, help_options(lab));
  }
}

} // namespace readme_options_test
