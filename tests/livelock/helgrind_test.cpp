// Lab 03 under Helgrind (valgrind --tool=helgrind on this build's livelock binary, thread form,
// with the kit's suppressions): what the tool reports on each variant. None of its reports is about
// the livelock, which it cannot see: a false lock-order alarm wherever a try_lock succeeds while
// the first resource is held (broken natural, and the correct fixed-backoff too), and, on a forced
// broken run, in an optimized build, false data-race alarms on the virtual clock's std::atomic
// accesses.
#include "helgrind.hpp"
#include "lab_run.hpp"

#include "hazardlab/outcome.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

namespace {

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
  // resource); what they share (the virtual clock's positions, the locks' holder records, the
  // workers' counters) is relaxed std::atomic, which Helgrind does not model. Optimized, those
  // are plain loads and stores, and Helgrind flags them as data races: false alarms, every one on
  // an atomic access. At -O0 (the debug preset, make helgrind) libstdc++ cannot see the memory
  // order as a constant and emits xchg, a locked instruction that Helgrind treats as atomic: no
  // report at all. When the watchdog gives up the threads leave by throwing WorkerStopped, and if
  // two throw together (most optimized runs here, 1 in 8 at -O0) Helgrind also flags the
  // unwinder's one-time set-up inside libgcc_s, ordered by a pthread_once it does not follow. The
  // program ends while a livelocked thread may still hold its first resource ("Exiting thread
  // still holds 1 lock"). Nothing else: no race on the lab's own data, nothing about the livelock.
  const auto run = helgrind({"--variant", "broken", "--schedule", "forced", "--timeout", "1000"});
  EXPECT_EQ(run.exit_status, hazardlab::kExitStuck) << run.out << run.err;
  EXPECT_NE(run.out.find("outcome   stuck:livelock"), std::string::npos) << run.out;
  EXPECT_FALSE(std::regex_search(run.err, std::regex("lock order"))) << run.err;

  const auto lines = lines_of(run.err);
  int races = 0, races_on_atomics = 0, still_holding = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (std::regex_search(lines[i], std::regex(R"(^Thread #\d+: Exiting thread still holds 1 lock)"))) ++still_holding;
    if (!lines[i].starts_with("Possible data race")) continue;
    ++races;
    // The racing access is the report's first frame: an inlined std::atomic member is named by its
    // header; the unwinder has no symbols, only its library.
    std::size_t frame = i + 1;
    while (frame < lines.size() && !lines[frame].starts_with("   at 0x"))
      ++frame;
    ASSERT_LT(frame, lines.size()) << lines[i];
    const bool on_an_atomic =
        lines[frame].find("(atomic_base.h:") != std::string::npos || lines[frame].find("(atomic:") != std::string::npos;
    races_on_atomics += on_an_atomic;
    EXPECT_TRUE(on_an_atomic || lines[frame].find("libgcc_s.so") != std::string::npos) << lines[i] << "\n"
                                                                                       << lines[frame];
  }
  // The lab binary is built with the same flags as this test.
#ifdef __OPTIMIZE__
  EXPECT_GT(races_on_atomics, 0) << run.err;
#else
  EXPECT_EQ(races_on_atomics, 0) << run.err;
#endif
  // Each context is printed once: the races and the locks still held are all there is.
  EXPECT_EQ(error_summary(run).contexts, races + still_holding) << run.err;
}

} // namespace
