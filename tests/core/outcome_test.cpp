// Outcomes: the verdict's name and exit status, the numbers a student reads, how an unfinished
// run is reported, and the statistics of many trials.
#include "hazardlab/outcome.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>

namespace outcome_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::RunResult;
using hazardlab::TrialStats;
using hazardlab::Verdict;
using hazardlab::WorkersReport;

RunResult result_of(Verdict verdict, std::string kind = "", std::string summary = "") {
  RunResult result;
  result.verdict = verdict;
  result.kind = std::move(kind);
  result.summary = std::move(summary);
  return result;
}

TEST(Outcome, GroupedPutsCommasBetweenThousands) {
  EXPECT_EQ(hazardlab::grouped(0), "0");
  EXPECT_EQ(hazardlab::grouped(7), "7");
  EXPECT_EQ(hazardlab::grouped(999), "999");
  EXPECT_EQ(hazardlab::grouped(1000), "1,000");
  EXPECT_EQ(hazardlab::grouped(12345), "12,345");
  EXPECT_EQ(hazardlab::grouped(999999), "999,999");
  EXPECT_EQ(hazardlab::grouped(1000000), "1,000,000");
  EXPECT_EQ(hazardlab::grouped(1234567), "1,234,567");
  EXPECT_EQ(hazardlab::grouped(std::numeric_limits<std::uint64_t>::max()), "18,446,744,073,709,551,615");
}

TEST(Outcome, ExitStatusPerVerdict) {
  EXPECT_EQ(hazardlab::exit_status(Verdict::correct), 0);
  EXPECT_EQ(hazardlab::exit_status(Verdict::hazard), 3);
  EXPECT_EQ(hazardlab::exit_status(Verdict::stuck), 4);
  EXPECT_EQ(hazardlab::exit_status(Verdict::crashed), 1);
  EXPECT_EQ(hazardlab::kExitCorrect, 0);
  EXPECT_EQ(hazardlab::kExitOther, 1);
  EXPECT_EQ(hazardlab::kExitUsage, 2);
  EXPECT_EQ(hazardlab::kExitHazard, 3);
  EXPECT_EQ(hazardlab::kExitStuck, 4);
}

TEST(Outcome, VerdictNames) {
  EXPECT_EQ(hazardlab::to_string(Verdict::correct), "correct");
  EXPECT_EQ(hazardlab::to_string(Verdict::hazard), "hazard");
  EXPECT_EQ(hazardlab::to_string(Verdict::stuck), "stuck");
  EXPECT_EQ(hazardlab::to_string(Verdict::crashed), "crashed");
}

TEST(Outcome, OutcomeIsTheVerdictAndItsKind) {
  EXPECT_EQ(result_of(Verdict::correct).outcome(), "correct");
  EXPECT_EQ(result_of(Verdict::hazard, "lost-updates").outcome(), "hazard:lost-updates");
  EXPECT_EQ(result_of(Verdict::stuck, "deadlock").outcome(), "stuck:deadlock");
  EXPECT_EQ(result_of(Verdict::crashed).outcome(), "crashed");
}

TEST(Outcome, FinishedRunIsNotUnfinished) {
  WorkersReport report;
  report.ending = WorkersReport::Ending::finished;
  report.progress = {10, 20};
  report.attempts = {10, 20};
  report.finished = {true, true};
  EXPECT_FALSE(hazardlab::unfinished_run(report).has_value());
}

TEST(Outcome, TimedOutRunIsStuckWithPerWorkerDetails) {
  WorkersReport report;
  report.ending = WorkersReport::Ending::timed_out;
  report.what = "the 100 ms deadline passed with 1 of 2 workers unfinished";
  report.progress = {1234567, 0};
  report.attempts = {1234567, 42};
  report.finished = {true, false};
  report.cpu_ms = {98.25, 0.5};
  report.elapsed_ms = 123.5;

  const auto result = hazardlab::unfinished_run(report);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->verdict, Verdict::stuck);
  EXPECT_EQ(result->kind, "timeout");
  EXPECT_EQ(result->outcome(), "stuck:timeout");
  EXPECT_EQ(result->summary, "stuck: the 100 ms deadline passed with 1 of 2 workers unfinished");
  EXPECT_DOUBLE_EQ(result->elapsed_ms, 123.5);
  ASSERT_EQ(result->details.size(), 2u);
  EXPECT_EQ(result->details[0],
            "worker 0: finished, 1,234,567 units of work done in 1,234,567 attempts, 98.2 ms CPU of 123.5 ms wall");
  EXPECT_EQ(result->details[1],
            "worker 1: NOT finished, 0 units of work done in 42 attempts, 0.5 ms CPU of 123.5 ms wall");

  const auto& workers = result->metrics.at("workers");
  ASSERT_EQ(workers.size(), 2u);
  EXPECT_EQ(workers[0].at("worker"), 0);
  EXPECT_EQ(workers[0].at("finished"), true);
  EXPECT_EQ(workers[0].at("progress"), 1234567);
  EXPECT_EQ(workers[1].at("worker"), 1);
  EXPECT_EQ(workers[1].at("finished"), false);
  EXPECT_EQ(workers[1].at("progress"), 0);
  EXPECT_EQ(workers[1].at("attempts"), 42);
  EXPECT_DOUBLE_EQ(workers[0].at("cpu_ms").get<double>(), 98.25);
}

