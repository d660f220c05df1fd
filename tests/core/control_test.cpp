// The scheduler of controlled runs (hazardlab/control.hpp), in both forms: one worker runs at a
// time and the script decides who; a worker that would block is marked blocked and another one
// runs; a run whose unfinished workers are all blocked is stuck at once, and its threads are
// joined, not abandoned; the same choices give the same run (replay), and choices that do not fit
// are refused at the choice that does not fit; spin loops take turns through spin_pause(), and a
// worker that never comes back to a scheduling point makes the guard give control up with a line
// that says what to add; a lockstep that never gets anywhere is a livelock; pauses end in the
// order of their lengths on the virtual clock; a natural run's frozen wait-for graph ends it before
// its deadline. Nothing here is timed: every assertion is about what happened, not how fast.
#include "form_names.hpp"
#include "leftovers.hpp"

#include "hazardlab/barrier.hpp"
#include "hazardlab/control.hpp"
#include "hazardlab/forms.hpp"
#include "hazardlab/traced_lock.hpp"
#include "hazardlab/workers.hpp"

#include <gtest/gtest.h>

#include <sched.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace control_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::ChoiceRun;
using hazardlab::Decision;
using hazardlab::Point;
using hazardlab::RunOptions;
using hazardlab::Schedule;
using hazardlab::Worker;
using hazardlab::WorkersReport;
using namespace std::chrono_literals;

constexpr auto kDeadline = 60s; // never reached by a run that passes: nothing here waits for time

::testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

RunOptions forced(hazardlab::Script script = {}) {
  RunOptions options(Schedule::forced);
  options.script = std::move(script);
  return options;
}

RunOptions replay(const std::string& choices, int workers) {
  RunOptions options(Schedule::replay);
  options.replay = hazardlab::decode_choices(choices, workers);
  return options;
}

template <class Form>
class ControlTest : public hazardlab::testing::LeavesNothingBehind {};
TYPED_TEST_SUITE(ControlTest, hazardlab::testing::BothForms, hazardlab::testing::FormName);

// ---- one worker at a time, and the lockstep ---------------------------------------------------

