// The barrier in both forms: no worker passes round k before every worker has arrived at round
// k, and the same barrier serves round after round.
#include "form_names.hpp"
#include "leftovers.hpp"

#include "hazardlab/barrier.hpp"
#include "hazardlab/forms.hpp"
#include "hazardlab/workers.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <thread>

namespace barrier_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::Worker;
using hazardlab::WorkersReport;
using namespace std::chrono_literals;

constexpr int kWorkers = 4;
constexpr int kRounds = 25;

template <class Form>
struct Rounds {
  hazardlab::Barrier<Form> barrier{kWorkers};
  std::array<std::atomic<int>, kWorkers> round{};       // the round each worker has arrived at
  std::array<std::atomic<int>, kRounds + 1> arrivals{}; // arrivals[k]: workers that arrived at round k
  std::array<std::atomic<int>, kRounds + 1> passed{};   // passed[k]: workers through round k's barrier
  std::atomic<int> passed_early{0};                     // a worker through round k saw someone not yet at round k
  std::atomic<int> ran_ahead{0};                        // a worker through round k saw someone beyond round k + 1
};

template <class Form>
struct Held {
  hazardlab::Barrier<Form> barrier{kWorkers};
  std::atomic<bool> latecomer_arrived{false};
  std::atomic<int> passed_before_latecomer{0};
  std::atomic<int> passed{0};
};

template <class Form>
class BarrierTest : public hazardlab::testing::LeavesNothingBehind {};
TYPED_TEST_SUITE(BarrierTest, hazardlab::testing::BothForms, hazardlab::testing::FormName);

TYPED_TEST(BarrierTest, NoWorkerPassesARoundBeforeAllArrived) {
  using Form = TypeParam;
  auto state = hazardlab::place<Form, Rounds<Form>>();
  const auto report = hazardlab::run_workers<Form>(kWorkers, 60s, [s = state.get()](Worker& worker) {
    const int me = worker.id();
    for (int k = 1; k <= kRounds; ++k) {
      // A different worker is late each round, so that a barrier that let anyone through early
      // would be caught doing it.
      if ((me + k) % kWorkers == 0) std::this_thread::sleep_for(2ms);
      s->round[me].store(k);
      s->arrivals[k].fetch_add(1);
      s->barrier.arrive_and_wait();
      if (s->arrivals[k].load() != kWorkers) s->passed_early.fetch_add(1);
      for (int other = 0; other < kWorkers; ++other) {
        const int seen = s->round[other].load();
        if (seen < k) s->passed_early.fetch_add(1);
        if (seen > k + 1) s->ran_ahead.fetch_add(1); // it passed round k + 1 without this worker
      }
      s->passed[k].fetch_add(1);
      worker.progressed();
    }
  });
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  EXPECT_EQ(state->passed_early.load(), 0);
  EXPECT_EQ(state->ran_ahead.load(), 0);
  for (int k = 1; k <= kRounds; ++k) {
    EXPECT_EQ(state->arrivals[k].load(), kWorkers) << "round " << k;
    EXPECT_EQ(state->passed[k].load(), kWorkers) << "round " << k;
  }
  for (int w = 0; w < kWorkers; ++w) {
    EXPECT_EQ(state->round[w].load(), kRounds) << "worker " << w;
    EXPECT_EQ(report.progress[w], static_cast<std::uint64_t>(kRounds)) << "worker " << w;
  }
}

TYPED_TEST(BarrierTest, LastArrivalReleasesTheOthers) {
  // One worker is held back on purpose; everyone else must still be waiting when it arrives.
  using Form = TypeParam;
  auto state = hazardlab::place<Form, Held<Form>>();
  const auto report = hazardlab::run_workers<Form>(kWorkers, 60s, [s = state.get()](Worker& worker) {
    for (int round = 0; round < 3; ++round) {
      const bool latecomer = worker.id() == round % kWorkers;
      if (latecomer) {
        std::this_thread::sleep_for(20ms);
        s->latecomer_arrived.store(true);
      }
      s->barrier.arrive_and_wait();
      if (!s->latecomer_arrived.load()) s->passed_before_latecomer.fetch_add(1);
      s->passed.fetch_add(1);
      // Everyone is through before the flag is cleared for the next round.
      s->barrier.arrive_and_wait();
      if (latecomer) s->latecomer_arrived.store(false);
      s->barrier.arrive_and_wait();
    }
  });
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  EXPECT_EQ(state->passed_before_latecomer.load(), 0);
  EXPECT_EQ(state->passed.load(), 3 * kWorkers);
}

} // namespace barrier_test
