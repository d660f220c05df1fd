// Lab 05 under --schedule explore, in both forms, at the sizes the command line explores (2
// producers and 1 consumer moving 2 items through 2 slots; labs/05-producer-consumer/main.cpp).
//  - each broken variant, explored, shows its own hazard on some schedule (the space is small
//    enough to exhaust), and the untouched exercise fails exactly like broken-no-mutex, its copy;
//  - both reference fixes, explored, are correct on every schedule, and the space is exhausted;
//  - each broken variant's shortest failing schedule, replayed from its printed choices, fails the
//    same way 20 times out of 20.
// Every number here is a count of schedules, items or steps, never a time: it holds on one core or
// many, idle or loaded.
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

// The sizes --schedule explore takes when none is given (labs/05-producer-consumer/main.cpp).
prodcons::Params small() {
  prodcons::Params params;
  params.producers = 2;
  params.consumers = 1;
  params.capacity = 2;
  params.items = 2;
  return params;
}

template <class Form, template <class> class Variant>
RunFunction runs() {
  return [](const RunContext& context) { return prodcons::run<Form, Variant<Form>>(small(), context); };
}

// The space is exhausted and the shortest failing schedule shows `outcome`.
void expect_found(const Exploration& e, const std::string& outcome) {
  SCOPED_TRACE(nlohmann::json(e.histogram).dump());
  EXPECT_TRUE(e.exhausted);
  EXPECT_EQ(e.given_up, 0u);
  ASSERT_TRUE(e.found_failure);
  EXPECT_EQ(e.reported.outcome(), outcome) << e.reported.summary;
  EXPECT_GT(e.histogram.count(outcome), 0u);
}

template <class Form>
class ProdconsExplore : public hazardlab::testing::LeavesNothingBehind {};
TYPED_TEST_SUITE(ProdconsExplore, hazardlab::testing::BothForms, hazardlab::testing::FormName);

TYPED_TEST(ProdconsExplore, NoMutexLosesAnItemOnSomeScheduleAndItsReplayEveryTime) {
  // Both producers past their empty slot read the same `in`: one item written over the other.
  const hazardlab::testing::AdoptOrphans adopt;
  const auto run = runs<TypeParam, prodcons::BrokenNoMutex>();
  const Exploration broken = explored(run, explore_context<TypeParam>(3));
  expect_found(broken, "hazard:lost-and-duplicated");
  EXPECT_GT(broken.histogram.count("correct"), 0u); // only a preemption in the window loses one
  const std::string table = hazardlab::schedule_table(broken.reported.control, 3, prodcons::worker_names(small(), 3));
  EXPECT_NE(table.find("producer 1"), std::string::npos) << table;
  EXPECT_NE(table.find("read in = 0"), std::string::npos) << table;
  expect_replay_repeats(run, explore_context<TypeParam>(3), broken);

  // The untouched exercise is broken-no-mutex's copy: the same schedules, the same outcomes.
  const Exploration exercise = explored(runs<TypeParam, prodcons::Exercise>(), explore_context<TypeParam>(3));
  EXPECT_EQ(exercise.schedules, broken.schedules);
  EXPECT_EQ(exercise.histogram, broken.histogram);
}

TYPED_TEST(ProdconsExplore, MutexFirstFreezesOnSomeScheduleAndItsReplayEveryTime) {
  // A producer asleep on "an empty slot" holding the ring mutex, the consumer waiting for it.
  const hazardlab::testing::AdoptOrphans adopt;
  const auto run = runs<TypeParam, prodcons::BrokenMutexFirst>();
  const Exploration broken = explored(run, explore_context<TypeParam>(3));
  expect_found(broken, "stuck:deadlock");
  expect_replay_repeats(run, explore_context<TypeParam>(3), broken);
}

TYPED_TEST(ProdconsExplore, NoEmptyCountOverwritesOnSomeScheduleAndItsReplayEveryTime) {
  const hazardlab::testing::AdoptOrphans adopt;
  const auto run = runs<TypeParam, prodcons::BrokenNoEmptyCount>();
  const Exploration broken = explored(run, explore_context<TypeParam>(3));
  expect_found(broken, "hazard:overwritten");
  expect_replay_repeats(run, explore_context<TypeParam>(3), broken);
}

TYPED_TEST(ProdconsExplore, NoShutdownStrandsTheConsumerOnEveryScheduleAndItsReplayEveryTime) {
  const hazardlab::testing::AdoptOrphans adopt;
  const auto run = runs<TypeParam, prodcons::BrokenNoShutdown>();
  const Exploration broken = explored(run, explore_context<TypeParam>(3));
  expect_found(broken, "stuck:at-shutdown");
  EXPECT_EQ(broken.histogram.size(), 1u); // no schedule tells the consumer
  expect_replay_repeats(run, explore_context<TypeParam>(3), broken);
}

TYPED_TEST(ProdconsExplore, BothFixesMoveEveryItemExactlyOnceOnEveryInterleaving) {
  const hazardlab::testing::AdoptOrphans adopt;
  {
    SCOPED_TRACE("fixed");
    expect_all_correct_and_exhausted(explored(runs<TypeParam, prodcons::Fixed>(), explore_context<TypeParam>(3)));
  }
  SCOPED_TRACE("fixed-condvar");
  expect_all_correct_and_exhausted(explored(runs<TypeParam, prodcons::FixedCondvar>(), explore_context<TypeParam>(3)));
}

} // namespace explore_test
