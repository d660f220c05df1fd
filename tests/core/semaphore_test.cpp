// The semaphore in both forms: its initial count is respected, at most K holders are inside at
// once, try_acquire fails at zero, and a release wakes a waiter.
#include "form_names.hpp"
#include "leftovers.hpp"

#include "hazardlab/barrier.hpp"
#include "hazardlab/forms.hpp"
#include "hazardlab/workers.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace semaphore_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::Worker;
using hazardlab::WorkersReport;
using namespace std::chrono_literals;

template <class Form>
struct Admission {
  static constexpr int kWorkers = 5;
  static constexpr unsigned kPermits = 2;
  typename Form::Semaphore sem{kPermits};
  hazardlab::Barrier<Form> barrier{kWorkers};
  std::atomic<int> admitted{0};
  std::atomic<int> refused{0};
  std::atomic<int> value_when_taken{-1};
  std::atomic<int> admitted_at_zero{0};
};

template <class Form>
struct Holders {
  static constexpr unsigned kPermits = 2;
  typename Form::Semaphore sem{kPermits};
  std::atomic<int> inside{0};
  std::atomic<int> max_inside{0};
  std::atomic<int> entries{0};
};

template <class Form>
struct Waiters {
  typename Form::Semaphore sem{0};
  std::atomic<int> waiting{0};
  std::atomic<int> woken{0};
  std::atomic<int> woken_without_release{0};
  std::atomic<int> woken_per_release_max{0};
};

template <class Form>
class SemaphoreTest : public hazardlab::testing::LeavesNothingBehind {};
TYPED_TEST_SUITE(SemaphoreTest, hazardlab::testing::BothForms, hazardlab::testing::FormName);

TYPED_TEST(SemaphoreTest, CountsDownToZeroAndBackUp) {
  using Form = TypeParam;
  auto sem = hazardlab::place<Form, typename Form::Semaphore>(3u);
  EXPECT_EQ(sem->value(), 3);
  EXPECT_TRUE(sem->try_acquire());
  EXPECT_TRUE(sem->try_acquire());
  EXPECT_TRUE(sem->try_acquire());
  EXPECT_EQ(sem->value(), 0);
  EXPECT_FALSE(sem->try_acquire());
  EXPECT_FALSE(sem->try_acquire());
  sem->release();
  EXPECT_EQ(sem->value(), 1);
  sem->acquire(); // does not block: one is available
  EXPECT_EQ(sem->value(), 0);
  sem->release();
  sem->release();
  sem->release();
  EXPECT_EQ(sem->value(), 3);
}

TYPED_TEST(SemaphoreTest, InitialCountAdmitsExactlyThatManyWorkers) {
  using Form = TypeParam;
  constexpr int kWorkers = Admission<Form>::kWorkers;
  constexpr unsigned kPermits = Admission<Form>::kPermits;
  auto state = hazardlab::place<Form, Admission<Form>>();
  const auto report = hazardlab::run_workers<Form>(kWorkers, 30s, [s = state.get()](Worker& worker) {
    // Nobody releases until everyone has tried once: exactly kPermits tries can succeed.
    const bool holding = s->sem.try_acquire();
    (holding ? s->admitted : s->refused).fetch_add(1);
    s->barrier.arrive_and_wait();
    if (worker.id() == 0) {
      s->value_when_taken.store(s->sem.value());
      if (s->sem.try_acquire()) {
        s->admitted_at_zero.fetch_add(1);
        s->sem.release();
      }
    }
    s->barrier.arrive_and_wait();
    if (holding) s->sem.release();
  });
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  EXPECT_EQ(state->admitted.load(), static_cast<int>(kPermits));
  EXPECT_EQ(state->refused.load(), kWorkers - static_cast<int>(kPermits));
  EXPECT_EQ(state->value_when_taken.load(), 0);
  EXPECT_EQ(state->admitted_at_zero.load(), 0) << "try_acquire succeeded at zero";
  EXPECT_EQ(state->sem.value(), static_cast<int>(kPermits)) << "every permit came back";
}

TYPED_TEST(SemaphoreTest, AtMostKHoldersInsideAtOnce) {
  using Form = TypeParam;
  constexpr int kWorkers = 6;
  constexpr unsigned kPermits = Holders<Form>::kPermits;
  constexpr int kIterations = 40;
  auto state = hazardlab::place<Form, Holders<Form>>();
  const auto report = hazardlab::run_workers<Form>(kWorkers, 60s, [s = state.get()](Worker& worker) {
    for (int i = 0; i < kIterations; ++i) {
      s->sem.acquire();
      const int now = s->inside.fetch_add(1) + 1;
      int max = s->max_inside.load();
      while (now > max && !s->max_inside.compare_exchange_weak(max, now)) {
      }
      // Stay inside a while, so that a semaphore letting too many in would be caught at it.
      if (i % 4 == 0)
        std::this_thread::sleep_for(200us);
      else
        std::this_thread::yield();
      s->inside.fetch_sub(1);
      s->entries.fetch_add(1);
      s->sem.release();
      worker.progressed();
    }
  });
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  EXPECT_LE(state->max_inside.load(), static_cast<int>(kPermits));
  EXPECT_GE(state->max_inside.load(), 1);
  EXPECT_EQ(state->inside.load(), 0);
  EXPECT_EQ(state->entries.load(), kWorkers * kIterations);
  EXPECT_EQ(state->sem.value(), static_cast<int>(kPermits));
}

TYPED_TEST(SemaphoreTest, EachReleaseWakesOneWaiter) {
  using Form = TypeParam;
  constexpr int kWaiters = 3;
  auto state = hazardlab::place<Form, Waiters<Form>>();
  // If a release does not wake a waiter, the run misses its deadline and the test fails on the
  // ending below.
  const auto report = hazardlab::run_workers<Form>(kWaiters + 1, 10s, [s = state.get()](Worker& worker) {
    if (worker.id() < kWaiters) {
      s->waiting.fetch_add(1);
      s->sem.acquire();
      s->woken.fetch_add(1);
      return;
    }
    while (s->waiting.load() < kWaiters)
      std::this_thread::yield();
    for (int released = 0; released < kWaiters; ++released) {
      std::this_thread::sleep_for(10ms); // let the waiters settle in sem_wait
      const int woken = s->woken.load();
      if (woken > released) s->woken_without_release.fetch_add(1);
      s->sem.release();
      while (s->woken.load() == woken && !worker.stop_requested())
        std::this_thread::yield(); // one of them wakes
      int max = s->woken_per_release_max.load();
      const int now = s->woken.load() - woken;
      while (now > max && !s->woken_per_release_max.compare_exchange_weak(max, now)) {
      }
    }
  });
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  EXPECT_EQ(state->woken.load(), kWaiters);
  EXPECT_EQ(state->woken_without_release.load(), 0);
  EXPECT_EQ(state->woken_per_release_max.load(), 1) << "one release let more than one waiter through";
  EXPECT_EQ(state->sem.value(), 0);
}

} // namespace semaphore_test
