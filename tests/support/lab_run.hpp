#pragma once
// Running a lab binary with --json and reading its one JSON object.
#include "leftovers.hpp"
#include "subprocess.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

namespace hazardlab::testing {

struct LabRun {
  Completed process;
  nlohmann::json report; // the one JSON object on stdout (null if there was none)
};

// Runs bin/<lab> with args plus --json; the prefix (e.g. {"taskset", "-c", "0"}) goes before it.
inline LabRun run_lab_json(const std::string& lab, std::vector<std::string> args,
                           const std::vector<std::string>& prefix = {},
                           const std::vector<std::string>& extra_env = {}) {
  std::vector<std::string> argv = prefix;
  argv.push_back(bin_path(lab));
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--json");
  LabRun run{hazardlab::testing::run(argv, std::chrono::seconds(120), extra_env), nullptr};
  run.report = nlohmann::json::parse(run.process.out, nullptr, /*allow_exceptions=*/false);
  return run;
}

// Runs bin/<lab> with bad arguments: exit 2, one line on stderr containing `expected`, nothing on
// stdout, and nothing added to /dev/shm.
inline void expect_usage_error(const std::string& lab, const std::vector<std::string>& args,
                               const std::string& expected) {
  std::vector<std::string> argv{bin_path(lab)};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto shm_before = shm_objects();
  const auto done = run(argv);
  EXPECT_EQ(done.exit_status, 2) << done.err;
  EXPECT_EQ(std::count(done.err.begin(), done.err.end(), '\n'), 1) << done.err;
  EXPECT_NE(done.err.find(expected), std::string::npos) << done.err;
  EXPECT_TRUE(done.out.empty()) << done.out;
  EXPECT_EQ(shm_objects(), shm_before);
}

// The --timeline chart's row named `name` ("reader 0", padded to the longest name), or "" when
// there is none.
inline std::string chart_row(const std::string& out, const std::string& name) {
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with(name + " ")) continue;
    const auto bar = line.find('|');
    if (bar != std::string::npos && line.find_first_not_of(' ', name.size()) == bar) return line;
  }
  return "";
}

} // namespace hazardlab::testing
