// Traced locks and semaphores and the wait-for graph: the report a student reads when a run
// deadlocks, in both forms.
#include "form_names.hpp"
#include "leftovers.hpp"

#include "hazardlab/traced_lock.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace traced_lock_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::kAwaitsSemaphore;
using hazardlab::Schedule;
using hazardlab::SemaphoreInGraph;
using hazardlab::TracedLocks;
using hazardlab::WaitForGraph;
using hazardlab::Worker;
using hazardlab::WorkersReport;
using namespace std::chrono_literals;

TEST(WaitForGraph, TwoWorkersInACycle) {
  // Lock 3 held by worker 0, lock 7 by worker 1; worker 0 waits for 7, worker 1 for 3.
  std::vector<int> holder(8, -1);
  holder[3] = 0;
  holder[7] = 1;
  const WaitForGraph graph("account", holder, {7, 3});
  EXPECT_EQ(graph.cycle(), (std::vector<int>{0, 1}));
  EXPECT_EQ(graph.cycle_text(), "worker 0 holds account 3, waits for account 7 (held by worker 1) → "
                                "worker 1 holds account 7, waits for account 3 (held by worker 0)");
}

TEST(WaitForGraph, ATableOfThreePhilosophers) {
  // Philosopher i holds fork i and waits for fork (i + 1) % 3.
  const WaitForGraph graph("fork", {0, 1, 2}, {1, 2, 0});
  EXPECT_EQ(graph.cycle(), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(graph.describe(2), "worker 2 holds fork 2, waits for fork 0 (held by worker 0)");
}

TEST(WaitForGraph, AChainIsNoCycle) {
  // Worker 1 waits for worker 0, who waits for nothing (it is stuck elsewhere); worker 2 idles.
  const WaitForGraph graph("account", {0, -1}, {-1, 0, -1});
  EXPECT_TRUE(graph.cycle().empty());
  EXPECT_TRUE(graph.cycle_text().empty());
  EXPECT_EQ(graph.describe(0), "worker 0 holds account 0, waits for nothing");
  EXPECT_EQ(graph.describe(1), "worker 1 holds nothing, waits for account 0 (held by worker 0)");
  EXPECT_EQ(graph.describe(2), "worker 2 holds nothing, waits for nothing");
}

TEST(WaitForGraph, ExplainStuckNamesTheDeadlock) {
  hazardlab::RunResult result;
  result.verdict = hazardlab::Verdict::stuck;
  result.kind = "timeout";
  hazardlab::explain_stuck(result, WaitForGraph("fork", {0, 1}, {1, 0}));
  EXPECT_EQ(result.outcome(), "stuck:deadlock");
  ASSERT_EQ(result.details.size(), 3u);
  EXPECT_EQ(result.details.back(), "cycle: worker 0 holds fork 0, waits for fork 1 (held by worker 1) → "
                                   "worker 1 holds fork 1, waits for fork 0 (held by worker 0)");
  EXPECT_EQ(result.metrics["cycle"], (std::vector<int>{0, 1}));

  hazardlab::RunResult chain;
  chain.verdict = hazardlab::Verdict::stuck;
  chain.kind = "timeout";
  hazardlab::explain_stuck(chain, WaitForGraph("fork", {0, -1}, {-1, 0}));
  EXPECT_EQ(chain.outcome(), "stuck:timeout"); // no cycle: not called a deadlock
}

TEST(WaitForGraph, ALivelockIsLeftAsItIs) {
  // Workers that only try and give way wait for nothing: a snapshot of what they held in passing
  // explains nothing, and even a cycle in it (records caught mid-update) is not a deadlock.
  hazardlab::RunResult result;
  result.verdict = hazardlab::Verdict::stuck;
  result.kind = "livelock";
  hazardlab::explain_stuck(result, WaitForGraph("fork", {0, 1}, {1, 0}));
  EXPECT_EQ(result.outcome(), "stuck:livelock");
  EXPECT_TRUE(result.details.empty());
}

// ---- semaphores in the graph ---------------------------------------------------------------

// Lab 05's deadlock: worker 0 (the producer) holds the ring mutex and sleeps on an empty slot,
// which only workers 1 and 2 (the consumers) give; they wait for what the arguments say.
WaitForGraph producer_asleep_holding_the_ring(int consumer_0_awaits, int consumer_1_awaits) {
  return WaitForGraph("ring mutex", {0}, {kAwaitsSemaphore, consumer_0_awaits, consumer_1_awaits},
                      {SemaphoreInGraph{"an empty slot", {1, 2}}});
}

TEST(WaitForGraph, ASemaphoreWhoseGiversAllWaitForItsWaiterIsACycle) {
  const auto graph = producer_asleep_holding_the_ring(0, 0);
  EXPECT_EQ(graph.cycle(), (std::vector<int>{0, 1}));
  EXPECT_EQ(graph.cycle_text(), "worker 0 holds ring mutex, waits for an empty slot (given by worker 1, worker 2) → "
                                "worker 1 holds nothing, waits for ring mutex (held by worker 0)");
  EXPECT_EQ(graph.describe(2), "worker 2 holds nothing, waits for ring mutex (held by worker 0)");
  EXPECT_EQ(graph.awaited(0), kAwaitsSemaphore);
  EXPECT_EQ(graph.awaited(1), 0);
}

TEST(WaitForGraph, AGiverStillRunningMayYetGive) {
  // Either consumer still running (waiting for nothing) may release a slot: no deadlock, though
  // the other consumer waits for the producer.
  for (const auto& [first, second] : {std::pair{0, -1}, std::pair{-1, 0}}) {
    const auto graph = producer_asleep_holding_the_ring(first, second);
    EXPECT_TRUE(graph.cycle().empty()) << ::testing::PrintToString(graph.cycle());
    EXPECT_TRUE(graph.cycle_text().empty());
    EXPECT_EQ(graph.describe(0), "worker 0 holds ring mutex, waits for an empty slot (given by worker 1, worker 2)");
  }
}

TEST(WaitForGraph, APermitLeftMeansTheWaiterIsAboutToGoOn) {
  // Caught between a release and its wake-up: the count is above zero, so the waiter waits for
  // nobody, even though both givers wait for it.
  const WaitForGraph graph("ring mutex", {0}, {kAwaitsSemaphore, 0, 0}, {SemaphoreInGraph{"an empty slot", {1, 2}, 1}});
  EXPECT_TRUE(graph.cycle().empty()) << ::testing::PrintToString(graph.cycle());
  EXPECT_EQ(graph.describe(0), "worker 0 holds ring mutex, waits for an empty slot (given by worker 1, worker 2)");
}

TEST(WaitForGraph, AnyOneGiverThatCanStillMoveIsEnough) {
  // The producer (0) holds lock 0 and waits for a slot that consumer 1 or consumer 2 can give.
  // Consumer 1 waits for lock 0: it is as stuck as the producer. Consumer 2 waits for lock 1,
  // held by worker 3, who is running and will let go: consumer 2 will give the slot, so nobody
  // is frozen, though a walk through consumer 1 alone would find the "cycle" 0 → 1.
  const WaitForGraph graph("lock", {0, 3}, {kAwaitsSemaphore, 0, 1, -1}, {SemaphoreInGraph{"an empty slot", {1, 2}}});
  EXPECT_TRUE(graph.cycle().empty()) << ::testing::PrintToString(graph.cycle());
  // Once worker 3 waits for lock 0 too, every way out leads back to the producer: frozen.
  const WaitForGraph frozen("lock", {0, 3}, {kAwaitsSemaphore, 0, 1, 0}, {SemaphoreInGraph{"an empty slot", {1, 2}}});
  EXPECT_EQ(frozen.cycle(), (std::vector<int>{0, 1}));
}

TEST(WaitForGraph, GiversThatAreDoneGiveNoEdge) {
  // Both consumers finished (or idle): the producer is stuck, but on nobody in the graph.
  const auto graph = producer_asleep_holding_the_ring(-1, -1);
  EXPECT_TRUE(graph.cycle().empty());
  EXPECT_EQ(graph.describe(1), "worker 1 holds nothing, waits for nothing");
  hazardlab::RunResult result;
  result.verdict = hazardlab::Verdict::stuck;
  result.kind = "timeout";
  hazardlab::explain_stuck(result, graph);
  EXPECT_EQ(result.outcome(), "stuck:timeout");
  EXPECT_EQ(result.details.size(), 3u); // one line per worker, no cycle line

  // A semaphore nobody gives: described as such, and no edge either.
  const WaitForGraph nobody("ring mutex", {-1}, {kAwaitsSemaphore}, {SemaphoreInGraph{"a filled slot", {}}});
  EXPECT_TRUE(nobody.cycle().empty());
  EXPECT_EQ(nobody.describe(0), "worker 0 holds nothing, waits for a filled slot (given by nobody)");
}

TEST(WaitForGraph, NamedWorkersAreCalledByTheirRoles) {
  auto graph = producer_asleep_holding_the_ring(0, 0);
  graph.name_workers({"producer 0", "consumer 0", "consumer 1"});
  EXPECT_EQ(graph.cycle_text(),
            "producer 0 holds ring mutex, waits for an empty slot (given by consumer 0, consumer 1) → "
            "consumer 0 holds nothing, waits for ring mutex (held by producer 0)");
  // A worker left unnamed keeps its number.
  graph.name_workers({"producer 0"});
  EXPECT_EQ(graph.describe(0), "producer 0 holds ring mutex, waits for an empty slot (given by worker 1, worker 2)");
  EXPECT_EQ(graph.describe(2), "worker 2 holds nothing, waits for ring mutex (held by producer 0)");
}

TEST(WaitForGraph, ASingleLockIsCalledByItsNameAlone) {
  const WaitForGraph one("ring mutex", {1}, {0, -1});
  EXPECT_EQ(one.describe(0), "worker 0 holds nothing, waits for ring mutex (held by worker 1)");
  EXPECT_EQ(one.describe(1), "worker 1 holds ring mutex, waits for nothing");
  // Two or more are numbered.
  const WaitForGraph two("ring mutex", {1, -1}, {0, -1});
  EXPECT_EQ(two.describe(0), "worker 0 holds nothing, waits for ring mutex 0 (held by worker 1)");
  EXPECT_EQ(two.describe(1), "worker 1 holds ring mutex 0, waits for nothing");
}

hazardlab::RunResult explained(const WaitForGraph& graph) {
  hazardlab::RunResult result;
  result.verdict = hazardlab::Verdict::stuck;
  result.kind = "timeout";
  result.summary = "stuck: the deadline passed";
  hazardlab::explain_stuck(result, graph);
  return result;
}

TEST(WaitForGraph, ExplainStuckSaysWhatTheCycleIsMadeOf) {
  // Locks only: each holds what the next one waits for.
  const auto ring = explained(WaitForGraph("fork", {0, 1, 2}, {1, 2, 0}));
  EXPECT_EQ(ring.outcome(), "stuck:deadlock");
  EXPECT_EQ(ring.summary, "deadlock: a cycle of 3 workers, each waiting for a lock the next one holds");

  // A semaphore on the cycle: nobody holds a semaphore, so the line says who can give it.
  const auto slot = explained(producer_asleep_holding_the_ring(0, 0));
  EXPECT_EQ(slot.outcome(), "stuck:deadlock");
  EXPECT_EQ(slot.summary, "deadlock: a cycle of 2 workers, each waiting for what only frozen workers could give");
  ASSERT_EQ(slot.details.size(), 4u);
  EXPECT_EQ(slot.details[0], "worker 0 holds ring mutex, waits for an empty slot (given by worker 1, worker 2)");
  EXPECT_EQ(slot.details.back(), "cycle: worker 0 holds ring mutex, waits for an empty slot (given by worker 1, "
                                 "worker 2) → worker 1 holds nothing, waits for ring mutex (held by worker 0)");
  EXPECT_EQ(slot.metrics["cycle"], (std::vector<int>{0, 1}));

  // Semaphores only (each side waits for a slot only the other gives, none to begin with).
  const auto slots =
      explained(WaitForGraph("ring mutex", {-1}, {kAwaitsSemaphore + 1, kAwaitsSemaphore},
                             {SemaphoreInGraph{"a filled slot", {0}}, SemaphoreInGraph{"an empty slot", {1}}}));
  EXPECT_EQ(slots.summary, "deadlock: a cycle of 2 workers, each waiting for what only frozen workers could give");
  EXPECT_EQ(slots.details.back(), "cycle: worker 0 holds nothing, waits for an empty slot (given by worker 1) → "
                                  "worker 1 holds nothing, waits for a filled slot (given by worker 0)");

  // No cycle: the summary is left as the watchdog wrote it.
  EXPECT_EQ(explained(producer_asleep_holding_the_ring(0, -1)).summary, "stuck: the deadline passed");
}

template <class Form>
struct Table {
  TracedLocks<Form> locks{"account", 4};
  std::atomic<int> described_right{0};
};

template <class Form>
class TracedLockTest : public hazardlab::testing::LeavesNothingBehind {};
TYPED_TEST_SUITE(TracedLockTest, hazardlab::testing::BothForms, hazardlab::testing::FormName);

TYPED_TEST(TracedLockTest, RecordsTheHolderUnderScopedLock) {
  auto table = hazardlab::place<TypeParam, Table<TypeParam>>();
  const auto report = hazardlab::run_workers<TypeParam>(1, 30s, [t = table.get()](Worker&) {
    {
      auto a = t->locks[1];
      auto b = t->locks[2];
      std::scoped_lock both(a, b); // std::lock's deadlock avoidance over traced locks
      if (t->locks.graph(1).describe(0) == "worker 0 holds account 1, account 2, waits for nothing")
        t->described_right.fetch_add(1);
      if (t->locks.holder(1) == 0 && t->locks.holder(2) == 0 && t->locks.holder(0) == -1)
        t->described_right.fetch_add(1);
    }
    if (t->locks.graph(1).describe(0) == "worker 0 holds nothing, waits for nothing") t->described_right.fetch_add(1);
    if (t->locks.holder(1) == -1 && t->locks.holder(2) == -1) t->described_right.fetch_add(1);
  });
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  EXPECT_EQ(table->described_right.load(), 4);
}

// Worker w takes lock w; at its hazard point the next worker runs (the forced lockstep), so every
// worker holds its first before any asks for its second, lock (w + 1) % n: the classic cycle, on
// every run, stuck at once.
template <class Form>
WorkersReport deadlock_in_a_ring(Table<Form>& table, int workers) {
  hazardlab::RunOptions options(Schedule::forced);
  options.script = hazardlab::scripts::lockstep(1);
  return hazardlab::run_workers<Form>(
      workers, 30s,
      [t = &table, workers](Worker& worker) {
        auto first = t->locks[worker.id()];
        auto second = t->locks[(worker.id() + 1) % workers];
        std::scoped_lock hold_first(first);
        worker.hazard_point();
        std::scoped_lock hold_second(second);
      },
      options);
}

TYPED_TEST(TracedLockTest, ADeadlockIsReportedWithItsCycle) {
  for (int workers : {2, 3}) {
    auto table = hazardlab::place<TypeParam, Table<TypeParam>>();
    const auto report = deadlock_in_a_ring(*table, workers);
    ASSERT_EQ(report.ending, WorkersReport::Ending::frozen) << report.what;
    auto result = hazardlab::unfinished_run(report);
    ASSERT_TRUE(result.has_value());
    hazardlab::explain_stuck(*result, table->locks.graph(workers));
    EXPECT_EQ(result->outcome(), "stuck:deadlock");
    const std::string expected = workers == 2
                                     ? "cycle: worker 0 holds account 0, waits for account 1 (held by worker 1) → "
                                       "worker 1 holds account 1, waits for account 0 (held by worker 0)"
                                     : "cycle: worker 0 holds account 0, waits for account 1 (held by worker 1) → "
                                       "worker 1 holds account 1, waits for account 2 (held by worker 2) → "
                                       "worker 2 holds account 2, waits for account 0 (held by worker 0)";
    EXPECT_EQ(result->details.back(), expected);
    EXPECT_TRUE(report.all_stopped); // the thread form's workers were stopped and joined
  }
  EXPECT_TRUE(hazardlab::testing::children_of(::getpid()).empty());
}

// ---- traced semaphores ---------------------------------------------------------------------

TYPED_TEST(TracedLockTest, RefusesTooManyLocksOrSemaphores) {
  using Locks = TracedLocks<TypeParam>;
  EXPECT_THROW(Locks("account", hazardlab::kMaxTracedLocks + 1), std::invalid_argument);
  EXPECT_THROW(Locks("ring mutex", 1, {{"a", 0, {}}, {"b", 0, {}}, {"c", 0, {}}, {"d", 0, {}}, {"e", 0, {}}}),
               std::invalid_argument);
  EXPECT_NO_THROW(Locks("ring mutex", 1, {{"a", 0, {}}, {"b", 0, {}}, {"c", 0, {}}, {"d", 0, {}}}));
}

template <class Form>
struct Slots {
  TracedLocks<Form> locks{"ring mutex", 1, {{"a filled slot", 2, {0}}, {"an empty slot", 0, {1}}}};
  std::atomic<bool> saw_the_wait{false};    // worker 1 saw worker 0 recorded as waiting for an empty slot
  std::atomic<bool> described_right{false}; // and so described
  std::atomic<bool> no_cycle{false};        // and no deadlock, worker 1 being free to give
  std::atomic<bool> woke{false};            // worker 0 got its slot
};

TYPED_TEST(TracedLockTest, SemaphoreWaitsAreRecordedWhileTheyLast) {
  // Worker 0 waits for an empty slot (none to begin with); worker 1, its giver, gives one once it
  // sees worker 0 recorded as waiting (or after 5 s, so that a wait never recorded fails the test
  // rather than hanging it).
  using Form = TypeParam;
  auto slots = hazardlab::place<Form, Slots<Form>>();
  const auto report = hazardlab::run_workers<Form>(2, 30s, [s = slots.get()](Worker& worker) {
    auto empty_slot = s->locks.semaphore(1);
    if (worker.id() == 0) {
      empty_slot.acquire();
      s->woke.store(true);
      return;
    }
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (s->locks.graph(2).awaited(0) != kAwaitsSemaphore + 1 && std::chrono::steady_clock::now() < until)
      std::this_thread::yield();
    const auto graph = s->locks.graph(2);
    s->saw_the_wait.store(graph.awaited(0) == kAwaitsSemaphore + 1);
    s->described_right.store(graph.describe(0) ==
                             "worker 0 holds nothing, waits for an empty slot (given by worker 1)");
    s->no_cycle.store(graph.cycle().empty());
    empty_slot.release();
  });
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  EXPECT_TRUE(slots->saw_the_wait.load());
  EXPECT_TRUE(slots->described_right.load());
  EXPECT_TRUE(slots->no_cycle.load());
  EXPECT_TRUE(slots->woke.load());
  // The wait is over, and recorded so.
  EXPECT_EQ(slots->locks.graph(2).describe(0), "worker 0 holds nothing, waits for nothing");
  EXPECT_EQ(slots->locks.semaphore(1).value(), 0);

  // The handle is the form's semaphore: semaphore 0 starts at its initial count of 2.
  auto filled = slots->locks.semaphore(0);
  EXPECT_EQ(filled.value(), 2);
  EXPECT_TRUE(filled.try_acquire());
  filled.acquire(); // one left: does not block
  EXPECT_EQ(filled.value(), 0);
  EXPECT_FALSE(filled.try_acquire());
  filled.release();
  EXPECT_EQ(filled.value(), 1);
}

// Lab 05's deadlock with real workers: worker 0 (the producer) takes the ring mutex, then waits
// for an empty slot, none to begin with; worker 1 (the consumer, who gives empty slots) waits
// until worker 0 holds the mutex, then asks for it.
template <class Form>
struct Ring {
  TracedLocks<Form> locks{"ring mutex", 1, {{"an empty slot", 0, {1}}}};
  std::atomic<bool> producer_holds_the_mutex{false};
};

// Runs the deadlock and says what in the report was not as expected: empty if all was.
template <class Form>
std::string judge_a_producer_asleep_holding_the_ring() {
  auto ring = hazardlab::place<Form, Ring<Form>>();
  const auto report = hazardlab::run_workers<Form>(2, 300ms, [r = ring.get()](Worker& worker) {
    auto mutex = r->locks[0];
    if (worker.id() == 0) {
      std::scoped_lock hold(mutex);
      r->producer_holds_the_mutex.store(true);
      r->locks.semaphore(0).acquire(); // only worker 1 gives one, and it is waiting for the mutex
      return;
    }
    while (!r->producer_holds_the_mutex.load())
      std::this_thread::yield();
    std::scoped_lock hold(mutex);
    r->locks.semaphore(0).release();
  });
  std::string wrong;
  const auto expect = [&wrong](const std::string& what, const std::string& got, const std::string& expected) {
    if (got != expected) wrong += what + ": expected \"" + expected + "\", got \"" + got + "\"\n";
  };
  if (report.ending == WorkersReport::Ending::finished) return "the run finished: it did not deadlock\n";
  if (report.ending == WorkersReport::Ending::crashed) return "the run crashed: " + report.what + "\n";
  const auto graph = ring->locks.graph(2);
  expect("cycle", ::testing::PrintToString(graph.cycle()), ::testing::PrintToString(std::vector<int>{0, 1}));
  expect("worker 0", graph.describe(0), "worker 0 holds ring mutex, waits for an empty slot (given by worker 1)");
  expect("worker 1", graph.describe(1), "worker 1 holds nothing, waits for ring mutex (held by worker 0)");
  auto result = hazardlab::unfinished_run(report);
  if (!result) return wrong + "no unfinished run\n";
  hazardlab::explain_stuck(*result, graph);
  expect("outcome", result->outcome(), "stuck:deadlock");
  expect("summary", result->summary,
         "deadlock: a cycle of 2 workers, each waiting for what only frozen workers could give");
  expect("last detail", result->details.back(),
         "cycle: worker 0 holds ring mutex, waits for an empty slot (given by worker 1) → "
         "worker 1 holds nothing, waits for ring mutex (held by worker 0)");
  return wrong;
}

// The thread form's stuck threads cannot be reclaimed (the run abandons them), so that run
// happens in a death-test child, which says through its exit status whether the report was
// right (4, the labs' "stuck") and prints on stderr what was not.
template <class Form>
[[noreturn]] void judge_and_exit() {
  std::string wrong = judge_a_producer_asleep_holding_the_ring<Form>();
  if (!hazardlab::threads_abandoned()) wrong += "the stuck threads were not abandoned\n";
  std::fputs(wrong.c_str(), stderr);
  std::fflush(stderr);
  std::_Exit(wrong.empty() ? hazardlab::kExitStuck : 1);
}

TYPED_TEST(TracedLockTest, AProducerAsleepOnASlotWhileHoldingTheRingIsADeadlock) {
  using Form = TypeParam;
  if constexpr (std::is_same_v<Form, hazardlab::ThreadForm>) {
    const std::string previous_style = GTEST_FLAG_GET(death_test_style);
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(judge_and_exit<Form>(), ::testing::ExitedWithCode(hazardlab::kExitStuck), "");
    GTEST_FLAG_SET(death_test_style, previous_style);
  } else {
    // The process form kills and reaps its stuck children (the fixture checks none is left).
    EXPECT_EQ(judge_a_producer_asleep_holding_the_ring<Form>(), "");
  }
}

} // namespace traced_lock_test
