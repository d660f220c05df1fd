// Lab 02 grading tests: every fix completes with its invariant (total conserved; no two
// neighbours eating at once), over many trials, both forms, both schedules.
#include "form_names.hpp"
#include "leftovers.hpp"
#include "variants.hpp"

#include <gtest/gtest.h>

namespace {

using deadlock::Params;
using deadlock::Scenario;
using hazardlab::RunContext;
using hazardlab::Schedule;
using hazardlab::Verdict;

template <class Form, template <class> class Variant>
void expect_completes(Scenario scenario, Schedule schedule, int trials) {
  for (int trial = 0; trial < trials; ++trial) {
    Params params;
    params.scenario = scenario;
    params.accounts = 4; // few accounts: many transfers collide
    params.transfers = 300;
    params.meals = 300;
    RunContext context;
    context.workers = 4;
    context.schedule = schedule;
    context.timeout = std::chrono::seconds(60);
    context.seed = 1000 + static_cast<std::uint64_t>(trial);
    const auto result = deadlock::run<Form, Variant<Form>>(params, context);
    ASSERT_EQ(result.verdict, Verdict::correct)
        << "trial " << trial << ": " << result.outcome() << " " << result.summary;
    if (scenario == Scenario::bank) {
      EXPECT_EQ(result.metrics.at("total_after"), result.metrics.at("total_before"));
      EXPECT_EQ(result.metrics.at("transfers"), 4 * 300);
    } else {
      EXPECT_EQ(result.metrics.at("meals"), 4 * 300);
      EXPECT_EQ(result.metrics.at("neighbours_ate_together"), 0);
    }
  }
}

template <class Form>
class DeadlockFixed : public hazardlab::testing::LeavesNothingBehind {};
TYPED_TEST_SUITE(DeadlockFixed, hazardlab::testing::BothForms, hazardlab::testing::FormName);

TYPED_TEST(DeadlockFixed, OrderingCompletesBothScenarios) {
  for (auto scenario : {Scenario::bank, Scenario::philosophers}) {
    expect_completes<TypeParam, deadlock::FixedOrdering>(scenario, Schedule::natural, 20);
    expect_completes<TypeParam, deadlock::FixedOrdering>(scenario, Schedule::forced, 2);
  }
}

TYPED_TEST(DeadlockFixed, LockAllCompletesBothScenarios) {
  for (auto scenario : {Scenario::bank, Scenario::philosophers}) {
    expect_completes<TypeParam, deadlock::FixedLockAll>(scenario, Schedule::natural, 20);
    expect_completes<TypeParam, deadlock::FixedLockAll>(scenario, Schedule::forced, 2);
  }
}

TYPED_TEST(DeadlockFixed, WaiterCompletesThePhilosophers) {
  expect_completes<TypeParam, deadlock::FixedWaiter>(Scenario::philosophers, Schedule::natural, 20);
  expect_completes<TypeParam, deadlock::FixedWaiter>(Scenario::philosophers, Schedule::forced, 2);
}

} // namespace
