// The forced schedule's hazard point: on the first pass every worker is inside the window at
// once; the meeting waits for a worker that cannot come only as long as its patience, and once;
// later passes and the natural schedule never wait. With meeting groups, each group meets on its
// own, so roles whose windows never overlap do not wait out the patience for each other. And the
// two scheduling helpers of forced schedules: one CPU for the calling thread, and no wake-up
// preemption by it.
#include "form_names.hpp"
#include "leftovers.hpp"

#include "hazardlab/forms.hpp"
#include "hazardlab/schedule.hpp"
#include "hazardlab/workers.hpp"

#include <gtest/gtest.h>
#include <sched.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

using hazardlab::Schedule;
using hazardlab::Worker;
using hazardlab::WorkersReport;
using namespace std::chrono_literals;

constexpr int kWorkers = 4;

struct Window {
  std::atomic<int> entered{0};         // workers that have entered their first pass
  std::atomic<int> fewest_seen{1'000}; // the fewest entered a worker saw when leaving its first hazard point
  std::atomic<int> passes{0};
};

template <class Form>
class ScheduleTest : public hazardlab::testing::LeavesNothingBehind {};
TYPED_TEST_SUITE(ScheduleTest, hazardlab::testing::BothForms, hazardlab::testing::FormName);

// Each worker enters the window, passes the hazard point, and on its first pass notes how many
// workers had entered theirs by then.
template <class Form>
WorkersReport through_the_window(Window& window, Schedule schedule, int passes) {
  return hazardlab::run_workers<Form>(
      kWorkers, 30s,
      [w = &window, passes](Worker& worker) {
        for (int pass = 0; pass < passes; ++pass) {
          if (pass == 0) w->entered.fetch_add(1);
          worker.hazard_point();
          if (pass == 0) {
            const int seen = w->entered.load();
            for (int fewest = w->fewest_seen.load();
                 seen < fewest && !w->fewest_seen.compare_exchange_weak(fewest, seen);) {
            }
          }
          w->passes.fetch_add(1);
        }
      },
      schedule);
}

TYPED_TEST(ScheduleTest, ForcedFirstPassHasEveryWorkerInsideTheWindow) {
  for (int trial = 0; trial < 10; ++trial) {
    auto window = hazardlab::place<TypeParam, Window>();
    const auto report = through_the_window<TypeParam>(*window, Schedule::forced, 50);
    ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
    // Nobody leaves its first hazard point before all have entered the window.
    EXPECT_EQ(window->fewest_seen.load(), kWorkers) << "trial " << trial;
    EXPECT_EQ(window->passes.load(), kWorkers * 50);
  }
}

// Two workers; worker 1 cannot reach its hazard point until worker 0 has passed its own (it waits
// for worker 0's flag, as it would for worker 0's lock in a correct fix).
struct LateArrival {
  std::atomic<bool> first_done{false};
  std::atomic<std::int64_t> call_ns{0}; // how long worker 0's first hazard point took
  std::atomic<std::int64_t> left_ns{0}; // when worker 0 left it (steady clock)
};

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

template <class Form>
WorkersReport with_a_late_arrival(LateArrival& late, Schedule schedule) {
  return hazardlab::run_workers<Form>(
      2, 30s,
      [l = &late](Worker& worker) {
        if (worker.id() == 1)
          while (!l->first_done.load())
            std::this_thread::yield();
        const auto entered = steady_ns();
        worker.hazard_point();
        if (worker.id() == 0) {
          l->left_ns.store(steady_ns());
          l->call_ns.store(steady_ns() - entered);
        }
        worker.hazard_point(); // a later pass never waits for anyone
        if (worker.id() == 0) l->first_done.store(true);
      },
      schedule);
}

TYPED_TEST(ScheduleTest, NaturalNeverWaits) {
  auto late = hazardlab::place<TypeParam, LateArrival>();
  const auto report = with_a_late_arrival<TypeParam>(*late, Schedule::natural);
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  EXPECT_LT(std::chrono::nanoseconds(late->call_ns.load()), hazardlab::kForcedMeetingPatience);
}

TYPED_TEST(ScheduleTest, ForcedMeetingGivesUpOnAWorkerThatCannotCome) {
  // The situation of a correct fix: the run still finishes, worker 0 having waited for the
  // patience (counted from its own arrival, which comes after `before`), and not for ever.
  auto late = hazardlab::place<TypeParam, LateArrival>();
  const auto before = steady_ns();
  const auto report = with_a_late_arrival<TypeParam>(*late, Schedule::forced);
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  EXPECT_GE(std::chrono::nanoseconds(late->left_ns.load() - before), hazardlab::kForcedMeetingPatience);
}

// ---- meeting groups ------------------------------------------------------------------------

// Two roles whose windows never overlap, as producers putting and consumers taking: workers 0 and
// 1 (group 0) pass their first hazard point before workers 2 and 3 (group 1) can even reach
// theirs. Worker 3 also comes a little after worker 2 (10 ms after it has entered), so that
// worker 2 sees it only if its meeting waits for it.
constexpr int kPerRole = 2;
const std::vector<int> kTwoRoles{0, 0, 1, 1};

struct TwoRoles {
  std::array<std::atomic<int>, 2> entered{};     // per group: workers that have entered their first pass
  std::array<std::atomic<int>, 2> fewest_seen{}; // per group: the fewest of its own a worker saw on leaving
  std::atomic<int> group_1_seen_by_group_0{0};   // the most of group 1 a group-0 worker saw inside the window
  std::atomic<int> group_0_passed{0};            // group-0 workers past their first hazard point
  std::atomic<std::int64_t> group_0_left_ns{0};  // when a group-0 worker left it (steady clock), the latest
  TwoRoles() {
    for (auto& fewest : fewest_seen)
      fewest.store(1'000);
  }
};

void lower_to(std::atomic<int>& fewest, int seen) {
  for (int now = fewest.load(); seen < now && !fewest.compare_exchange_weak(now, seen);) {
  }
}

template <class T>
void raise_to(std::atomic<T>& most, T seen) {
  for (T now = most.load(); seen > now && !most.compare_exchange_weak(now, seen);) {
  }
}

template <class Form>
WorkersReport two_roles(TwoRoles& roles, const std::vector<int>& meeting_groups) {
  return hazardlab::run_workers<Form>(
      2 * kPerRole, 30s,
      [r = &roles](Worker& worker) {
        const int group = worker.id() < kPerRole ? 0 : 1;
        if (group == 1) {
          // Relaxed, as a lab's own flag would be: the meeting must not depend on any ordering.
          while (r->group_0_passed.load(std::memory_order_relaxed) < kPerRole)
            std::this_thread::yield();
          if (worker.id() == 3) {
            while (r->entered[1].load(std::memory_order_relaxed) < 1)
              std::this_thread::yield();
            std::this_thread::sleep_for(10ms);
          }
        }
        r->entered[group].fetch_add(1);
        worker.hazard_point();
        lower_to(r->fewest_seen[group], r->entered[group].load());
        if (group == 0) {
          raise_to(r->group_1_seen_by_group_0, r->entered[1].load());
          raise_to(r->group_0_left_ns, steady_ns());
          r->group_0_passed.fetch_add(1, std::memory_order_relaxed);
        }
        worker.hazard_point(); // a later pass never waits for anyone
      },
      Schedule::forced, meeting_groups);
}

TYPED_TEST(ScheduleTest, ForcedMeetingGroupsEachMeetTheirOwn) {
  for (int trial = 0; trial < 5; ++trial) {
    SCOPED_TRACE(::testing::Message() << "trial " << trial);
    auto roles = hazardlab::place<TypeParam, TwoRoles>();
    const auto report = two_roles<TypeParam>(*roles, kTwoRoles);
    ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
    // The setup: group 1 really could not come while group 0 was inside its window.
    EXPECT_EQ(roles->group_1_seen_by_group_0.load(), 0);
    // Group 0 met: nobody of it left its first hazard point before both had entered.
    EXPECT_EQ(roles->fewest_seen[0].load(), kPerRole);
    // And so did group 1, the late worker 3 included. It can only because group 0 went on as
    // soon as it had met, without waiting out the patience for group 1: a meeting held after the
    // patience waits for nobody, and worker 2 would leave before worker 3 comes.
    EXPECT_EQ(roles->fewest_seen[1].load(), kPerRole);
  }
}

TYPED_TEST(ScheduleTest, ForcedMeetingWithoutGroupsWaitsOutThePatience) {
  // The contrast: one meeting for all four, where group 0 waits for a group 1 that cannot come
  // until group 0 has gone on. The run still finishes, group 0 having met each other (and waited
  // for the patience, counted from the start, which comes after `before`).
  auto roles = hazardlab::place<TypeParam, TwoRoles>();
  const auto before = steady_ns();
  const auto report = two_roles<TypeParam>(*roles, {});
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  EXPECT_EQ(roles->group_1_seen_by_group_0.load(), 0);
  EXPECT_EQ(roles->fewest_seen[0].load(), kPerRole);
  EXPECT_GE(std::chrono::nanoseconds(roles->group_0_left_ns.load() - before), hazardlab::kForcedMeetingPatience);
  EXPECT_GE(report.elapsed_ms, static_cast<double>(hazardlab::kForcedMeetingPatience.count()));
}

TYPED_TEST(ScheduleTest, BadMeetingGroupsAreRefusedBeforeAnyWorkerRuns) {
  auto ran = hazardlab::place<TypeParam, std::atomic<int>>(0);
  const auto body = [r = ran.get()](Worker& worker) {
    r->fetch_add(1);
    worker.hazard_point();
  };
  const std::vector<std::vector<int>> bad{
      {0, 0, 1},                         // one group short
      {0, 0, 1, 1, 1},                   // one group too many
      {0, 0, 1, -1},                     // a negative group
      {0, 0, 1, hazardlab::kMaxWorkers}, // past the last group
  };
  for (const auto& groups : bad) {
    SCOPED_TRACE(::testing::PrintToString(groups));
    EXPECT_THROW(hazardlab::run_workers<TypeParam>(4, 30s, body, Schedule::forced, groups), std::invalid_argument);
  }
  EXPECT_EQ(ran->load(), 0);
  // The last group is a group like any other (and groups need not be numbered from 0).
  const auto report = hazardlab::run_workers<TypeParam>(4, 30s, body, Schedule::forced,
                                                        {3, 3, hazardlab::kMaxWorkers - 1, hazardlab::kMaxWorkers - 1});
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  EXPECT_EQ(ran->load(), 4);
}

// ---- the calling thread's CPU and scheduling policy ----------------------------------------

// The CPUs the calling thread may run on.
cpu_set_t allowed_cpus() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  EXPECT_EQ(::sched_getaffinity(0, sizeof allowed, &allowed), 0);
  return allowed;
}

// (In a thread of its own each time: the calls change only the calling thread, and the test
// process must not be left pinned or batched.)
TEST(ScheduleHelpers, RunOnOneCpuLeavesTheCallingThreadExactlyOneCpuOfItsOwnSet) {
  const cpu_set_t before = allowed_cpus();
  cpu_set_t after;
  CPU_ZERO(&after);
  std::thread([&after] {
    hazardlab::run_on_one_cpu();
    after = allowed_cpus();
  }).join();
  EXPECT_EQ(CPU_COUNT(&after), 1);
  // One the process was allowed before: the first of them.
  int first = -1;
  for (int cpu = 0; cpu < CPU_SETSIZE && first < 0; ++cpu)
    if (CPU_ISSET(cpu, &before)) first = cpu;
  ASSERT_GE(first, 0);
  EXPECT_TRUE(CPU_ISSET(first, &after));
  // The thread that called it, only.
  const cpu_set_t still = allowed_cpus();
  EXPECT_TRUE(CPU_EQUAL(&still, &before));
}

TEST(ScheduleHelpers, NoPreemptionOnWakeUpMakesTheCallingThreadSchedBatch) {
  const int before = ::sched_getscheduler(0);
  int after = -1;
  std::thread([&after] {
    hazardlab::no_preemption_on_wake_up();
    after = ::sched_getscheduler(0);
  }).join();
  EXPECT_EQ(after, SCHED_BATCH);
  EXPECT_EQ(::sched_getscheduler(0), before); // the thread that called it, only
  EXPECT_NE(before, SCHED_BATCH);
}

} // namespace
