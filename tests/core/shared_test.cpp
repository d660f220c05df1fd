// Both forms spawn N workers, run each body exactly once with ids 0..N-1, and state placed with
// place<Form, T>() is the same object for every worker and the caller. For the process form that
// proves the mapping really is shared: the children write, the parent reads. The same holds for
// arrays placed with place_array<Form, T>(n), whose length is known only at run time.
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
#include <cstdint>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <type_traits>

namespace shared_test { // named, not anonymous: its binary's test files are one translation unit

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

// ---- placed arrays -------------------------------------------------------------------------

// What worker code writes into item i: never 0, and different for neighbours.
constexpr std::uint32_t mark(std::size_t i) { return static_cast<std::uint32_t>(i * 2'654'435'761u) | 1u; }

TYPED_TEST(SharedState, AnArrayStartsZeroAndCarriesTheWorkersWrites) {
  // A million counters, each written by one of 4 workers (in stripes, so that every page has
  // items of every worker) and read by the caller afterwards.
  using Form = TypeParam;
  using Counter = std::atomic<std::uint32_t>;
  constexpr std::size_t kItems = 1'000'000;
  constexpr int kWorkers = 4;
  auto items = hazardlab::place_array<Form, Counter>(kItems);
  ASSERT_EQ(items.size(), kItems);
  ASSERT_EQ(items.data(), &items[0]);
  std::size_t nonzero = 0;
  for (std::size_t i = 0; i < kItems; ++i)
    nonzero += items[i].load() != 0;
  EXPECT_EQ(nonzero, 0u);

  const auto report = hazardlab::run_workers<Form>(kWorkers, 30s, [data = items.data()](Worker& worker) {
    for (std::size_t i = static_cast<std::size_t>(worker.id()); i < kItems; i += kWorkers)
      data[i].store(mark(i), std::memory_order_relaxed);
  });
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  std::size_t wrong = 0;
  std::size_t first_wrong = kItems;
  for (std::size_t i = 0; i < kItems; ++i) {
    if (items[i].load() == mark(i)) continue;
    ++wrong;
    first_wrong = std::min(first_wrong, i);
  }
  EXPECT_EQ(wrong, 0u) << "first at item " << first_wrong; // the last item too: the whole array is shared
}

// A type whose value-initialization is not all-zero bytes: it shows the items are constructed,
// not merely zeroed memory (a fresh mapping is zero anyway).
struct Slot {
  std::atomic<int> owner{-1};
  std::atomic<std::uint32_t> count{0};
};

TYPED_TEST(SharedState, AnArrayIsValueInitialized) {
  using Form = TypeParam;
  constexpr std::size_t kItems = 64;
  {
    // Leave bytes that are not zero where the heap form's next allocation of this size is likely
    // to land, so that an array not value-initialized would show them.
    auto dirty = std::make_unique<int[]>(kItems);
    volatile int* bytes = dirty.get(); // volatile: stores the compiler may not drop before the free
    for (std::size_t i = 0; i < kItems; ++i)
      bytes[i] = -1;
  }
  auto ints = hazardlab::place_array<Form, int>(kItems);
  auto slots = hazardlab::place_array<Form, Slot>(3);
  for (std::size_t i = 0; i < kItems; ++i)
    EXPECT_EQ(ints[i], 0) << "item " << i;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    EXPECT_EQ(slots[i].owner.load(), -1) << "slot " << i;
    EXPECT_EQ(slots[i].count.load(), 0u) << "slot " << i;
  }
}

TYPED_TEST(SharedState, AnEmptyArrayIsAllowed) {
  using Form = TypeParam;
  auto none = hazardlab::place_array<Form, std::atomic<std::uint32_t>>(0);
  EXPECT_EQ(none.size(), 0u);
  auto moved = std::move(none); // and moving it, and letting both holders go, is harmless
  EXPECT_EQ(moved.size(), 0u);
  EXPECT_EQ(none.size(), 0u);
}

TYPED_TEST(SharedState, AMovedArrayKeepsItsItemsAndStaysShared) {
  using Form = TypeParam;
  constexpr std::size_t kItems = 4'096;
  auto items = hazardlab::place_array<Form, std::atomic<std::uint32_t>>(kItems);
  for (std::size_t i = 0; i < kItems; ++i)
    items[i].store(mark(i));
  auto* const where = items.data();
  auto moved = std::move(items); // the mapping (or heap block) moves with its holder
  EXPECT_EQ(items.size(), 0u);
  EXPECT_EQ(items.data(), nullptr);
  ASSERT_EQ(moved.size(), kItems);
  EXPECT_EQ(moved.data(), where);
  std::size_t kept = 0;
  for (std::size_t i = 0; i < kItems; ++i)
    kept += moved[i].load() == mark(i);
  EXPECT_EQ(kept, kItems);

  // Still shared after the move: the workers' writes through it reach the caller.
  const auto report = hazardlab::run_workers<Form>(2, 30s, [data = moved.data()](Worker& worker) {
    for (std::size_t i = static_cast<std::size_t>(worker.id()); i < kItems; i += 2)
      data[i].fetch_add(1);
  });
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  std::size_t bumped = 0;
  for (std::size_t i = 0; i < kItems; ++i)
    bumped += moved[i].load() == mark(i) + 1;
  EXPECT_EQ(bumped, kItems);
}

} // namespace shared_test
