#pragma once
// Running a lab under Helgrind (valgrind --tool=helgrind, with the kit's suppressions) and reading
// what it says.
#include "subprocess.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace hazardlab::testing {

// bin/<lab> with args, under Helgrind.
inline Completed run_under_helgrind(const std::string& lab, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"valgrind", "--tool=helgrind",
                                "--suppressions=" + std::string(HAZARDLAB_SOURCE_DIR) + "/scripts/helgrind.supp",
                                bin_path(lab)};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, std::chrono::seconds(120));
}

struct HelgrindSummary {
  int errors = -1;
  int contexts = -1;
};

// Helgrind's "ERROR SUMMARY: N errors from M contexts" (the thread form is one process).
inline HelgrindSummary error_summary(const Completed& run) {
  static const std::regex summary(R"(ERROR SUMMARY: (\d+) errors from (\d+) contexts)");
  std::smatch match;
  if (!std::regex_search(run.err, match, summary)) {
    ADD_FAILURE() << "no Helgrind summary:\n" << run.err;
    return {};
  }
  return {std::stoi(match[1]), std::stoi(match[2])};
}

// Helgrind's lines, without the "==pid== " prefix.
inline std::vector<std::string> lines_of(const std::string& err) {
  static const std::regex prefix(R"(^==\d+== ?)");
  std::vector<std::string> lines;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);)
    lines.push_back(std::regex_replace(line, prefix, ""));
  return lines;
}

} // namespace hazardlab::testing
