// Lab 04 under ThreadSanitizer (this binary is built only in the tsan preset, and runs the
// TSan-built starvation binary, thread form): no variant has a data race, in either scenario,
// natural or forced, broken or fixed. Starvation is not a data race: every lock here, unfair or
// not, orders the accesses it guards, and the lab's bookkeeping is std::atomic. TSan sees nothing
// even while a writer starves, and the lab's own judge is what catches it.
#include "lab_run.hpp"

#include "hazardlab/outcome.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tool_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::testing::run_lab_json;

const std::vector<std::string> kTsanEnv{"TSAN_OPTIONS=halt_on_error=0 exitcode=66"};

// (--ops: 300 by default; the forced greedy runs that must starve use the lab's default, 1,000, as
// tests/starvation/hazard_test.cpp does.)
hazardlab::testing::LabRun starvation_lab(std::vector<std::string> args, const std::string& ops = "300") {
  args.insert(args.end(), {"--form", "thread", "--ops", ops, "--timeout", "60000"});
  return run_lab_json("starvation", std::move(args), {}, kTsanEnv);
}

struct Case {
  std::string variant;
  std::string scenario;
};

std::vector<Case> all_cases() {
  std::vector<Case> cases{{"broken", "readers-writers"},
                          {"broken", "greedy"},
                          {"broken-shared-mutex", "readers-writers"},
                          {"exercise", "readers-writers"},
                          {"exercise", "greedy"}};
#ifdef HAZARDLAB_WITH_SOLUTIONS
  cases.push_back({"fixed-turnstile", "readers-writers"});
  cases.push_back({"fixed-ticket", "greedy"});
#endif
  return cases;
}

TEST(StarvationTsanThreadForm, BrokenForcedStillStarvesWithoutAReport) {
  // TSan slows every access it watches, and the forced schedule does not care: the scheduler
  // decides who runs (the readers' relay, the greedy worker chosen whenever it can run), not timing.
  for (const std::string scenario : {"readers-writers", "greedy"}) {
    SCOPED_TRACE(scenario);
    const auto run = starvation_lab({"--variant", "broken", "--scenario", scenario, "--schedule", "forced"}, "1000");
    EXPECT_EQ(run.process.exit_status, hazardlab::kExitHazard) << run.process.err;
    EXPECT_EQ(run.report.value("outcome", ""), "hazard:starvation") << run.process.out;
    EXPECT_EQ(run.process.err.find("WARNING: ThreadSanitizer"), std::string::npos) << run.process.err;
  }
  const auto shared = starvation_lab({"--variant", "broken-shared-mutex", "--schedule", "forced"});
  EXPECT_EQ(shared.process.exit_status, hazardlab::kExitHazard) << shared.process.err;
  EXPECT_EQ(shared.report.value("outcome", ""), "hazard:starvation") << shared.process.out;
  EXPECT_EQ(shared.process.err.find("WARNING: ThreadSanitizer"), std::string::npos) << shared.process.err;
}

TEST(StarvationTsanThreadForm, NoVariantIsReportedInEitherSchedule) {
  for (const auto& [variant, scenario] : all_cases()) {
    for (const std::string schedule : {"natural", "forced"}) {
      SCOPED_TRACE(fmt::format("{}, {}, {}", variant, scenario, schedule));
      const auto run = starvation_lab({"--variant", variant, "--scenario", scenario, "--schedule", schedule});
      EXPECT_EQ(run.process.err.find("WARNING: ThreadSanitizer"), std::string::npos) << run.process.err;
      // A TSan report would make the exit status 66. Otherwise: the ticket lock never lets anyone
      // starve; the others may or may not, depending on the schedule (the exercise is the
      // student's), but every one of them excludes and finishes.
      const std::string outcome = run.report.value("outcome", "");
      if (variant == "fixed-ticket") {
        EXPECT_EQ(run.process.exit_status, hazardlab::kExitCorrect) << run.process.err;
        EXPECT_EQ(outcome, "correct") << run.process.out;
      } else {
        EXPECT_TRUE(outcome == "correct" || outcome == "hazard:starvation") << run.process.out;
        EXPECT_EQ(run.process.exit_status, outcome == "correct" ? hazardlab::kExitCorrect : hazardlab::kExitHazard)
            << run.process.err;
      }
    }
  }
}

} // namespace tool_test
