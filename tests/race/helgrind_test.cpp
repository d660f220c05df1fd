// Lab 01 under Helgrind (valgrind --tool=helgrind on this build's race binary, with the kit's
// suppressions): what the tool reports on each variant, and what it cannot see.
#include "lab_run.hpp"

#include "hazardlab/outcome.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace helgrind_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::testing::Completed;

Completed helgrind(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"valgrind",
                                "--tool=helgrind",
                                "--suppressions=" + std::string(HAZARDLAB_SOURCE_DIR) + "/scripts/helgrind.supp",
                                hazardlab::testing::bin_path("race"),
                                "--workers",
                                "2",
                                "--iterations",
                                "300"};
  argv.insert(argv.end(), args.begin(), args.end());
  return hazardlab::testing::run(argv, std::chrono::seconds(120));
}

// Helgrind's error count, summed over every process it watched (one line per process).
int helgrind_errors(const Completed& run) {
  static const std::regex summary(R"(ERROR SUMMARY: (\d+) errors)");
  int errors = 0;
  int summaries = 0;
  for (std::sregex_iterator it(run.err.begin(), run.err.end(), summary), end; it != end; ++it, ++summaries)
    errors += std::stoi((*it)[1]);
  EXPECT_GT(summaries, 0) << "no Helgrind summary:\n" << run.err;
  return errors;
}

TEST(RaceHelgrindThreadForm, BrokenIsReportedAsAPossibleDataRace) {
  const auto run = helgrind({"--variant", "broken"});
  EXPECT_GT(helgrind_errors(run), 0);
  EXPECT_NE(run.err.find("Possible data race during read of size 8"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("Possible data race during write of size 8"), std::string::npos) << run.err;
  // The racing accesses are the broken increment's read and write (at -O2 shown as the inlined
  // frame `increment (broken.hpp:N)`).
  EXPECT_NE(run.err.find("increment"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("broken.hpp"), std::string::npos) << run.err;
}

TEST(RaceHelgrindThreadForm, FixesAreClean) {
#ifndef HAZARDLAB_WITH_SOLUTIONS
  GTEST_SKIP() << "needs solutions/01-race";
#endif
  for (const std::string variant : {"fixed-mutex", "fixed-atomic"}) {
    const auto run = helgrind({"--variant", variant});
    EXPECT_EQ(run.exit_status, hazardlab::kExitCorrect) << variant << "\n" << run.err;
    EXPECT_EQ(helgrind_errors(run), 0) << variant << "\n" << run.err;
  }
}

TEST(RaceHelgrindProcessForm, SeesOneProcessAtATime) {
  // Each child is watched on its own: updates are lost between processes, and Helgrind, like
  // TSan, reports nothing.
  const auto run = helgrind({"--form", "process", "--variant", "broken", "--schedule", "forced"});
  EXPECT_EQ(run.exit_status, hazardlab::kExitHazard) << run.err;
  EXPECT_EQ(helgrind_errors(run), 0) << run.err;
}

} // namespace helgrind_test
