// Lab 04 under --schedule explore: every interleaving of a small run within 2 preemptions.
// Exploring decides exclusion only (a writer alone, a turn alone): fairness needs infinite runs, so
// the lab never judges starvation there, and says so in one line.
//  - Both reference fixes, explored: every schedule correct, and the space exhausted.
//  - The broken variants, explored, are correct too: their locks do exclude; what they get wrong
//    is fairness, which only the natural and forced schedules show (hazard_test.cpp).
//  - A ticket lock whose ticket is drawn with a load and then a store (Form::Atomic, as the
//    exercise's hint says) is caught: two workers draw the same ticket and both get in.
// Every number here is a count of schedules or of entries, never a time: it holds on one core or
// many, idle or loaded.
#include "exploring.hpp"
#include "form_names.hpp"
#include "lab_run.hpp"
#include "leftovers.hpp"

#include "run.hpp"

#include "hazardlab/explore.hpp"
#include "hazardlab/outcome.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace explore_test { // named, not anonymous: its binary's test files are one translation unit

using nlohmann::json;

// Explores a variant through the lab binary, as a student would, and returns its report.
json explored(const std::string& form, const std::string& variant, const std::vector<std::string>& scenario) {
  std::vector<std::string> args{"--form", form, "--variant", variant, "--schedule", "explore", "--preemptions", "2"};
  args.insert(args.end(), scenario.begin(), scenario.end());
  const auto lab = hazardlab::testing::run_lab_json("starvation", args);
  EXPECT_TRUE(lab.report.is_object()) << lab.process.out << lab.process.err;
  if (!lab.report.is_object()) return json::object();
  EXPECT_EQ(lab.process.exit_status,
            lab.report.value("worst_verdict", "") == "correct" ? hazardlab::kExitCorrect : hazardlab::kExitHazard)
      << lab.process.err;
  return lab.report;
}

// Every schedule within the bound ran, and every one was correct.
void expect_all_correct_and_exhausted(const json& report) {
  SCOPED_TRACE(report.dump());
  ASSERT_TRUE(report.contains("explore"));
  const json& explore = report.at("explore");
  EXPECT_EQ(report.value("outcome", ""), "correct");
  EXPECT_EQ(report.value("worst_verdict", ""), "correct");
  EXPECT_TRUE(explore.value("exhausted", false));
  const auto schedules = explore.value("schedules", std::uint64_t{0});
  EXPECT_GT(schedules, 1u); // the two workers meet at more than one place
  EXPECT_EQ(explore.at("histogram"), json({{"correct", schedules}}));
  EXPECT_EQ(explore.value("given_up", std::uint64_t{1}), 0u);
  EXPECT_EQ(explore.value("incomplete", std::uint64_t{1}), 0u);
  // The one line that says what exploring decides here.
  EXPECT_NE(explore.value("note", "").find("fairness"), std::string::npos);
  EXPECT_EQ(report.at("metrics").value("not_excluded", std::uint64_t{1}), 0u);
}

const std::vector<std::string> kReadersWriters{"--scenario", "readers-writers"};
const std::vector<std::string> kGreedy{"--scenario", "greedy"};

// What a student writes when the ticket is drawn in two steps: a load, then a store.
template <class Form>
struct TicketDrawnWithLoadAndStore {
  struct Lock {
    typename Form::template Atomic<std::uint32_t> next_ticket{0};
    typename Form::template Atomic<std::uint32_t> now_serving{0};

    void lock(starvation::Turn& turn) {
      const std::uint32_t mine = next_ticket.load();
      next_ticket.store(mine + 1);
      turn.in_line();
      while (now_serving.load() != mine)
        hazardlab::spin_pause();
    }
    void unlock() { now_serving.store(now_serving.load() + 1); }
  };
};

template <class Form>
class StarvationExplore : public hazardlab::testing::LeavesNothingBehind {};
TYPED_TEST_SUITE(StarvationExplore, hazardlab::testing::BothForms, hazardlab::testing::FormName);

TYPED_TEST(StarvationExplore, TurnstileExcludesOnEveryInterleaving) {
  const hazardlab::testing::AdoptOrphans adopt;
  expect_all_correct_and_exhausted(
      explored(hazardlab::testing::form_option<TypeParam>(), "fixed-turnstile", kReadersWriters));
}

TYPED_TEST(StarvationExplore, TicketLockExcludesOnEveryInterleaving) {
  const hazardlab::testing::AdoptOrphans adopt;
  expect_all_correct_and_exhausted(explored(hazardlab::testing::form_option<TypeParam>(), "fixed-ticket", kGreedy));
}

TYPED_TEST(StarvationExplore, BrokenLocksExcludeAndExploringDoesNotJudgeTheirFairness) {
  // Reader preference and a plain mutex starve a worker only over a long run; within an explored
  // run they keep everyone apart, and that is all exploring decides.
  const hazardlab::testing::AdoptOrphans adopt;
  const std::string form = hazardlab::testing::form_option<TypeParam>();
  expect_all_correct_and_exhausted(explored(form, "broken", kReadersWriters));
  expect_all_correct_and_exhausted(explored(form, "broken", kGreedy));
}

TYPED_TEST(StarvationExplore, TicketDrawnWithLoadAndStoreLetsTwoWorkersIn) {
  // Worker 0 loads ticket 0; preempted, worker 1 loads ticket 0 too, stores 1, and is served;
  // worker 0 stores 1, is served as well, and finds worker 1 inside: one preemption is enough.
  const hazardlab::testing::AdoptOrphans adopt;
  starvation::Params params;
  params.scenario = starvation::Scenario::greedy;
  params.ops = 1; // one turn each: the run ends whatever the counters hold afterwards
  const hazardlab::RunFunction run = [&params](const hazardlab::RunContext& c) {
    return starvation::run<TypeParam, TicketDrawnWithLoadAndStore<TypeParam>>(params, c);
  };
  const auto found = hazardlab::testing::explored(run, hazardlab::testing::explore_context<TypeParam>(2, 1));
  EXPECT_TRUE(found.exhausted);
  EXPECT_TRUE(found.found_failure);
  EXPECT_NE(found.worst, hazardlab::Verdict::correct);
  ASSERT_TRUE(found.histogram.contains("hazard:not-excluded")) << json(found.histogram).dump();
  EXPECT_GT(found.histogram.at("correct"), 0u); // most interleavings do not split the draw
  // Other splits leave a number that nobody holds: the worker waiting for it spins for ever.
  EXPECT_EQ(found.reported.verdict == hazardlab::Verdict::correct, false) << found.reported.summary;
}

TYPED_TEST(StarvationExplore, TicketDrawnWithLoadAndStoreIsCaughtAtTheDefaultSizes) {
  // At the sizes the grader explores (two turns each), a duplicate ticket also leaves a number
  // that nobody holds, so those runs then stop; the judge names the first cause, two inside.
  const hazardlab::testing::AdoptOrphans adopt;
  starvation::Params params;
  params.scenario = starvation::Scenario::greedy;
  params.ops = 2;
  const hazardlab::RunFunction run = [&params](const hazardlab::RunContext& c) {
    return starvation::run<TypeParam, TicketDrawnWithLoadAndStore<TypeParam>>(params, c);
  };
  const auto found = hazardlab::testing::explored(run, hazardlab::testing::explore_context<TypeParam>(2, 1));
  EXPECT_TRUE(found.found_failure);
  EXPECT_NE(found.worst, hazardlab::Verdict::correct);
  EXPECT_TRUE(found.histogram.contains("hazard:not-excluded")) << json(found.histogram).dump();
}

} // namespace explore_test
