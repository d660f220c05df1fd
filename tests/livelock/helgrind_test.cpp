// Lab 03 under Helgrind (valgrind --tool=helgrind on this build's livelock binary, thread form,
// with the kit's suppressions): what the tool reports on each variant. None of its reports is about
// the livelock, which it cannot see: a false lock-order alarm wherever a try_lock succeeds while
// the first resource is held (broken natural, and the correct fixed-backoff too), and nothing at
// all on a forced broken run.
#include "helgrind.hpp"
#include "lab_run.hpp"

#include "hazardlab/outcome.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

namespace helgrind_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::testing::Completed;
using hazardlab::testing::error_summary;
using hazardlab::testing::lines_of;

constexpr int kUnits = 200;

Completed helgrind(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"--workers", "2", "--units", std::to_string(kUnits)};
  argv.insert(argv.end(), args.begin(), args.end());
  return hazardlab::testing::run_under_helgrind("livelock", argv);
}

constexpr const char* kLockOrder = R"(Thread #\d+: lock order "0x[0-9A-F]+ before 0x[0-9A-F]+" violated)";

// A natural run in which the second resource is try_locked while the first is held, by both workers
// in opposite orders: Helgrind flags the order, once for each unit of the worker that nested second
// (a failed try acquires nothing and is not counted), as one context, and nothing else. A false
// alarm: a try_lock cannot wait, so these two workers can never deadlock.
void expect_only_the_false_lock_order_alarm(const std::string& variant, const std::string& instantiation) {
  const auto run = helgrind({"--variant", variant});
  EXPECT_EQ(run.exit_status, hazardlab::kExitCorrect) << run.out << run.err;
  EXPECT_NE(run.out.find("outcome   correct"), std::string::npos) << run.out;
  EXPECT_TRUE(std::regex_search(run.err, std::regex(kLockOrder))) << run.err;
  // The nesting is the lab's polite attempt, inlined into the worker of this variant.
  EXPECT_NE(run.err.find("livelock::polite_worker<hazardlab::ThreadForm, livelock::" + instantiation),
            std::string::npos)
      << run.err;
  EXPECT_EQ(run.err.find("Possible data race"), std::string::npos) << run.err;
  const auto summary = error_summary(run);
  EXPECT_EQ(summary.contexts, 1) << run.err;
  EXPECT_EQ(summary.errors, kUnits) << run.err;
}

TEST(LivelockHelgrindThreadForm, BrokenNaturalIsAFalseLockOrderAlarm) {
  expect_only_the_false_lock_order_alarm("broken", "Broken<hazardlab::ThreadForm>");
}

TEST(LivelockHelgrindThreadForm, BackoffIsTheSameFalseAlarmOnACorrectFix) {
#ifndef HAZARDLAB_WITH_SOLUTIONS
  GTEST_SKIP() << "needs solutions/03-livelock";
#endif
  expect_only_the_false_lock_order_alarm("fixed-backoff", "FixedBackoff<hazardlab::ThreadForm>");
}

TEST(LivelockHelgrindThreadForm, OrderingIsClean) {
#ifndef HAZARDLAB_WITH_SOLUTIONS
  GTEST_SKIP() << "needs solutions/03-livelock";
#endif
  const auto run = helgrind({"--variant", "fixed-ordering"});
  EXPECT_EQ(run.exit_status, hazardlab::kExitCorrect) << run.out << run.err;
  EXPECT_NE(run.out.find("outcome   correct"), std::string::npos) << run.out;
  EXPECT_EQ(error_summary(run).errors, 0) << run.err;
}

TEST(LivelockHelgrindThreadForm, BrokenForcedLivelockIsInvisible) {
  // No try ever succeeds, so Helgrind never sees the two resources nested: no lock-order report.
  // The workers never synchronize with each other at all (each only ever gets its own first
  // resource), and what they share besides (the scheduler's state, the locks' holder records, the
  // workers' counters) is the kit's bookkeeping, left out of Helgrind's checks. When the scheduler
  // calls the livelock, the workers leave by throwing, all at once, and the unwinder's set-up that
  // Helgrind would flag is suppressed (scripts/helgrind.supp). Nothing is left to report.
  const auto run = helgrind({"--variant", "broken", "--schedule", "forced", "--timeout", "60000"});
  EXPECT_EQ(run.exit_status, hazardlab::kExitStuck) << run.out << run.err;
  EXPECT_NE(run.out.find("outcome   stuck:livelock"), std::string::npos) << run.out;
  EXPECT_EQ(error_summary(run).errors, 0) << run.err;
}

} // namespace helgrind_test
