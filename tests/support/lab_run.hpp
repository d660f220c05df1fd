#pragma once
// Running a lab binary with --json and reading its one JSON object.
#include "subprocess.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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

} // namespace hazardlab::testing
