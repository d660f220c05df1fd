// Traced locks and the wait-for graph: the report a student reads when a run deadlocks, in both
// forms.
#include "form_names.hpp"
#include "leftovers.hpp"

#include "hazardlab/traced_lock.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

namespace {

using hazardlab::Schedule;
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
    }
    if (t->locks.graph(1).describe(0) == "worker 0 holds nothing, waits for nothing") t->described_right.fetch_add(1);
  });
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  EXPECT_EQ(table->described_right.load(), 2);
}

// Worker w takes lock w, meets the others (the forced schedule's first hazard point), then takes
// lock (w + 1) % n: the classic cycle, on every run.
template <class Form>
WorkersReport deadlock_in_a_ring(Table<Form>& table, int workers) {
  return hazardlab::run_workers<Form>(
      workers, 300ms,
      [t = &table, workers](Worker& worker) {
        auto first = t->locks[worker.id()];
        auto second = t->locks[(worker.id() + 1) % workers];
        std::scoped_lock hold_first(first);
        worker.hazard_point();
        std::scoped_lock hold_second(second);
      },
      Schedule::forced);
}

TEST(TracedLockProcessForm, ADeadlockIsReportedWithItsCycle) {
  using Form = hazardlab::ProcessForm;
  for (int workers : {2, 3}) {
    auto table = hazardlab::place<Form, Table<Form>>();
    const auto report = deadlock_in_a_ring(*table, workers);
    ASSERT_EQ(report.ending, WorkersReport::Ending::timed_out) << report.what;
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
  }
  EXPECT_TRUE(hazardlab::testing::children_of(::getpid()).empty());
}

// Runs the thread-form ring and ends the process: 4 if the run was reported as the deadlock it
// is, 1 otherwise. Deadlocked threads cannot be reclaimed, so this runs in a death-test child.
[[noreturn]] void judge_thread_form_deadlock() {
  using Form = hazardlab::ThreadForm;
  auto table = hazardlab::place<Form, Table<Form>>();
  const auto report = deadlock_in_a_ring(*table, 2);
  auto result = hazardlab::unfinished_run(report);
  bool right = report.ending == WorkersReport::Ending::timed_out && result.has_value();
  if (right) {
    hazardlab::explain_stuck(*result, table->locks.graph(2));
    right = result->outcome() == "stuck:deadlock" &&
            result->details.back() == "cycle: worker 0 holds account 0, waits for account 1 (held by worker 1) → "
                                      "worker 1 holds account 1, waits for account 0 (held by worker 0)";
  }
  std::_Exit(right ? 4 : 1);
}

TEST(TracedLockThreadFormDeathTest, ADeadlockIsReportedWithItsCycle) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(judge_thread_form_deadlock(), ::testing::ExitedWithCode(4), "");
}

} // namespace