// At the deadline the watchdog looked for 100 ms more: what moved decides the kind.
WorkersReport stuck_report(bool progressing, bool attempting) {
  WorkersReport report;
  report.ending = WorkersReport::Ending::timed_out;
  report.what = "the 500 ms deadline passed with 2 of 2 workers unfinished";
  report.progress = {0, 0};
  report.attempts = {0, 0};
  report.finished = {false, false};
  report.cpu_ms = {0, 0};
  report.still_progressing = progressing;
  report.attempts_during_look = attempting ? 1 : 0;
  return report;
}

TEST(Outcome, AttemptsWithoutProgressAtTheDeadlineIsALivelock) {
  auto report = stuck_report(false, true);
  report.attempts = {60'123, 60'122};
  report.attempts_during_look = 12'345;
  report.cpu_ms = {590.0, 588.5};
  report.elapsed_ms = 600;
  const auto result = hazardlab::unfinished_run(report);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->outcome(), "stuck:livelock");
  EXPECT_EQ(result->summary, "livelock: the 500 ms deadline passed with 2 of 2 workers unfinished; they kept trying "
                             "(12,345 attempts in the last 100 ms) but none made progress");
  EXPECT_EQ(result->details[0], "worker 0: NOT finished, 0 units of work done in 60,123 attempts, 590.0 ms CPU of "
                                "600.0 ms wall");
}

TEST(Outcome, WhatMovedAtTheDeadlineDecidesTheKind) {
  EXPECT_EQ(hazardlab::unfinished_run(stuck_report(false, false))->kind, "timeout"); // frozen
  EXPECT_EQ(hazardlab::unfinished_run(stuck_report(false, true))->kind, "livelock");
  // Progress outranks attempts: a run still getting work done is slow, not livelocked.
  EXPECT_EQ(hazardlab::unfinished_run(stuck_report(true, true))->kind, "too-slow");
  EXPECT_EQ(hazardlab::unfinished_run(stuck_report(true, false))->kind, "too-slow");
}

TEST(Outcome, CrashedRunIsCrashedWithTheWatchdogsWords) {
  WorkersReport report;
  report.ending = WorkersReport::Ending::crashed;
  report.what = "worker 1 was killed by signal 11 (Segmentation fault)";
  report.progress = {5, 6};
  report.attempts = {5, 6};
  report.finished = {true, false};
  const auto result = hazardlab::unfinished_run(report);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->verdict, Verdict::crashed);
  EXPECT_EQ(result->outcome(), "crashed");
  EXPECT_EQ(result->summary, report.what);
}

TEST(Outcome, HistogramCountsEachOutcome) {
  TrialStats stats;
  EXPECT_EQ(stats.trials(), 0);
  EXPECT_TRUE(stats.histogram().empty());
  for (int i = 0; i < 3; ++i)
    stats.add(result_of(Verdict::hazard, "lost-updates"));
  for (int i = 0; i < 2; ++i)
    stats.add(result_of(Verdict::correct));
  stats.add(result_of(Verdict::stuck, "deadlock"));
  stats.add(result_of(Verdict::hazard, "torn-read"));
  EXPECT_EQ(stats.trials(), 7);
  const std::map<std::string, int> expected{
      {"correct", 2}, {"hazard:lost-updates", 3}, {"hazard:torn-read", 1}, {"stuck:deadlock", 1}};
  EXPECT_EQ(stats.histogram(), expected);
}