struct Window {
  std::atomic<int> entered{0};
  std::atomic<int> fewest_seen{1'000}; // the fewest entered a worker saw when leaving its first hazard point
  std::atomic<int> most_running{0};    // the most workers between two scheduling points at once
  std::atomic<int> running{0};
  std::atomic<int> passes{0};
};

constexpr int kWorkers = 4;

TYPED_TEST(ControlTest, LockstepPutsEveryWorkerInsideTheWindowAndOnlyOneRunsAtATime) {
  for (int trial = 0; trial < 10; ++trial) {
    auto window = hazardlab::place<TypeParam, Window>();
    const auto report = hazardlab::run_workers<TypeParam>(
        kWorkers, kDeadline,
        [w = window.get()](Worker& worker) {
          for (int pass = 0; pass < 50; ++pass) {
            if (pass == 0) w->entered.fetch_add(1);
            const int now = w->running.fetch_add(1) + 1;
            for (int most = w->most_running.load(); now > most && !w->most_running.compare_exchange_weak(most, now);) {
            }
            w->running.fetch_sub(1);
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
        forced(hazardlab::scripts::lockstep(1)));
    ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
    EXPECT_EQ(window->fewest_seen.load(), kWorkers) << "trial " << trial; // all read before any wrote
    EXPECT_EQ(window->most_running.load(), 1) << "trial " << trial;       // one at a time
    EXPECT_EQ(window->passes.load(), kWorkers * 50);
    const auto record = hazardlab::take_control_record();
    EXPECT_TRUE(record.controlled);
    EXPECT_EQ(record.choices, "+1,1,2,3,0,+149"); // the lockstep, then each runs to its end in turn
  }
}

TYPED_TEST(ControlTest, NaturalRunsRecordNoChoices) {
  const auto report = hazardlab::run_workers<TypeParam>(2, kDeadline, [](Worker& worker) { worker.hazard_point(); });
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  EXPECT_FALSE(hazardlab::take_control_record().controlled);
}

// ---- blocking, and the primitives under control -----------------------------------------------

// A correct fix keeps its hazard point inside its critical section, where nobody else can come:
// the others block on the mutex, and the run goes on without waiting for anything.
template <class Form>
struct Counter {
  typename Form::Mutex mutex;
  std::uint64_t value = 0;
};

TYPED_TEST(ControlTest, AHazardPointInsideACriticalSectionDoesNotWaitForAnybody) {
  auto counter = hazardlab::place<TypeParam, Counter<TypeParam>>();
  const auto report = hazardlab::run_workers<TypeParam>(
      kWorkers, kDeadline,
      [c = counter.get()](Worker& worker) {
        for (int i = 0; i < 1000; ++i) {
          std::lock_guard hold(c->mutex);
          const auto seen = c->value;
          worker.hazard_point();
          c->value = seen + 1;
        }
      },
      forced(hazardlab::scripts::lockstep(3)));
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  EXPECT_EQ(counter->value, kWorkers * 1000u);
}

template <class Form>
struct Handoff {
  typename Form::Mutex mutex;
  typename Form::ConditionVariable changed;
  int turn = 0;          // whose turn, round the table
  std::uint64_t log = 0; // each worker's id, in order, 2 bits each
  int entries = 0;
};

TYPED_TEST(ControlTest, ConditionVariablesHandTheTurnRoundTheTable) {
  auto handoff = hazardlab::place<TypeParam, Handoff<TypeParam>>();
  constexpr int kRounds = 8;
  const auto report = hazardlab::run_workers<TypeParam>(
      3, kDeadline,
      [h = handoff.get()](Worker& worker) {
        for (int round = 0; round < kRounds; ++round) {
          typename TypeParam::Lock lock(h->mutex);
          h->changed.wait(lock, [&] { return h->turn == worker.id(); });
          h->log = h->log << 2 | static_cast<std::uint64_t>(worker.id());
          ++h->entries;
          h->turn = (h->turn + 1) % 3;
          h->changed.notify_all();
        }
      },
      forced());
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  EXPECT_EQ(handoff->entries, 3 * kRounds);
  std::uint64_t expected = 0;
  for (int i = 0; i < 3 * kRounds; ++i)
    expected = expected << 2 | static_cast<std::uint64_t>(i % 3);
  EXPECT_EQ(handoff->log, expected);
}

template <class Form>
struct Rounds {
  explicit Rounds(int parties) : barrier(parties) {}
  hazardlab::Barrier<Form> barrier;
  std::array<std::atomic<int>, 16> arrived{};
  std::atomic<int> early{0}; // a worker that found a round not full after the barrier
};

TYPED_TEST(ControlTest, TheBarrierHoldsEveryRoundUnderControl) {
  auto rounds = hazardlab::place<TypeParam, Rounds<TypeParam>>(kWorkers);
  const auto report = hazardlab::run_workers<TypeParam>(
      kWorkers, kDeadline,
      [r = rounds.get()](Worker&) {
        for (std::size_t round = 0; round < r->arrived.size(); ++round) {
          r->arrived[round].fetch_add(1);
          r->barrier.arrive_and_wait();
          if (r->arrived[round].load() != kWorkers) r->early.fetch_add(1);
        }
      },
      forced());
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  EXPECT_EQ(rounds->early.load(), 0);
}

template <class Form>
struct Room {
  typename Form::SharedMutex lock;
  std::atomic<int> readers{0};
  std::atomic<int> writers{0};
  std::atomic<int> most_readers{0};
  std::atomic<int> clashes{0}; // a writer with anyone else inside
};

TYPED_TEST(ControlTest, SharedMutexLetsReadersTogetherAndWritersAlone) {
  auto room = hazardlab::place<TypeParam, Room<TypeParam>>();
  const auto report = hazardlab::run_workers<TypeParam>(
      kWorkers, kDeadline,
      [r = room.get()](Worker& worker) {
        for (int i = 0; i < 50; ++i) {
          if (worker.id() == 0) {
            std::lock_guard hold(r->lock);
            if (r->writers.fetch_add(1) != 0 || r->readers.load() != 0) r->clashes.fetch_add(1);
            worker.hazard_point();
            r->writers.fetch_sub(1);
          } else {
            std::shared_lock hold(r->lock);
            const int now = r->readers.fetch_add(1) + 1;
            for (int most = r->most_readers.load(); now > most && !r->most_readers.compare_exchange_weak(most, now);) {
            }
            if (r->writers.load() != 0) r->clashes.fetch_add(1);
            worker.hazard_point();
            r->readers.fetch_sub(1);
          }
        }
      },
      forced(hazardlab::scripts::lockstep(2)));
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  EXPECT_EQ(room->clashes.load(), 0);
  EXPECT_GE(room->most_readers.load(), 2); // the lockstep let two readers in together
}

// ---- stuck at once ------------------------------------------------------------------------------

template <class Form>
struct TwoLocks {
  hazardlab::TracedLocks<Form> locks{"lock", 2};
};

TYPED_TEST(ControlTest, EveryWorkerBlockedIsStuckAtOnceAndTheWaitForGraphShowsTheCycle) {
  for (int trial = 0; trial < 3; ++trial) {
    auto state = hazardlab::place<TypeParam, TwoLocks<TypeParam>>();
    const auto report = hazardlab::run_workers<TypeParam>(
        2, kDeadline,
        [s = state.get()](Worker& worker) {
          auto mine = s->locks[worker.id()];
          auto theirs = s->locks[1 - worker.id()];
          std::lock_guard first(mine);
          worker.hazard_point(); // the lockstep: both hold their first
          std::lock_guard second(theirs);
        },
        forced(hazardlab::scripts::lockstep(1)));
    ASSERT_EQ(report.ending, WorkersReport::Ending::frozen) << report.what;
    EXPECT_TRUE(contains(report.what, "every unfinished worker (0, 1) is blocked"));
    // The records are as the run froze, although the thread form's workers have left since.
    EXPECT_EQ(state->locks.graph(2).cycle(), (std::vector<int>{0, 1}));
    // Nothing was abandoned: the thread form joined its workers.
    EXPECT_TRUE(report.all_stopped);
    EXPECT_EQ(hazardlab::take_control_record().choices, "+2,1,+1,0,+1");
  }
}

template <class Form>
struct EmptySemaphore {
  typename Form::Semaphore never{0};
  std::atomic<int> done{0};
};

TYPED_TEST(ControlTest, AWorkerWaitingForAPermitNobodyWillGiveIsStuckOnceTheOthersAreDone) {
  auto state = hazardlab::place<TypeParam, EmptySemaphore<TypeParam>>();
  const auto report = hazardlab::run_workers<TypeParam>(
      3, kDeadline,
      [s = state.get()](Worker& worker) {
        if (worker.id() == 1) s->never.acquire();
        s->done.fetch_add(1);
      },
      forced());
  ASSERT_EQ(report.ending, WorkersReport::Ending::frozen) << report.what;
  EXPECT_EQ(report.finished, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(state->done.load(), 2);
}

// ---- spin loops and the guard -------------------------------------------------------------------

template <class Form>
struct TicketLock {
  std::atomic<std::uint32_t> next{0};
  std::atomic<std::uint32_t> serving{0};
  std::uint64_t value = 0;
};

TYPED_TEST(ControlTest, SpinLoopsThatCallSpinPauseTakeTurns) {
  auto lock = hazardlab::place<TypeParam, TicketLock<TypeParam>>();
  const auto report = hazardlab::run_workers<TypeParam>(
      3, kDeadline,
      [l = lock.get()](Worker& worker) {
        for (int i = 0; i < 200; ++i) {
          const auto mine = l->next.fetch_add(1);
          while (l->serving.load(std::memory_order_acquire) != mine)
            hazardlab::spin_pause();
          const auto seen = l->value;
          worker.hazard_point();
          l->value = seen + 1;
          l->serving.store(mine + 1, std::memory_order_release);
        }
      },
      forced(hazardlab::scripts::lockstep(5)));
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  EXPECT_EQ(lock->value, 600u);
  EXPECT_TRUE(hazardlab::take_control_record().given_up.empty());
}

TYPED_TEST(ControlTest, SpinningWithNobodyToReleaseItIsALivelock) {
  auto lock = hazardlab::place<TypeParam, TicketLock<TypeParam>>();
  const auto report = hazardlab::run_workers<TypeParam>(
      3, kDeadline,
      [l = lock.get()](Worker&) {
        while (l->serving.load(std::memory_order_acquire) != 1) // nobody ever serves 1
          hazardlab::spin_pause();
      },
      forced());
  ASSERT_EQ(report.ending, WorkersReport::Ending::livelocked) << report.what;
  EXPECT_TRUE(contains(report.what, "spun"));
}

struct Flag {
  std::atomic<bool> set{false};
};

TYPED_TEST(ControlTest, ASpinLoopWithoutSpinPauseMakesTheGuardGiveControlUpAndTheRunStillEnds) {
  // Worker 0 waits for worker 1's flag in a loop that never reaches a scheduling point: under
  // control worker 1 could never run. The guard sees worker 0 on a CPU without coming back, gives
  // control up with a line naming it and the call to add, and the run ends freely, correct.
  auto flag = hazardlab::place<TypeParam, Flag>();
  const auto report = hazardlab::run_workers<TypeParam>(
      2, kDeadline,
      [f = flag.get()](Worker& worker) {
        if (worker.id() == 0) {
          while (!f->set.load())
            std::this_thread::yield(); // the mistake: not hazardlab::spin_pause()
        } else {
          f->set.store(true);
        }
      },
      forced());
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  const auto record = hazardlab::take_control_record();
  EXPECT_TRUE(contains(record.given_up, "worker 0"));
  EXPECT_TRUE(contains(record.given_up, "hazardlab::spin_pause()"));
}

TEST(ControlThreadForm, AWorkerBlockedOutsideTheKitMakesTheGuardGiveControlUp) {
  // A std::mutex, not the form's: worker 1 blocks in the kernel on the lock worker 0 holds while
  // it is parked at its hazard point. The guard sees worker 1 blocked outside the kit and gives
  // control up; worker 0 then goes on, lets go, and the run ends.
  struct Raw {
    std::mutex mutex;
    int value = 0;
  };
  auto raw = hazardlab::place<hazardlab::ThreadForm, Raw>();
  const auto report = hazardlab::run_workers<hazardlab::ThreadForm>(
      2, kDeadline,
      [r = raw.get()](Worker& worker) {
        std::lock_guard hold(r->mutex);
        worker.hazard_point();
        ++r->value;
      },
      forced(hazardlab::scripts::lockstep(1)));
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  EXPECT_EQ(raw->value, 2);
  const auto record = hazardlab::take_control_record();
  EXPECT_TRUE(contains(record.given_up, "worker 1 was blocked"));
  EXPECT_TRUE(contains(record.given_up, "Form::Mutex"));
}

// ---- the deadline is no verdict under control ---------------------------------------------------

TYPED_TEST(ControlTest, TheDeadlineDoesNotCutARunTheSchedulerStillControls) {
  // Worker 0 holds the turn for 150 ms between two scheduling points (asleep outside the kit, as
  // long as a ThreadSanitizer report can take, and within the guard's bound), three times its
  // 50 ms deadline. A controlled run is judged by its steps, never by the clock: it finishes, and
  // control was never given up.
  const auto report = hazardlab::run_workers<TypeParam>(
      2, 50ms,
      [](Worker& worker) {
        worker.hazard_point();
        if (worker.id() == 0) std::this_thread::sleep_for(150ms);
        worker.hazard_point();
        worker.progressed();
      },
      forced(hazardlab::scripts::lockstep(2)));
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  EXPECT_GE(report.elapsed_ms, 150.0);
  EXPECT_TRUE(hazardlab::take_control_record().given_up.empty());
}

template <class Form>
struct PolledFlag {
  typename Form::Mutex mutex;
  bool set = false;
};

TYPED_TEST(ControlTest, PollingUnderALockWithoutSpinPauseIsALivelockCountedInSteps) {
  // Worker 0 waits for worker 1's flag by taking and letting go of the lock, without spin_pause():
  // under control it can always go on, so the default rule never lets worker 1 run. No deadline
  // ends that (60 s here): the scheduler counts 100,000 steps without progress and calls it.
  auto polled = hazardlab::place<TypeParam, PolledFlag<TypeParam>>();
  const auto report = hazardlab::run_workers<TypeParam>(
      2, kDeadline,
      [p = polled.get()](Worker& worker) {
        if (worker.id() == 0) {
          for (;;) {
            std::lock_guard hold(p->mutex);
            if (p->set) break;
          }
        } else {
          std::lock_guard hold(p->mutex);
          p->set = true;
        }
        worker.progressed();
      },
      forced());
  ASSERT_EQ(report.ending, WorkersReport::Ending::livelocked) << report.what;
  EXPECT_TRUE(contains(report.what, "no progress in 100000 steps")) << report.what;
  EXPECT_TRUE(contains(report.what, "spin_pause()")) << report.what;
  EXPECT_LT(report.elapsed_ms, 50'000.0);
}

TEST(ControlThreadForm, AHolderWaitingForACpuIsNeverTakenForBlocked) {
  // Worker 0 takes the turn and makes itself the machine's last choice (SCHED_IDLE) beside a busy
  // loop on every core: it then waits in the run queue nearly all the time, for a step of 20 ms of
  // CPU. The kernel adds a wait in the run queue to schedstat only once the thread gets a CPU, so
  // a guard that worked "blocked" out of schedstat's times took this holder for one blocked outside
  // the kit. The guard reads its state: waiting for a CPU. It may give control up for that, after
  // 800 ms of it, but never calls it blocked.
  std::atomic<bool> busy{true};
  std::vector<std::jthread> busy_loops;
  for (unsigned core = 0; core < std::max(1u, std::thread::hardware_concurrency()); ++core)
    busy_loops.emplace_back([&busy] {
      const auto until = std::chrono::steady_clock::now() + 1500ms;
      while (busy.load(std::memory_order_relaxed) && std::chrono::steady_clock::now() < until) {
      }
    });
  const auto report = hazardlab::run_workers<hazardlab::ThreadForm>(
      2, kDeadline,
      [](Worker& worker) {
        worker.hazard_point();
        if (worker.id() != 0) return;
        const sched_param idle{};
        ASSERT_EQ(::sched_setscheduler(0, SCHED_IDLE, &idle), 0);
        timespec start{}, now{};
        ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
        do
          ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
        while ((now.tv_sec - start.tv_sec) * 1'000'000'000L + (now.tv_nsec - start.tv_nsec) < 20'000'000L);
        worker.hazard_point();
      },
      forced(hazardlab::scripts::lockstep(1)));
  busy.store(false);
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  const auto record = hazardlab::take_control_record();
  EXPECT_EQ(record.given_up.find("blocked"), std::string::npos) << record.given_up;
}

// ---- livelock, and the virtual clock ------------------------------------------------------------

TYPED_TEST(ControlTest, AttemptsInLockstepWithoutProgressAreALivelock) {
  const auto report = hazardlab::run_workers<TypeParam>(
      2, kDeadline,
      [](Worker& worker) {
        for (;;) {
          worker.attempted();
          worker.pause_for(50us); // everyone the same: they come back together, for ever
        }
      },
      forced());
  ASSERT_EQ(report.ending, WorkersReport::Ending::livelocked) << report.what;
  EXPECT_TRUE(contains(report.what, "tried 100 times"));
  EXPECT_EQ(report.attempts, (std::vector<std::uint64_t>{100, 100}));
}

struct WakeOrder {
  std::atomic<int> next{0};
  std::array<std::atomic<int>, kWorkers> woke_as{};
};

TYPED_TEST(ControlTest, PausesEndInTheOrderOfTheirLengths) {
  auto order = hazardlab::place<TypeParam, WakeOrder>();
  const auto report = hazardlab::run_workers<TypeParam>(
      kWorkers, kDeadline,
      [o = order.get()](Worker& worker) {
        // Worker 0 pauses longest, worker 3 shortest.
        worker.pause_for(std::chrono::microseconds(100 * (kWorkers - worker.id())));
        o->woke_as[static_cast<std::size_t>(worker.id())].store(o->next.fetch_add(1));
      },
      forced());
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  for (int w = 0; w < kWorkers; ++w)
    EXPECT_EQ(order->woke_as[static_cast<std::size_t>(w)].load(), kWorkers - 1 - w) << "worker " << w;
}

// ---- replay -------------------------------------------------------------------------------------

// Who ran, in order: each worker appends its id at each of its steps (one at a time, so the log is
// the interleaving).
struct Interleaving {
  std::atomic<int> length{0};
  std::array<std::atomic<int>, 64> who{};
};

template <class Form>
std::vector<int> interleave(const RunOptions& options) {
  auto log = hazardlab::place<Form, Interleaving>();
  const auto report = hazardlab::run_workers<Form>(
      3, kDeadline,
      [l = log.get()](Worker& worker) {
        for (int step = 0; step < 6; ++step) {
          l->who[static_cast<std::size_t>(l->length.fetch_add(1))].store(worker.id());
          worker.hazard_point();
        }
      },
      options);
  EXPECT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  std::vector<int> order;
  for (int i = 0; i < log->length.load(); ++i)
    order.push_back(log->who[static_cast<std::size_t>(i)].load());
  return order;
}

// A script that runs the workers in a zig-zag: after worker w's hazard point, worker (w + 2) mod 3.
int zig_zag(const Decision& d) {
  return d.point() == Point::hazard ? (d.worker() + 2) % 3 : hazardlab::default_choice(d);
}

TYPED_TEST(ControlTest, ReplayingTheChoicesGivesTheSameInterleaving) {
  const auto first = interleave<TypeParam>(forced(zig_zag));
  const auto record = hazardlab::take_control_record();
  ASSERT_FALSE(record.choices.empty());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(interleave<TypeParam>(replay(record.choices, 3)), first);
    EXPECT_EQ(hazardlab::take_control_record().choices, record.choices);
  }
  // The default rule alone is another interleaving: the choices really decide.
  const auto by_default = interleave<TypeParam>(forced());
  EXPECT_NE(by_default, first);
  // Past the last choice of a replay the default rule goes on (not the script).
  EXPECT_EQ(interleave<TypeParam>(replay("+1", 3)), by_default);
  (void)hazardlab::take_control_record();
}

TYPED_TEST(ControlTest, ChoicesThatDoNotFitTheRunAreRefusedAtTheChoiceThatDoesNotFit) {
  // Worker 1 finishes at once; the replay then names it at a choice where it cannot run.
  auto run = [](const RunOptions& options) {
    return hazardlab::run_workers<TypeParam>(
        3, kDeadline,
        [](Worker& worker) {
          if (worker.id() == 1) return;
          for (int i = 0; i < 3; ++i)
            worker.hazard_point();
        },
        options);
  };
  try {
    run(replay("1,1,1", 3));
    FAIL() << "expected a mismatch";
  } catch (const hazardlab::ScheduleMismatch& e) {
    EXPECT_TRUE(contains(e.what(), "choice 2 names worker 1, who cannot run there (workers who can: 0, 2)"));
  }
  EXPECT_THROW(run(replay("0,7", 9)), hazardlab::ScheduleMismatch); // the run has workers 0 to 2
}

TEST(ChoicesText, RoundTripsAndFoldsRepeats) {
  const std::vector<ChoiceRun> runs{{-1, 1}, {1, 1}, {0, 1}, {1, 1}, {0, 1}, {1, 1}, {0, 1}, {2, 5}, {-1, 300}};
  const std::string text = hazardlab::encode_choices(runs);
  EXPECT_EQ(text, "+1,(1,0)*3,2*5,+300");
  const auto back = hazardlab::decode_choices(text);
  ASSERT_EQ(back.size(), runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    EXPECT_EQ(back[i].worker, runs[i].worker) << i;
    EXPECT_EQ(back[i].count, runs[i].count) << i;
  }
  EXPECT_EQ(hazardlab::decode_choices("((0,1)*2,2)*2").size(), 10u);
}

TEST(ChoicesText, MalformedTextIsRefusedWithWhereAndWhy) {
  const auto why = [](const std::string& text, int workers = 0) {
    try {
      (void)hazardlab::decode_choices(text, workers);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(why(""), "accepted"); // no choices: a run where only one worker could ever go on
  EXPECT_TRUE(contains(why(","), "expected a number at character 1"));
  EXPECT_TRUE(contains(why("0,,1"), "expected a number at character 3"));
  EXPECT_TRUE(contains(why("0*0"), "a count must be 1 to 4294967295"));
  EXPECT_TRUE(contains(why("(0,1"), "expected ')'"));
  EXPECT_TRUE(contains(why("(0,1)"), "expected '*' after a group"));
  EXPECT_TRUE(contains(why("0;1"), "unexpected ';'"));
  EXPECT_TRUE(contains(why("3", 3), "worker 3 is not one of the run's workers (0 to 2)"));
  EXPECT_TRUE(contains(why("64"), "worker 64 is not one of the run's workers (0 to 63)"));
  EXPECT_TRUE(contains(why("(0)*70000"), "a group must repeat 1 to 65,536 runs in all"));
}

// ---- the natural watchdog reads the wait-for graph -----------------------------------------------

template <class Form>
struct NaturalDeadlock {
  hazardlab::TracedLocks<Form> locks{"lock", 2};
  std::atomic<int> holding{0};
};

TYPED_TEST(ControlTest, ANaturalDeadlockEndsAsFrozenLongBeforeItsDeadline) {
  auto state = hazardlab::place<TypeParam, NaturalDeadlock<TypeParam>>();
  RunOptions options;
  options.frozen = [s = state.get()](const std::vector<bool>& finished) {
    return s->locks.graph(2).stuck_text(finished);
  };
  const auto report = hazardlab::run_workers<TypeParam>(
      2, kDeadline,
      [s = state.get()](Worker& worker) {
        auto mine = s->locks[worker.id()];
        auto theirs = s->locks[1 - worker.id()];
        std::lock_guard first(mine);
        s->holding.fetch_add(1);
        while (s->holding.load() < 2) // natural: both hold their first before either asks
          std::this_thread::yield();
        std::lock_guard second(theirs);
      },
      options);
  ASSERT_EQ(report.ending, WorkersReport::Ending::frozen) << report.what;
  EXPECT_TRUE(contains(report.what, "the wait-for graph stayed stuck"));
  EXPECT_TRUE(contains(report.what, "worker 0 holds lock 0, waits for lock 1 (held by worker 1)"));
}

} // namespace control_test
