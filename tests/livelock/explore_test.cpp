// Lab 03 under --schedule explore, in both forms, at the sizes the command line explores (2 workers
// × 2 units, each polite step a 1 µs pause on the run's virtual clock; labs/03-livelock/main.cpp).
// An explored run cannot go on for ever: the scheduler calls a run a livelock once every worker has
// tried 100 times since the last unit of work (or after 2,000 steps without one).
//  - broken, explored, livelocks (from the very first schedule: the polite steps' pauses let the
//    workers meet without any preemption), and the untouched exercise does the same;
//  - both reference fixes, explored, are correct on every schedule, and the space is exhausted;
//  - the shortest livelocked schedule, replayed from its printed choices, livelocks the same way
//    20 times out of 20.
// Every number here is a count of schedules, steps or attempts, never a time: it holds on one core
// or many, idle or loaded.
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

// The sizes --schedule explore takes when none is given (labs/03-livelock/main.cpp).
livelock::Params small() {
  livelock::Params params;
  params.units = 2;
  params.reach = std::chrono::microseconds(1);
  return params;
}

template <class Form, template <class> class Variant>
RunFunction runs(const livelock::Params& params) {
  return [params](const RunContext& context) { return livelock::run<Form, Variant<Form>>(params, context); };
}

// A livelocked run has thousands of choice points, so the space of a broken variant is far larger
// than the cap: a few schedules show the hazard.
constexpr std::uint64_t kBrokenSchedules = 5;

void expect_livelock_found(const Exploration& e) {
  SCOPED_TRACE(nlohmann::json(e.histogram).dump());
  EXPECT_EQ(e.schedules, kBrokenSchedules);
  EXPECT_FALSE(e.exhausted);
  ASSERT_TRUE(e.found_failure);
  EXPECT_EQ(e.worst, hazardlab::Verdict::stuck);
  EXPECT_EQ(e.reported.outcome(), "stuck:livelock") << e.reported.summary;
  EXPECT_EQ(e.histogram, (std::map<std::string, std::uint64_t>{{"stuck:livelock", kBrokenSchedules}}));
  EXPECT_EQ(e.given_up, 0u);
  EXPECT_NE(e.reported.summary.find("livelock"), std::string::npos) << e.reported.summary;
  const std::string table = hazardlab::schedule_table(e.reported.control, 2);
  EXPECT_NE(table.find("try_lock"), std::string::npos) << table.substr(0, 2'000);
}

template <class Form>
class LivelockExplore : public hazardlab::testing::LeavesNothingBehind {};
TYPED_TEST_SUITE(LivelockExplore, hazardlab::testing::BothForms, hazardlab::testing::FormName);

TYPED_TEST(LivelockExplore, BrokenLivelocksAndItsReplayLivelocksEveryTime) {
  const hazardlab::testing::AdoptOrphans adopt;
  const auto run = runs<TypeParam, livelock::Broken>(small());
  const Exploration broken = explored(run, explore_context<TypeParam>(2), kBrokenSchedules);
  expect_livelock_found(broken);
  expect_replay_repeats(run, explore_context<TypeParam>(2), broken);

  const Exploration exercise =
      explored(runs<TypeParam, livelock::Exercise>(small()), explore_context<TypeParam>(2), kBrokenSchedules);
  expect_livelock_found(exercise);
  EXPECT_EQ(exercise.reported.control.choices, broken.reported.control.choices);
}

TYPED_TEST(LivelockExplore, BothFixesGetEveryUnitDoneOnEveryInterleaving) {
  const hazardlab::testing::AdoptOrphans adopt;
  {
    SCOPED_TRACE("fixed-backoff");
    expect_all_correct_and_exhausted(
        explored(runs<TypeParam, livelock::FixedBackoff>(small()), explore_context<TypeParam>(2)));
  }
  SCOPED_TRACE("fixed-ordering");
  expect_all_correct_and_exhausted(
      explored(runs<TypeParam, livelock::FixedOrdering>(small()), explore_context<TypeParam>(2)));
}

TYPED_TEST(LivelockExplore, WithoutThePolitePausesNoBoundedScheduleLivelocks) {
  // Why explore gives each polite step a pause: with instant steps, every round of the lockstep
  // needs a preemption of its own, and within 2 of them the workers always get through.
  const hazardlab::testing::AdoptOrphans adopt;
  auto params = small();
  params.reach = std::chrono::microseconds(0);
  expect_all_correct_and_exhausted(explored(runs<TypeParam, livelock::Broken>(params), explore_context<TypeParam>(2)));
}

} // namespace explore_test
