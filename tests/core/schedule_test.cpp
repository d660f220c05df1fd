// The forced schedule's hazard point: on the first pass every worker is inside the window at
// once; the meeting waits for a worker that cannot come only as long as its patience, and once;
// later passes and the natural schedule never wait.
#include "form_names.hpp"
#include "leftovers.hpp"

#include "hazardlab/forms.hpp"
#include "hazardlab/workers.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

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
  // patience (counted from the start, which comes after `before`), and not for ever.
  auto late = hazardlab::place<TypeParam, LateArrival>();
  const auto before = steady_ns();
  const auto report = with_a_late_arrival<TypeParam>(*late, Schedule::forced);
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  EXPECT_GE(std::chrono::nanoseconds(late->left_ns.load() - before), hazardlab::kForcedMeetingPatience);
}

} // namespace
