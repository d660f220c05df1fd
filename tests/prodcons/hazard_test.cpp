// Lab 05 hazard tests: each broken variant, forced, fails in its own way on every run, in both
// forms, within its deadline, with the numbers that say what went wrong; the student reads who
// holds the mutex and who waits for what; nothing is left behind.
#include "form_names.hpp"
#include "lab_run.hpp"
#include "leftovers.hpp"

#include "hazardlab/outcome.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <map>

namespace hazard_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::testing::run_lab_json;

class ProdconsForced : public ::testing::TestWithParam<std::string> {};

// Two producers, two consumers, eight slots: every test but the text reports runs this shape.
const std::vector<std::string> kShape{"--producers", "2", "--consumers", "2", "--capacity", "8"};
constexpr std::int64_t kCapacity = 8;

std::int64_t metric(const nlohmann::json& report, const char* name) {
  return report.at("metrics").at(name).get<std::int64_t>();
}

bool has_line(const nlohmann::json& report, const std::string& line) {
  const auto& details = report.at("details");
  return std::find(details.begin(), details.end(), line) != details.end();
}

// Runs a variant forced (`trials` runs in one process when asked) and checks the outcome, the exit
// status that goes with it, that it ended within its deadlines and that it left nothing behind.
nlohmann::json expect_forced(const std::string& form, const std::string& variant, const std::string& outcome,
                             const std::string& items, int timeout_ms, int trials = 1) {
  const hazardlab::testing::AdoptOrphans adopt; // a worker left behind would become our child
  const auto shm_before = hazardlab::testing::shm_objects();
  std::vector<std::string> args = kShape;
  args.insert(args.end(), {"--form", form, "--variant", variant, "--schedule", "forced", "--items", items, "--timeout",
                           std::to_string(timeout_ms), "--trials", std::to_string(trials)});
  const auto run = run_lab_json("prodcons", args);
  const bool stuck = outcome.starts_with("stuck:");
  EXPECT_EQ(run.process.exit_status, stuck ? hazardlab::kExitStuck : hazardlab::kExitHazard)
      << run.process.out << run.process.err;
  EXPECT_LT(run.process.wall_ms, trials * timeout_ms + 5'000);
  EXPECT_EQ(run.report.value("outcome", ""), outcome) << run.process.out;
  EXPECT_TRUE(hazardlab::testing::children_of(::getpid()).empty());
  EXPECT_EQ(hazardlab::testing::shm_objects(), shm_before);
  return run.report;
}

// What semaphores without a mutex do: two producers fill one slot (an item overwritten, and lost
// once production has ended), two consumers take one item (duplicated). The semaphores still
// count right, so the ring never holds more than its capacity.
void expect_lost_and_duplicated(const std::string& form, const std::string& variant) {
  // Both producers read `in`, and both consumers `out`, before either writes it back (the script's
  // lockstep at each worker's first hazard point): one item overwritten, one taken twice. Each
  // index loses the same update, so the rest of the run is right and it ends in milliseconds. A
  // run that went otherwise (frozen after the damage, or still moving at the deadline) would still
  // be this outcome, so the deadline is short.
  for (int trial = 0; trial < 5; ++trial) {
    const auto report = expect_forced(form, variant, "hazard:lost-and-duplicated", "500", 800);
    ASSERT_TRUE(report.is_object());
    EXPECT_GT(metric(report, "duplicated"), 0) << "trial " << trial << "\n" << report.dump();
    EXPECT_GT(metric(report, "lost") + metric(report, "overwritten"), 0) << "trial " << trial << "\n" << report.dump();
    EXPECT_LE(metric(report, "max_occupancy"), kCapacity) << "trial " << trial;
    EXPECT_EQ(metric(report, "capacity"), kCapacity);
    EXPECT_EQ(metric(report, "items"), 500);
  }
}

TEST_P(ProdconsForced, NoMutexLosesAndDuplicatesItemsEveryRun) {
  expect_lost_and_duplicated(GetParam(), "broken-no-mutex");
}

TEST_P(ProdconsForced, MutexFirstFreezesWithAProducerAsleepHoldingTheMutexEveryRun) {
  for (int trial = 0; trial < 5; ++trial) {
    const auto report = expect_forced(GetParam(), "broken-mutex-first", "stuck:deadlock", "2000", 800);
    ASSERT_TRUE(report.is_object());
    // The cycle: one producer (workers 0 and 1) asleep on a full ring with the mutex, and a
    // consumer (workers 2 and 3) waiting for that mutex. The script runs producer 0 until it
    // blocks, so the cycle is producer 0 and consumer 0; any producer and consumer would do.
    const auto cycle = report.at("metrics").at("cycle").get<std::vector<int>>();
    ASSERT_EQ(cycle.size(), 2u) << report.dump();
    const int producer = cycle[0];
    const int consumer = cycle[1] - 2;
    ASSERT_TRUE(producer >= 0 && producer < 2 && consumer >= 0 && consumer < 2) << report.dump();
    const std::string expected =
        fmt::format("cycle: producer {0} holds ring mutex, waits for an empty slot (given by consumer 0, consumer 1) "
                    "→ consumer {1} holds nothing, waits for ring mutex (held by producer {0})",
                    producer, consumer);
    const auto& details = report.at("details");
    ASSERT_GE(details.size(), 2u);
    // The cycle is the last line of the report, before the line that says why.
    EXPECT_EQ(details[details.size() - 2], expected) << "trial " << trial;
    EXPECT_NE(details.back().get<std::string>().find("wait on the semaphore first, then take the mutex"),
              std::string::npos);
    // Frozen, not damaged: the ring full, every item put still there or never made.
    EXPECT_EQ(metric(report, "max_occupancy"), kCapacity);
    EXPECT_EQ(metric(report, "duplicated"), 0);
    EXPECT_EQ(metric(report, "overwritten"), 0);
    EXPECT_EQ(metric(report, "lost"), 0);
  }
}

TEST_P(ProdconsForced, NoEmptyCountOverwritesItemsEveryRun) {
  // It never waits, so it never freezes: ten runs in one process, and every one overwrote.
  constexpr int kTrials = 10;
  const auto report = expect_forced(GetParam(), "broken-no-empty-count", "hazard:overwritten", "2000", 1000, kTrials);
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report.at("trials_run"), kTrials);
  EXPECT_EQ(report.at("histogram"), (std::map<std::string, int>{{"hazard:overwritten", kTrials}})) << report.dump();
  // The least damage over the ten runs: still overwritten items, and more put than the ring holds.
  EXPECT_GT(report.at("distribution").at("overwritten").at("min").get<double>(), 0) << report.at("distribution").dump();
  EXPECT_GT(report.at("distribution").at("max_occupancy").at("min").get<double>(), kCapacity)
      << report.at("distribution").dump();
  EXPECT_GT(metric(report, "overwritten"), 0);
  EXPECT_GT(metric(report, "max_occupancy"), kCapacity);
  EXPECT_EQ(metric(report, "capacity"), kCapacity);
}

