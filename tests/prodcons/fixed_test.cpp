// Lab 05 grading tests: every reference fix moves every item exactly once and never puts more into
// the ring than it holds, over many trials, in both forms and both schedules, with any number of
// producers and consumers (more of either, one of each, a ring of one slot, items that do not
// share out evenly, fewer items than producers). In the TSan build these also run with
// ThreadSanitizer watching every access.
#include "form_names.hpp"
#include "leftovers.hpp"
#include "variants.hpp"

#include <gtest/gtest.h>

#include <ostream>

namespace fixed_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::RunContext;
using hazardlab::Schedule;

struct Shape {
  int producers;
  int consumers;
  int capacity;
  std::uint64_t items;
};

std::ostream& operator<<(std::ostream& out, const Shape& shape) {
  return out << shape.producers << " producers, " << shape.consumers << " consumers, " << shape.capacity << " slots, "
             << shape.items << " items";
}

constexpr Shape kShapes[] = {
    {1, 1, 1, 1'001},  // one of each and a single slot: every item waits for the last one taken
    {1, 4, 2, 1'001},  // consumers outnumber the slots: most of them wait, and all must be told
    {4, 1, 3, 1'001},  // producers outnumber the slots; 1,001 does not share out evenly among 4
    {3, 3, 16, 1'001}, // a roomy ring
    {4, 3, 2, 3},      // fewer items than producers: one producer makes none
};

std::uint64_t metric(const hazardlab::RunResult& result, const char* name) {
  return result.metrics.at(name).get<std::uint64_t>();
}

template <class Form, template <class> class Variant>
void expect_exactly_once(Schedule schedule, int trials) {
  for (const Shape& shape : kShapes) {
    prodcons::Params params;
    params.producers = shape.producers;
    params.consumers = shape.consumers;
    params.capacity = shape.capacity;
    params.items = shape.items;
    for (int trial = 0; trial < trials; ++trial) {
      RunContext context;
      context.form = Form::kind;
      context.workers = shape.producers + shape.consumers;
      context.schedule = schedule;
      context.timeout = std::chrono::seconds(60);
      context.seed = 1000 + static_cast<std::uint64_t>(trial);
      const auto result = prodcons::run<Form, Variant<Form>>(params, context);
      ASSERT_EQ(result.outcome(), "correct")
          << shape << ", trial " << trial << ": " << result.outcome() << " " << result.summary << "\n"
          << ::testing::PrintToString(result.details);
      EXPECT_EQ(metric(result, "items"), shape.items) << shape;
      EXPECT_EQ(metric(result, "produced"), shape.items) << shape;
      EXPECT_EQ(metric(result, "consumed"), shape.items) << shape;
      EXPECT_EQ(metric(result, "exactly_once"), shape.items) << shape << ", trial " << trial;
      for (const char* none : {"lost", "duplicated", "overwritten", "stale_reads", "phantoms"})
        EXPECT_EQ(metric(result, none), 0u) << none << ": " << shape << ", trial " << trial;
      EXPECT_LE(metric(result, "max_occupancy"), static_cast<std::uint64_t>(shape.capacity)) << shape;
      EXPECT_EQ(metric(result, "capacity"), static_cast<std::uint64_t>(shape.capacity));
    }
  }
}

template <class Form>
class ProdconsFixed : public hazardlab::testing::LeavesNothingBehind {};
TYPED_TEST_SUITE(ProdconsFixed, hazardlab::testing::BothForms, hazardlab::testing::FormName);

// A forced run makes the same choices on every trial (the scheduler decides who runs; nothing
// rests on timing), so a second trial only checks that it does: forced runs get few trials.
TYPED_TEST(ProdconsFixed, SemaphoresAndPillsMoveEveryItemExactlyOnceNatural) {
  expect_exactly_once<TypeParam, prodcons::Fixed>(Schedule::natural, 40);
}
TYPED_TEST(ProdconsFixed, SemaphoresAndPillsMoveEveryItemExactlyOnceForced) {
  expect_exactly_once<TypeParam, prodcons::Fixed>(Schedule::forced, 2);
}
TYPED_TEST(ProdconsFixed, CondvarsAndAClosedFlagMoveEveryItemExactlyOnceNatural) {
  expect_exactly_once<TypeParam, prodcons::FixedCondvar>(Schedule::natural, 40);
}
TYPED_TEST(ProdconsFixed, CondvarsAndAClosedFlagMoveEveryItemExactlyOnceForced) {
  expect_exactly_once<TypeParam, prodcons::FixedCondvar>(Schedule::forced, 2);
}

} // namespace fixed_test
