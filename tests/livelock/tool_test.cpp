// Lab 03 under ThreadSanitizer (this binary is built only in the tsan preset, and runs the
// TSan-built livelock binary): no variant has a data race or a lock-order inversion, forced or
// natural, broken or fixed. A livelock is not a data race; TSan sees nothing even while one happens,
// and the lab's own counting is what catches it (the scheduler's, forced; the watchdog's, natural).
#include "lab_run.hpp"

#include "hazardlab/outcome.hpp"

#include <gtest/gtest.h>

namespace tool_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::testing::run_lab_json;

const std::vector<std::string> kTsanEnv{"TSAN_OPTIONS=halt_on_error=0 exitcode=66"};

hazardlab::testing::LabRun livelock_lab(std::vector<std::string> args) {
  return run_lab_json("livelock", std::move(args), {}, kTsanEnv);
}

std::vector<std::string> all_variants() {
#ifdef HAZARDLAB_WITH_SOLUTIONS
  return {"broken", "exercise", "fixed-backoff", "fixed-ordering"};
#else
  return {"broken", "exercise"};
#endif
}

TEST(LivelockTsanThreadForm, BrokenForcedLivelocksWithoutAReport) {
  // The workers take and give back their first resource in lockstep until the scheduler calls it a
  // livelock (100 attempts each, long before the deadline): every access TSan watches is ordered by
  // a lock or an atomic.
  for (const std::string workers : {"2", "3"}) {
    const auto run =
        livelock_lab({"--variant", "broken", "--workers", workers, "--schedule", "forced", "--timeout", "1000"});
    // Under control the stuck run's threads are stopped and joined and the program exits normally,
    // so a report would also turn the status into TSan's 66; the report itself is checked too.
    EXPECT_EQ(run.process.exit_status, hazardlab::kExitStuck) << workers << " workers\n" << run.process.err;
    EXPECT_EQ(run.report.value("outcome", ""), "stuck:livelock") << workers << " workers\n" << run.process.out;
    EXPECT_EQ(run.process.err.find("WARNING: ThreadSanitizer"), std::string::npos) << workers << " workers\n"
                                                                                   << run.process.err;
  }
}

TEST(LivelockTsanThreadForm, BrokenNaturalNestsTheResourcesBothWaysWithoutAnInversion) {
  // Natural runs get their units done: worker 0 holds resource 0 while it try_locks resource 1, and
  // worker 1 holds resource 1 while it try_locks resource 0, so both orders nest, every unit. TSan's
  // deadlock detector adds no lock-order edge for a try_lock (it cannot wait, so it cannot close a
  // cycle), and so reports no lock-order-inversion here; it does for the same nesting with blocking
  // locks (lab 02's broken, tests/deadlock/tool_test.cpp, in this same build).
  const auto run = livelock_lab({"--variant", "broken", "--units", "1000", "--timeout", "60000"});
  EXPECT_EQ(run.process.exit_status, hazardlab::kExitCorrect) << run.process.err;
  ASSERT_TRUE(run.report.is_object()) << run.process.out;
  EXPECT_EQ(run.report.at("outcome"), "correct"); // every unit done: both orders really nested
  EXPECT_EQ(run.process.err.find("lock-order-inversion"), std::string::npos) << run.process.err;
  EXPECT_EQ(run.process.err.find("WARNING: ThreadSanitizer"), std::string::npos) << run.process.err;
}

TEST(LivelockTsanThreadForm, NoVariantIsReportedInEitherSchedule) {
  for (const std::string& variant : all_variants()) {
    for (const std::string schedule : {"natural", "forced"}) {
      SCOPED_TRACE(variant + ", " + schedule);
      // The exercise is the student's: as handed out it livelocks forced like broken, once solved it
      // completes; either way TSan must have nothing to say about it.
      const bool may_livelock = schedule == "forced" && (variant == "broken" || variant == "exercise");
      const auto run = livelock_lab({"--variant", variant, "--schedule", schedule, "--workers", "3", "--units", "500",
                                     "--timeout", may_livelock ? "3000" : "60000"});
      EXPECT_EQ(run.process.err.find("WARNING: ThreadSanitizer"), std::string::npos) << run.process.err;
      const std::string outcome = run.report.value("outcome", "");
      const bool livelocked = may_livelock && !(variant == "exercise" && outcome == "correct");
      // A report would make the status TSan's 66, livelocked or not (the stuck run's threads are
      // joined, see above); the report is checked as well.
      EXPECT_EQ(run.process.exit_status, livelocked ? hazardlab::kExitStuck : hazardlab::kExitCorrect)
          << run.process.err;
      EXPECT_EQ(outcome, livelocked ? "stuck:livelock" : "correct") << run.process.out;
    }
  }
}

} // namespace tool_test
