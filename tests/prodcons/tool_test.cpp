// Lab 05 under ThreadSanitizer (this binary is built only in the tsan preset, and runs the
// TSan-built prodcons binary): semaphores without a mutex are a data race on the ring's indices;
// the fixes are clean; and a buffer that overwrites items under its mutex is clean too, because
// TSan sees data races, not broken logic.
#include "lab_run.hpp"

#include "hazardlab/outcome.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace tool_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::testing::run_lab_json;

const std::vector<std::string> kTsanEnv{"TSAN_OPTIONS=halt_on_error=0 exitcode=66"};
constexpr const char* kRaceReport = "WARNING: ThreadSanitizer: data race";

hazardlab::testing::LabRun prodcons_lab(std::vector<std::string> args) {
  return run_lab_json("prodcons", std::move(args), {}, kTsanEnv);
}

// The "SUMMARY: ThreadSanitizer: data race <file:line> in <function>" lines of a report.
std::vector<std::string> summaries(const std::string& err) {
  std::vector<std::string> lines;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("SUMMARY: ThreadSanitizer: data race ")) lines.push_back(line);
  return lines;
}

// Checks that TSan reported a data race in BrokenNoMutex's put or take (broken.hpp).
void expect_race_in_the_broken_buffer(const hazardlab::testing::LabRun& run) {
  const std::string& err = run.process.err;
  ASSERT_NE(err.find(kRaceReport), std::string::npos) << run.process.out << err;
  // Every report's stack runs through BrokenNoMutex::put or ::take in broken.hpp, and at least
  // one says so on its summary line (the index read or written there, or the slot beneath it).
  bool names_the_broken_buffer = false;
  for (const std::string& line : summaries(err))
    names_the_broken_buffer =
        names_the_broken_buffer || (line.find("labs/05-producer-consumer/broken.hpp:") != std::string::npos &&
                                    line.find("prodcons::BrokenNoMutex<hazardlab::ThreadForm>::") != std::string::npos);
  EXPECT_TRUE(names_the_broken_buffer) << err;
  // Every run here is controlled: its threads are stopped and joined, so TSan's exit hook runs and
  // its status (66) comes out. (A natural run that froze after its damage cannot take its threads
  // back; it ends with _Exit, past that hook, with the lab's own status.)
  EXPECT_EQ(run.process.exit_status, 66);
}

TEST(ProdconsTsanThreadForm, NoMutexIsADataRaceOnTheIndicesForced) {
  // The forced schedule runs the next producer at the first one's first hazard point, after it
  // has read `in` and before it writes it back. The turn is handed over with relaxed atomics and
  // a futex, which order nothing for TSan: the unordered accesses happen on every run, and TSan
  // reports them.
  const auto run = prodcons_lab({"--variant", "broken-no-mutex", "--schedule", "forced", "--producers", "2",
                                 "--consumers", "2", "--items", "500", "--timeout", "1000"});
  expect_race_in_the_broken_buffer(run);
  EXPECT_EQ(run.report.value("outcome", ""), "hazard:lost-and-duplicated") << run.process.out;
}

TEST(ProdconsTsanThreadForm, NoMutexIsADataRaceEvenOnRunsThatLoseNothing) {
  // TSan needs two unordered accesses, not a lost item. This schedule runs producer 0 through its
  // first put (the default rule for the first 3 choices) and hands the turn to producer 1 as
  // producer 0 is about to signal a filled slot: producer 1 then reads the `in` that producer 0
  // wrote, after it in time, and nothing orders the two (each producer's acquire of an empty slot
  // orders nothing after the other's write). Nothing is lost, and TSan reports it. (A natural run
  // may or may not show it: once the semaphores' release-acquire chain orders every producer
  // after the others, there is nothing to see.)
  const auto run = prodcons_lab({"--variant", "broken-no-mutex", "--schedule", "replay:+3,1", "--producers", "2",
                                 "--consumers", "2", "--items", "500", "--timeout", "1000"});
  EXPECT_EQ(run.report.value("outcome", ""), "correct") << run.process.out;
  expect_race_in_the_broken_buffer(run);
}

TEST(ProdconsTsanThreadForm, NoEmptyCountOverwritesItemsWithoutADataRace) {
  // Every access to the ring is under its mutex: no data race for TSan to see, while the
  // producers write over items no consumer has taken. The lab's own count catches what the tool
  // cannot.
  for (int trial = 0; trial < 3; ++trial) {
    const auto run = prodcons_lab({"--variant", "broken-no-empty-count", "--schedule", "forced", "--producers", "2",
                                   "--consumers", "2", "--items", "2000", "--timeout", "2000"});
    EXPECT_EQ(run.process.exit_status, hazardlab::kExitHazard) << run.process.err;
    EXPECT_EQ(run.report.value("outcome", ""), "hazard:overwritten") << run.process.out;
    EXPECT_GT(run.report.at("metrics").at("overwritten").get<std::uint64_t>(), 0u);
    EXPECT_EQ(run.process.err.find("ThreadSanitizer"), std::string::npos) << run.process.err;
  }
}

TEST(ProdconsTsanThreadForm, FixesAreClean) {
#ifndef HAZARDLAB_WITH_SOLUTIONS
  GTEST_SKIP() << "needs solutions/05-producer-consumer";
#endif
  for (const std::string variant : {"fixed", "fixed-condvar"}) {
    for (const std::vector<std::string>& shape :
         {std::vector<std::string>{"--producers", "1", "--consumers", "1", "--capacity", "1"},
          std::vector<std::string>{"--producers", "1", "--consumers", "4", "--capacity", "2"},
          std::vector<std::string>{"--producers", "4", "--consumers", "1", "--capacity", "3"},
          std::vector<std::string>{"--producers", "3", "--consumers", "3", "--capacity", "16"}}) {
      std::vector<std::string> args{"--variant", variant, "--items", "1001"};
      args.insert(args.end(), shape.begin(), shape.end());
      const auto run = prodcons_lab(args);
      EXPECT_EQ(run.process.exit_status, hazardlab::kExitCorrect) << variant << "\n" << run.process.err;
      EXPECT_EQ(run.process.err.find("ThreadSanitizer"), std::string::npos) << variant << "\n" << run.process.err;
      EXPECT_EQ(run.report.value("outcome", ""), "correct") << variant;
    }
  }
}

TEST(ProdconsTsanProcessForm, CannotSeeARaceBetweenProcesses) {
  // Each producer and consumer is its own process with its own shadow memory: the race on the
  // shared ring's indices goes unreported while items are still lost and duplicated.
  const auto run = prodcons_lab({"--form", "process", "--variant", "broken-no-mutex", "--schedule", "forced", "--items",
                                 "500", "--timeout", "1000"});
  EXPECT_EQ(run.process.exit_status, hazardlab::kExitHazard) << run.process.err;
  EXPECT_EQ(run.report.value("outcome", ""), "hazard:lost-and-duplicated");
  EXPECT_EQ(run.process.err.find(kRaceReport), std::string::npos) << run.process.err;
}

} // namespace tool_test
