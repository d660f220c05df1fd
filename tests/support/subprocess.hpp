#pragma once
// Runs a program as a student or a grader would, and captures what it printed.
#include "hazardlab/subprocess.hpp"

#include <string>

namespace hazardlab::testing {

using hazardlab::Completed;

inline Completed run(const std::vector<std::string>& argv, std::chrono::milliseconds limit = std::chrono::seconds(120),
                     const std::vector<std::string>& extra_env = {}) {
  return run_command(argv, limit, extra_env);
}

// A lab binary of this build: bin_path("race") -> ".../build/default/bin/race".
inline std::string bin_path(const std::string& name) { return std::string(HAZARDLAB_BIN_DIR) + "/" + name; }

} // namespace hazardlab::testing
