// The forced schedule's hazard point: on the first pass every worker is inside the window at
// once; the meeting waits for a worker that cannot come only as long as its patience, and once;
// later passes and the natural schedule never wait.
#include "form_names.hpp"

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
class ScheduleTest : public ::testing::Test {};
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

TYPED_TEST(ScheduleTest, NaturalNeverWaits) {
  // One worker reaches its hazard point only after another has gone through all of its own:
  // the natural schedule must not make the first wait for the second.
  struct Gate {
    std::atomic<bool> first_done{false};
  };
  auto gate = hazardlab::place<TypeParam, Gate>();
  const auto started = std::chrono::steady_clock::now();
  const auto report = hazardlab::run_workers<TypeParam>(
      2, 30s,
      [g = gate.get()](Worker& worker) {
        if (worker.id() == 1)
          while (!g->first_done.load())
            std::this_thread::yield();
        worker.hazard_point();
        if (worker.id() == 0) g->first_done.store(true);
      },
      Schedule::natural);
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  EXPECT_LT(std::chrono::steady_clock::now() - started, hazardlab::kForcedMeetingPatience);
}

TYPED_TEST(ScheduleTest, ForcedMeetingGivesUpOnAWorkerThatCannotCome) {
  // The situation of a correct fix: worker 0 reaches its hazard point while the others cannot
  // until it has gone on (here: they wait for its flag, as they would for its lock). The run must
  // still finish, after about the patience, and the meeting is not held again.
  struct Gate {
    std::atomic<bool> first_done{false};
  };
  auto gate = hazardlab::place<TypeParam, Gate>();
  const auto started = std::chrono::steady_clock::now();
  const auto report = hazardlab::run_workers<TypeParam>(
      2, 30s,
      [g = gate.get()](Worker& worker) {
        if (worker.id() == 1)
          while (!g->first_done.load())
            std::this_thread::yield();
        worker.hazard_point();
        worker.hazard_point();
        if (worker.id() == 0) g->first_done.store(true);
      },
      Schedule::forced);
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  EXPECT_GE(took, hazardlab::kForcedMeetingPatience - 10ms);
  EXPECT_LT(took, 10 * hazardlab::kForcedMeetingPatience + 5s); // generous: a loaded machine
}

} // namespace