TEST(Outcome, RepresentativeIsTheMostSevereAndItsFirstRun) {
  TrialStats stats;
  stats.add(result_of(Verdict::correct, "", "correct 1"));
  EXPECT_EQ(stats.representative().summary, "correct 1");
  stats.add(result_of(Verdict::hazard, "lost-updates", "hazard 1"));
  stats.add(result_of(Verdict::correct, "", "correct 2"));
  stats.add(result_of(Verdict::hazard, "lost-updates", "hazard 2"));
  EXPECT_EQ(stats.representative().summary, "hazard 1");
  stats.add(result_of(Verdict::stuck, "deadlock", "stuck 1"));
  stats.add(result_of(Verdict::hazard, "lost-updates", "hazard 3"));
  EXPECT_EQ(stats.representative().summary, "stuck 1");
  stats.add(result_of(Verdict::crashed, "", "crashed 1"));
  stats.add(result_of(Verdict::stuck, "deadlock", "stuck 2"));
  stats.add(result_of(Verdict::crashed, "", "crashed 2"));
  EXPECT_EQ(stats.representative().summary, "crashed 1");
  EXPECT_EQ(stats.representative().verdict, Verdict::crashed);
}

TEST(Outcome, RepresentativeTrialCountsFromOneAndIsTheFirstOfTheMostSevere) {
  TrialStats stats;
  EXPECT_EQ(stats.representative_trial(), 0); // nothing run yet
  stats.add(result_of(Verdict::correct, "", "correct 1"));
  EXPECT_EQ(stats.representative_trial(), 1); // a single run is trial 1
  for (int i = 0; i < 5; ++i)
    stats.add(result_of(Verdict::correct));
  EXPECT_EQ(stats.representative_trial(), 1);                        // all correct: the first
  stats.add(result_of(Verdict::hazard, "lost-updates", "hazard 1")); // trial 7
  stats.add(result_of(Verdict::correct));
  stats.add(result_of(Verdict::hazard, "lost-updates", "hazard 2"));
  EXPECT_EQ(stats.representative_trial(), 7);
  EXPECT_EQ(stats.representative().summary, "hazard 1");
  stats.add(result_of(Verdict::stuck, "deadlock", "stuck 1")); // trial 10
  stats.add(result_of(Verdict::stuck, "deadlock", "stuck 2"));
  EXPECT_EQ(stats.representative_trial(), 10);
  EXPECT_EQ(stats.representative().summary, "stuck 1");
  EXPECT_EQ(stats.trials(), 11);
}

TEST(Outcome, DistributionOfNumericMetrics) {
  TrialStats stats;
  EXPECT_TRUE(stats.distribution().empty());
  for (const double lost : {3.0, 10.0, 1.0, 2.0}) {
    RunResult result = result_of(Verdict::hazard, "lost-updates");
    result.metrics["lost"] = lost;
    result.metrics["expected"] = 100;
    result.metrics["note"] = "not a number";
    stats.add(result);
  }
  const auto distribution = stats.distribution();
  EXPECT_FALSE(distribution.contains("note")) << distribution.dump();
  ASSERT_TRUE(distribution.contains("lost")) << distribution.dump();
  const auto& lost = distribution.at("lost");
  EXPECT_DOUBLE_EQ(lost.at("min").get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(lost.at("p50").get<double>(), 3.0); // the upper median of 1, 2, 3, 10
  EXPECT_DOUBLE_EQ(lost.at("mean").get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(lost.at("max").get<double>(), 10.0);
  const auto& expected = distribution.at("expected");
  EXPECT_DOUBLE_EQ(expected.at("min").get<double>(), 100.0);
  EXPECT_DOUBLE_EQ(expected.at("p50").get<double>(), 100.0);
  EXPECT_DOUBLE_EQ(expected.at("mean").get<double>(), 100.0);
  EXPECT_DOUBLE_EQ(expected.at("max").get<double>(), 100.0);
  // In the order the metrics first appeared.
  ASSERT_EQ(distribution.size(), 2u);
  EXPECT_EQ(distribution.begin().key(), "lost");
}

TEST(Outcome, DistributionOfAnOddNumberOfTrialsHasTheMiddleAsP50) {
  TrialStats stats;
  for (const int value : {9, 1, 5}) {
    RunResult result;
    result.metrics["observed"] = value;
    stats.add(result);
  }
  const auto observed = stats.distribution().at("observed");
  EXPECT_DOUBLE_EQ(observed.at("min").get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(observed.at("p50").get<double>(), 5.0);
  EXPECT_DOUBLE_EQ(observed.at("mean").get<double>(), 5.0);
  EXPECT_DOUBLE_EQ(observed.at("max").get<double>(), 9.0);
}

} // namespace outcome_test
