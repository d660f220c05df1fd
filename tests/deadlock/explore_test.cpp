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
#include "exercise.hpp"
#include "exploring.hpp"
#include "form_names.hpp"
#include "leftovers.hpp"

#include "variants.hpp"

#include "hazardlab/explore.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace explore_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::Exploration;
using hazardlab::RunContext;
using hazardlab::RunFunction;
using namespace hazardlab::testing; // exploring.hpp: explore_context, explored, expect_…

// The sizes --schedule explore takes when none is given (labs/02-deadlock/main.cpp).
deadlock::Params small(deadlock::Scenario scenario) {
  deadlock::Params params;
  params.scenario = scenario;
  params.accounts = 4;
  params.transfers = 2;
  params.meals = 2;
  return params;
}

template <class Form, template <class> class Variant>
RunFunction runs(const deadlock::Params& params) {
  return [params](const RunContext& context) { return deadlock::run<Form, Variant<Form>>(params, context); };
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

template <class Form>
class DeadlockExplore : public hazardlab::testing::LeavesNothingBehind {};
TYPED_TEST_SUITE(DeadlockExplore, hazardlab::testing::BothForms, hazardlab::testing::FormName);

TYPED_TEST(DeadlockExplore, BrokenFreezesOnSomeScheduleAndItsReplayFreezesEveryTime) {
  const hazardlab::testing::AdoptOrphans adopt;
  for (const auto scenario : {deadlock::Scenario::bank, deadlock::Scenario::philosophers}) {
    SCOPED_TRACE(scenario == deadlock::Scenario::bank ? "bank" : "philosophers");
    const auto run = runs<TypeParam, deadlock::Broken>(small(scenario));
    const Exploration broken = explored(run, explore_context<TypeParam>(2));
    expect_a_deadlock_found(broken);
    expect_replay_repeats(run, explore_context<TypeParam>(2), broken);

    // The untouched exercise is broken's copy: the same schedules, the same outcomes.
    const Exploration exercise =
        explored(runs<TypeParam, deadlock::Exercise>(small(scenario)), explore_context<TypeParam>(2));
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
          explored(runs<TypeParam, deadlock::FixedOrdering>(params), explore_context<TypeParam>(2)));
    }
    {
      SCOPED_TRACE("fixed-lock-all");
      expect_all_correct_and_exhausted(
          explored(runs<TypeParam, deadlock::FixedLockAll>(params), explore_context<TypeParam>(2)));
    }
  }
  SCOPED_TRACE("fixed-waiter");
  expect_all_correct_and_exhausted(explored(
      runs<TypeParam, deadlock::FixedWaiter>(small(deadlock::Scenario::philosophers)), explore_context<TypeParam>(2)));
}

} // namespace explore_test