TEST_P(ProdconsForced, NoShutdownMovesEveryItemThenTheConsumersWaitForeverEveryRun) {
  for (int trial = 0; trial < 5; ++trial) {
    const auto report = expect_forced(GetParam(), "broken-no-shutdown", "stuck:at-shutdown", "2000", 800);
    ASSERT_TRUE(report.is_object());
    // The buffer itself is right: every item made, taken and counted exactly once.
    EXPECT_EQ(metric(report, "produced"), 2000) << "trial " << trial;
    EXPECT_EQ(metric(report, "consumed"), 2000) << "trial " << trial;
    EXPECT_EQ(metric(report, "exactly_once"), 2000) << "trial " << trial;
    EXPECT_EQ(metric(report, "lost") + metric(report, "duplicated") + metric(report, "overwritten"), 0);
    EXPECT_EQ(report.at("summary"), "stuck at shutdown: production ended and 2,000 of 2,000 items were consumed, but "
                                    "2 consumers still wait for a filled slot that no producer will ever give");
    for (const char* consumer : {"consumer 0", "consumer 1"})
      EXPECT_TRUE(has_line(report, std::string(consumer) +
                                       " holds nothing, waits for a filled slot (given by producer 0, producer 1)"))
          << consumer << "\n"
          << report.at("details").dump();
    // The producers finished; the consumers did not.
    const auto& workers = report.at("metrics").at("workers");
    ASSERT_EQ(workers.size(), 4u);
    for (int w = 0; w < 4; ++w)
      EXPECT_EQ(workers[w].at("finished"), w < 2) << "worker " << w;
  }
}

// The text report, as printed.
void expect_lines(const std::string& form, const std::vector<std::string>& args,
                  const std::vector<std::string>& lines) {
  const hazardlab::testing::AdoptOrphans adopt;
  std::vector<std::string> argv{hazardlab::testing::bin_path("prodcons"), "--form", form, "--schedule", "forced"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto done = hazardlab::testing::run(argv);
  EXPECT_EQ(done.exit_status, hazardlab::kExitStuck) << done.out << done.err;
  for (const std::string& line : lines)
    EXPECT_NE(done.out.find(line), std::string::npos) << line << "\n" << done.out;
  EXPECT_TRUE(hazardlab::testing::children_of(::getpid()).empty());
}

TEST_P(ProdconsForced, TheStudentReadsWhoHoldsTheMutexAndWhoWaitsForASlot) {
  // One producer, one consumer, one slot: the cycle is always the same two workers.
  expect_lines(GetParam(),
               {"--variant", "broken-mutex-first", "--producers", "1", "--consumers", "1", "--capacity", "1", "--items",
                "100", "--timeout", "800"},
               {"prodcons · " + GetParam() + " form · variant broken-mutex-first · 2 workers · forced schedule",
                "outcome   stuck:deadlock", "deadlock: a cycle of 2 workers, each waiting for ",
                "producer 0 holds ring mutex, waits for an empty slot (given by consumer 0)\n",
                "consumer 0 holds nothing, waits for ring mutex (held by producer 0)\n",
                "cycle: producer 0 holds ring mutex, waits for an empty slot (given by consumer 0) → "
                "consumer 0 holds nothing, waits for ring mutex (held by producer 0)\n",
                "a producer waits for an empty slot while holding the mutex, and only a consumer, who needs that "
                "mutex, can free one: wait on the semaphore first, then take the mutex"});
}

TEST_P(ProdconsForced, TheStudentReadsThatTheConsumersWereNeverTold) {
  expect_lines(GetParam(),
               {"--variant", "broken-no-shutdown", "--producers", "1", "--consumers", "2", "--capacity", "4", "--items",
                "100", "--timeout", "800"},
               {"outcome   stuck:at-shutdown",
                "stuck at shutdown: production ended and 100 of 100 items were consumed, but 2 consumers still wait "
                "for a filled slot that no producer will ever give",
                "producer 0 holds nothing, waits for nothing\n",
                "consumer 0 holds nothing, waits for a filled slot (given by producer 0)\n",
                "consumer 1 holds nothing, waits for a filled slot (given by producer 0)\n",
                "the consumers are never told that production ended: send one end-of-production pill per consumer",
                "exactly_once=100"});
}

INSTANTIATE_TEST_SUITE_P(Prodcons, ProdconsForced, ::testing::Values("thread", "process"),
                         hazardlab::testing::FormParamName);

} // namespace hazard_test
