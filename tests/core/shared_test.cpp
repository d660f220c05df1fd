// Both forms spawn N workers, run each body exactly once with ids 0..N-1, and state placed with
// place<Form, T>() is the same object for every worker and the caller. For the process form that
// proves the mapping really is shared: the children write, the parent reads.
#include "form_names.hpp"
#include "leftovers.hpp"

#include "hazardlab/forms.hpp"
#include "hazardlab/workers.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <type_traits>

namespace {

using hazardlab::Worker;
using hazardlab::WorkersReport;
using namespace std::chrono_literals;

constexpr int kMaxIds = 16;

struct Tally {
  explicit Tally(int seed) : seed(seed) {}
  const int seed;                                 // written by the constructor before any worker exists
  std::array<std::atomic<int>, kMaxIds> runs{};   // runs[id]: how often the body ran with that id
  std::array<std::atomic<pid_t>, kMaxIds> pids{}; // the process each id ran in
  std::array<std::atomic<int>, kMaxIds> seen_seed{};
  std::atomic<int> bad_ids{0};           // bodies called with an id outside 0..N-1
  std::array<char[32], kMaxIds> notes{}; // plain bytes, read by the caller only after the run
};

// Written by the workers outside the placed state: a thread shares it, a forked child writes
// its own copy.
std::atomic<int> g_unplaced_writes{0};

template <class Form>
class SharedState : public hazardlab::testing::LeavesNothingBehind {};
TYPED_TEST_SUITE(SharedState, hazardlab::testing::BothForms, hazardlab::testing::FormName);

TYPED_TEST(SharedState, EachBodyRunsOnceWithIdsZeroToNMinusOne) {
  using Form = TypeParam;
  for (int workers : {1, 3, 8}) {
    auto tally = hazardlab::place<Form, Tally>(7);
    const auto report = hazardlab::run_workers<Form>(workers, 30s, [tally = tally.get(), workers](Worker& worker) {
      const int id = worker.id();
      if (id < 0 || id >= workers) {
        tally->bad_ids.fetch_add(1);
        return;
      }
      tally->runs[id].fetch_add(1);
      tally->pids[id].store(::getpid());
      tally->seen_seed[id].store(tally->seed);
      std::snprintf(tally->notes[id], sizeof tally->notes[id], "worker %d was here", id);
    });
    ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
    EXPECT_EQ(tally->bad_ids.load(), 0);
    std::set<pid_t> distinct_pids;
    for (int id = 0; id < kMaxIds; ++id) {
      SCOPED_TRACE(::testing::Message() << workers << " workers, id " << id);
      if (id >= workers) {
        EXPECT_EQ(tally->runs[id].load(), 0);
        continue;
      }
      EXPECT_EQ(tally->runs[id].load(), 1);
      EXPECT_EQ(tally->seen_seed[id].load(), 7); // the caller's construction reached the worker
      EXPECT_EQ(std::string(tally->notes[id]), "worker " + std::to_string(id) + " was here");
      const pid_t pid = tally->pids[id].load();
      distinct_pids.insert(pid);
      if constexpr (std::is_same_v<Form, hazardlab::ProcessForm>) {
        EXPECT_NE(pid, ::getpid()); // a child wrote it, and the parent reads it
        EXPECT_GT(pid, 0);
      } else {
        EXPECT_EQ(pid, ::getpid());
      }
    }
    if constexpr (std::is_same_v<Form, hazardlab::ProcessForm>) {
      EXPECT_EQ(distinct_pids.size(), static_cast<std::size_t>(workers)) << "one child per worker";
    }
    ASSERT_EQ(report.finished.size(), static_cast<std::size_t>(workers));
    for (bool finished : report.finished)
      EXPECT_TRUE(finished);
  }
}

TYPED_TEST(SharedState, OnlyPlacedStateIsShared) {
  // The control for the test above: memory that was not placed is the worker's own in the
  // process form (a forked child writes its copy), and common to all in the thread form.
  using Form = TypeParam;
  constexpr int kWorkers = 4;
  g_unplaced_writes.store(0);
  auto tally = hazardlab::place<Form, Tally>(0);
  const auto report = hazardlab::run_workers<Form>(kWorkers, 30s, [tally = tally.get()](Worker& worker) {
    g_unplaced_writes.fetch_add(1);
    tally->runs[worker.id()].fetch_add(1);
  });
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  int placed_writes = 0;
  for (const auto& runs : tally->runs)
    placed_writes += runs.load();
  EXPECT_EQ(placed_writes, kWorkers);
  const int visible_to_caller = std::is_same_v<Form, hazardlab::ProcessForm> ? 0 : kWorkers;
  EXPECT_EQ(g_unplaced_writes.load(), visible_to_caller);
}

TYPED_TEST(SharedState, PlacingCreatesNoSharedMemoryObject) {
  // The process form maps anonymous memory: nothing named in /dev/shm that a crash could leave.
  using Form = TypeParam;
  const auto before = hazardlab::testing::shm_objects();
  {
    auto tally = hazardlab::place<Form, Tally>(1);
    const auto during = hazardlab::testing::shm_objects();
    EXPECT_TRUE(std::ranges::includes(before, during)) << ::testing::PrintToString(during);
    EXPECT_EQ(tally->seed, 1);
    auto moved = std::move(tally); // the mapping (or heap object) moves with its handle
    EXPECT_EQ(tally.get(), nullptr);
    EXPECT_EQ(moved->seed, 1);
  }
  const auto after = hazardlab::testing::shm_objects();
  EXPECT_TRUE(std::ranges::includes(before, after)) << ::testing::PrintToString(after);
}

} // namespace
