// Lab 01 grading tests: every reference fix counts exactly, over many trials, in both forms and
// both schedules. In the TSan build these also run with ThreadSanitizer watching every access.
#include "form_names.hpp"
#include "leftovers.hpp"
#include "variants.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

namespace fixed_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::RunContext;
using hazardlab::Schedule;
using hazardlab::Verdict;

template <class Variant>
void expect_exact_count(int trials, Schedule schedule, std::uint64_t iterations) {
  for (int trial = 0; trial < trials; ++trial) {
    RunContext context;
    context.workers = 4;
    context.schedule = schedule;
    context.timeout = std::chrono::seconds(60);
    const auto result = race::run<typename Variant::Form, Variant>({.iterations = iterations}, context);
    ASSERT_EQ(result.verdict, Verdict::correct) << "trial " << trial << ": " << result.summary;
    ASSERT_EQ(result.metrics["observed"], result.metrics["expected"]);
  }
  EXPECT_TRUE(hazardlab::testing::children_of(::getpid()).empty());
}

// The variants name their form so the helper above can take one type.
template <class F, template <class> class V>
struct Bind : V<F> {
  using Form = F;
};

template <class Form>
class RaceFixed : public ::testing::Test {};
TYPED_TEST_SUITE(RaceFixed, hazardlab::testing::BothForms, hazardlab::testing::FormName);

TYPED_TEST(RaceFixed, MutexCountsExactlyNatural) {
  expect_exact_count<Bind<TypeParam, race::FixedMutex>>(40, Schedule::natural, 20'000);
}
TYPED_TEST(RaceFixed, MutexCountsExactlyForced) {
  expect_exact_count<Bind<TypeParam, race::FixedMutex>>(5, Schedule::forced, 1'000);
}
TYPED_TEST(RaceFixed, AtomicCountsExactlyNatural) {
  expect_exact_count<Bind<TypeParam, race::FixedAtomic>>(40, Schedule::natural, 20'000);
}
TYPED_TEST(RaceFixed, AtomicCountsExactlyForced) {
  expect_exact_count<Bind<TypeParam, race::FixedAtomic>>(5, Schedule::forced, 1'000);
}

} // namespace fixed_test
