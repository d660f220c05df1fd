// Lab 02 under --schedule explore: every interleaving of a small run within 2 preemptions, in both
// forms, at the sizes the command line explores (2 workers × 2 transfers on 4 accounts, or 2
// philosophers × 2 meals; labs/02-deadlock/main.cpp).
//  - broken, explored, freezes in a cycle on some schedules (the space is small enough to exhaust),
//    and the untouched exercise does exactly the same;
//  - every reference fix, explored, is correct on every schedule, and the space is exhausted;
//  - the shortest failing schedule, replayed from its printed choices, freezes the same way 20
//    times out of 20.
// Every number here is a count of schedules or steps, never a time: it holds on one core or many,
// idle or loaded.
#include "form_names.hpp"
#include "leftovers.hpp"

#include "variants.hpp"

#include "hazardlab/explore.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace {

using hazardlab::Exploration;
using hazardlab::RunContext;
using hazardlab::RunFunction;

// The sizes --schedule explore takes when none is given (labs/02-deadlock/main.cpp).
deadlock::Params small(deadlock::Scenario scenario) {
  deadlock::Params params;
  params.scenario = scenario;
  params.accounts = 4;
  params.transfers = 2;
  params.meals = 2;
  return params;
}

template <class Form>
RunContext two_workers() {
  RunContext context;
  context.form = Form::kind;
  context.workers = 2;
  context.seed = 42;
  // Not a timing threshold: the scheduler ends every explored run by its steps. A deadline a loaded
  // machine could reach would cut a run short, and two runs of one schedule would then differ.
  context.timeout = std::chrono::minutes(5);
  return context;
}

template <class Form, template <class> class Variant>
RunFunction runs(const deadlock::Params& params) {
  return [params](const RunContext& context) { return deadlock::run<Form, Variant<Form>>(params, context); };
}

Exploration explored(const RunFunction& run, const RunContext& context) {
  return hazardlab::explore(run, context, hazardlab::ExploreOptions{2, 10'000});
}

void expect_all_correct_and_exhausted(const Exploration& e) {
  SCOPED_TRACE(nlohmann::json(e.histogram).dump());
  EXPECT_TRUE(e.exhausted);
  EXPECT_GT(e.schedules, 1u);
  EXPECT_FALSE(e.found_failure);
  EXPECT_EQ(e.worst, hazardlab::Verdict::correct);
  EXPECT_EQ(e.histogram.size(), 1u);
  EXPECT_EQ(e.histogram.count("correct"), 1u);
  EXPECT_EQ(e.given_up, 0u);
  EXPECT_EQ(e.incomplete, 0u);
}

// Some schedules freeze in a cycle, some do not; the space is exhausted all the same.
void expect_a_deadlock_found(const Exploration& e) {
  SCOPED_TRACE(nlohmann::json(e.histogram).dump());
  EXPECT_TRUE(e.exhausted);
  ASSERT_TRUE(e.found_failure);
  EXPECT_EQ(e.worst, hazardlab::Verdict::stuck);
  EXPECT_EQ(e.reported.outcome(), "stuck:deadlock");
  EXPECT_GT(e.histogram.count("stuck:deadlock"), 0u);
  EXPECT_GT(e.histogram.count("correct"), 0u); // without a preemption in the window, no cycle
  // The table says who waits for what, and for whom.
  const std::string table = hazardlab::schedule_table(e.reported.control, 2);
  EXPECT_NE(table.find("holding the first lock"), std::string::npos) << table;
  EXPECT_NE(table.find("(held by worker 1)"), std::string::npos) << table;
  EXPECT_NE(table.find("(held by worker 0)"), std::string::npos) << table;
}

// The shortest failing schedule's choices, replayed, give the same run every time.
void expect_replay_repeats(const RunFunction& run, RunContext context, const Exploration& e) {
  ASSERT_TRUE(e.found_failure);
  ASSERT_TRUE(e.reported.control.choices_complete);
  context.schedule = hazardlab::Schedule::replay;
  context.replay = hazardlab::decode_choices(e.reported.control.choices, context.workers);
  for (int i = 0; i < 20; ++i) {
    SCOPED_TRACE(i);
    const auto result = run(context);
    const auto record = hazardlab::take_control_record();
    EXPECT_EQ(result.outcome(), e.reported.outcome()) << result.summary;
    EXPECT_EQ(record.choices, e.reported.control.choices);
    EXPECT_EQ(record.steps, e.reported.control.steps);
  }
}

template <class Form>
class DeadlockExplore : public hazardlab::testing::LeavesNothingBehind {};
TYPED_TEST_SUITE(DeadlockExplore, hazardlab::testing::BothForms, hazardlab::testing::FormName);

TYPED_TEST(DeadlockExplore, BrokenFreezesOnSomeScheduleAndItsReplayFreezesEveryTime) {
  const hazardlab::testing::AdoptOrphans adopt;
  for (const auto scenario : {deadlock::Scenario::bank, deadlock::Scenario::philosophers}) {
    SCOPED_TRACE(scenario == deadlock::Scenario::bank ? "bank" : "philosophers");
    const auto run = runs<TypeParam, deadlock::Broken>(small(scenario));
    const Exploration broken = explored(run, two_workers<TypeParam>());
    expect_a_deadlock_found(broken);
    expect_replay_repeats(run, two_workers<TypeParam>(), broken);

    // The untouched exercise is broken's copy: the same schedules, the same outcomes.
    const Exploration exercise =
        explored(runs<TypeParam, deadlock::Exercise>(small(scenario)), two_workers<TypeParam>());
    EXPECT_EQ(exercise.schedules, broken.schedules);
    EXPECT_EQ(exercise.histogram, broken.histogram);
  }
}

TYPED_TEST(DeadlockExplore, EveryFixIsCorrectOnEveryInterleaving) {
  const hazardlab::testing::AdoptOrphans adopt;
  for (const auto scenario : {deadlock::Scenario::bank, deadlock::Scenario::philosophers}) {
    SCOPED_TRACE(scenario == deadlock::Scenario::bank ? "bank" : "philosophers");
    const auto params = small(scenario);
    {
      SCOPED_TRACE("fixed-ordering");
      expect_all_correct_and_exhausted(
          explored(runs<TypeParam, deadlock::FixedOrdering>(params), two_workers<TypeParam>()));
    }
    {
      SCOPED_TRACE("fixed-lock-all");
      expect_all_correct_and_exhausted(
          explored(runs<TypeParam, deadlock::FixedLockAll>(params), two_workers<TypeParam>()));
    }
  }
  SCOPED_TRACE("fixed-waiter");
  expect_all_correct_and_exhausted(explored(
      runs<TypeParam, deadlock::FixedWaiter>(small(deadlock::Scenario::philosophers)), two_workers<TypeParam>()));
}

} // namespace
