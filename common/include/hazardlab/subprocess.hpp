#pragma once
// Running a program and capturing what it printed: the tour runs every lab this way, and the
// tests run labs as a student or a grader would.
#include <chrono>
#include <string>
#include <vector>

namespace hazardlab {

struct Completed {
  int exit_status = -1; // the exit status, or -1 if a signal ended it
  int signal = 0;       // the signal that ended it, if any
  bool timed_out = false;
  std::string out;
  std::string err;
  double wall_ms = 0;
};

// Runs argv[0] (searched in PATH) with argv, in a process group of its own, which is killed
// whole if the program outlives `limit`. extra_env entries ("NAME=value") are added.
Completed run_command(const std::vector<std::string>& argv, std::chrono::milliseconds limit,
                      const std::vector<std::string>& extra_env = {});

} // namespace hazardlab
