// Lab 01 under ThreadSanitizer (this binary is built only in the tsan preset, and runs the
// TSan-built race binary): what the tool reports, and what it cannot see.
#include "lab_run.hpp"

#include "hazardlab/outcome.hpp"

#include <gtest/gtest.h>

namespace tool_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::testing::run_lab_json;

const std::vector<std::string> kTsanEnv{"TSAN_OPTIONS=halt_on_error=0 exitcode=66"};
constexpr const char* kRaceReport = "WARNING: ThreadSanitizer: data race";

hazardlab::testing::LabRun race(const std::string& form, const std::string& variant, const std::string& schedule) {
  return run_lab_json(
      "race", {"--form", form, "--variant", variant, "--schedule", schedule, "--workers", "2", "--iterations", "2000"},
      {}, kTsanEnv);
}

class RaceTsanThreadForm : public ::testing::TestWithParam<std::string> {};

TEST_P(RaceTsanThreadForm, BrokenIsReportedAsADataRaceOnTheCounter) {
  const auto run = race("thread", "broken", GetParam());
  EXPECT_EQ(run.process.exit_status, 66) << "TSan's exit code when it reported something";
  const std::string& err = run.process.err;
  ASSERT_NE(err.find(kRaceReport), std::string::npos) << err;
  // The report names the racing accesses: the broken increment's read and write of the counter.
  EXPECT_NE(err.find("race::Broken<hazardlab::ThreadForm>::increment"), std::string::npos) << err;
  EXPECT_NE(err.find("labs/01-race/broken.hpp"), std::string::npos) << err;
}

TEST(RaceTsanThreadForm, ForcedScheduleOrdersNothingEvenOnTheFirstPass) {
  // One increment per worker: the only pass is the lockstep, where the scheduler hands the turn
  // to the other worker between the read and the write. The race is still reported, so the
  // hand-over (a relaxed atomic and a raw futex) added no happens-before edge.
  const auto run = run_lab_json(
      "race", {"--variant", "broken", "--schedule", "forced", "--workers", "2", "--iterations", "1"}, {}, kTsanEnv);
  EXPECT_EQ(run.report["metrics"]["lost"], 1) << run.process.out;
  EXPECT_NE(run.process.err.find(kRaceReport), std::string::npos) << run.process.err;
}

TEST(RaceTsanThreadForm, StuckRunReadsNothingTheAbandonedThreadsStillWrite) {
#ifndef HAZARDLAB_WITH_SOLUTIONS
  GTEST_SKIP() << "needs solutions/01-race";
#endif
  // A correct variant past its deadline: the lab must report it stuck without touching the
  // counter that its abandoned threads are still incrementing (that read would be a race of the
  // lab's own making).
  const auto run = run_lab_json(
      "race", {"--variant", "fixed-mutex", "--workers", "2", "--iterations", "1000000000", "--timeout", "300"}, {},
      kTsanEnv);
  EXPECT_EQ(run.process.exit_status, hazardlab::kExitStuck) << run.process.err;
  EXPECT_EQ(run.report["outcome"], "stuck:too-slow");
  EXPECT_EQ(run.process.err.find("ThreadSanitizer"), std::string::npos) << run.process.err;
}

TEST_P(RaceTsanThreadForm, FixesAreClean) {
#ifndef HAZARDLAB_WITH_SOLUTIONS
  GTEST_SKIP() << "needs solutions/01-race";
#endif
  for (const std::string variant : {"fixed-mutex", "fixed-atomic"}) {
    const auto run = race("thread", variant, GetParam());
    EXPECT_EQ(run.process.exit_status, 0) << variant << "\n" << run.process.err;
    EXPECT_EQ(run.process.err.find("ThreadSanitizer"), std::string::npos) << variant << "\n" << run.process.err;
    EXPECT_EQ(run.report["outcome"], "correct") << variant;
  }
}

INSTANTIATE_TEST_SUITE_P(Race, RaceTsanThreadForm, ::testing::Values("natural", "forced"),
                         [](const auto& info) { return info.param; });

TEST(RaceTsanProcessForm, CannotSeeARaceBetweenProcesses) {
  // TSan watches the memory accesses of one process. Each child is its own process with its own
  // shadow memory, so the race over the shared mapping goes unreported while updates are still
  // lost: the tool's blind spot, pinned down.
  const auto run = race("process", "broken", "forced");
  EXPECT_EQ(run.process.exit_status, hazardlab::kExitHazard) << run.process.err;
  EXPECT_EQ(run.report["outcome"], "hazard:lost-updates");
  EXPECT_EQ(run.process.err.find(kRaceReport), std::string::npos) << run.process.err;
}

} // namespace tool_test
