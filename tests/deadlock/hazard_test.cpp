// Lab 02 hazard tests: broken, forced, freezes on every run, in both forms and both scenarios,
// and is ended at once (the scheduler sees every worker blocked), well within its deadline; the
// student reads the right cycle; nothing is left behind.
#include "form_names.hpp"
#include "lab_run.hpp"
#include "leftovers.hpp"

#include "hazardlab/outcome.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

namespace hazard_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::testing::run_lab_json;

class DeadlockForced : public ::testing::TestWithParam<std::string> {};

const char* kTwoAccountCycle = "worker 0 holds account 0, waits for account 1 (held by worker 1) → "
                               "worker 1 holds account 1, waits for account 0 (held by worker 0)";
const char* kThreePhilosopherCycle = "worker 0 holds fork 0, waits for fork 1 (held by worker 1) → "
                                     "worker 1 holds fork 1, waits for fork 2 (held by worker 2) → "
                                     "worker 2 holds fork 2, waits for fork 0 (held by worker 0)";

// Runs broken forced and checks it froze as a deadlock, in time, leaving nothing behind.
nlohmann::json expect_deadlock(const std::string& form, std::vector<std::string> args) {
  const hazardlab::testing::AdoptOrphans adopt; // a worker left behind would become our child
  const auto shm_before = hazardlab::testing::shm_objects();
  args.insert(args.end(), {"--form", form, "--variant", "broken", "--schedule", "forced", "--timeout", "500"});
  const auto run = run_lab_json("deadlock", args);
  EXPECT_EQ(run.process.exit_status, hazardlab::kExitStuck) << run.process.out << run.process.err;
  EXPECT_LT(run.process.wall_ms, 500 + 5'000);
  EXPECT_EQ(run.report.value("outcome", ""), "stuck:deadlock") << run.process.out;
  EXPECT_TRUE(hazardlab::testing::children_of(::getpid()).empty());
  EXPECT_EQ(hazardlab::testing::shm_objects(), shm_before);
  return run.report;
}

TEST_P(DeadlockForced, TwoTransfersInOppositeDirectionsFreezeEveryRun) {
  for (int trial = 0; trial < 5; ++trial) {
    const auto report = expect_deadlock(GetParam(), {"--workers", "2", "--accounts", "2"});
    ASSERT_FALSE(report.is_null());
    EXPECT_EQ(report["details"].back(), std::string("cycle: ") + kTwoAccountCycle) << "trial " << trial;
    EXPECT_EQ(report["metrics"]["cycle"], (std::vector<int>{0, 1}));
  }
}

TEST_P(DeadlockForced, ABankOfManyAccountsFreezesInARingEveryRun) {
  for (int trial = 0; trial < 5; ++trial) {
    const auto report = expect_deadlock(GetParam(), {"--workers", "4", "--accounts", "10"});
    ASSERT_FALSE(report.is_null());
    EXPECT_EQ(report["metrics"]["cycle"], (std::vector<int>{0, 1, 2, 3})) << "trial " << trial;
  }
}

TEST_P(DeadlockForced, PhilosophersFreezeInACycleOfTheWholeTableEveryRun) {
  for (int trial = 0; trial < 5; ++trial) {
    const auto report = expect_deadlock(GetParam(), {"--scenario", "philosophers", "--workers", "3"});
    ASSERT_FALSE(report.is_null());
    EXPECT_EQ(report["details"].back(), std::string("cycle: ") + kThreePhilosopherCycle) << "trial " << trial;
  }
}

TEST_P(DeadlockForced, TheStudentReadsTheWaitForGraph) {
  // The text report, as printed: the outcome, each worker's holdings and the cycle.
  const hazardlab::testing::AdoptOrphans adopt;
  const auto done =
      hazardlab::testing::run({hazardlab::testing::bin_path("deadlock"), "--form", GetParam(), "--schedule", "forced",
                               "--workers", "2", "--accounts", "2", "--timeout", "500"});
  EXPECT_EQ(done.exit_status, hazardlab::kExitStuck);
  for (const std::string line :
       {"outcome   stuck:deadlock", "deadlock: a cycle of 2 workers, each waiting for a lock the next one holds",
        "worker 0 holds account 0, waits for account 1 (held by worker 1)",
        "worker 1 holds account 1, waits for account 0 (held by worker 0)"})
    EXPECT_NE(done.out.find(line), std::string::npos) << line << "\n" << done.out;
  EXPECT_NE(done.out.find(std::string("cycle: ") + kTwoAccountCycle), std::string::npos) << done.out;
  EXPECT_TRUE(hazardlab::testing::children_of(::getpid()).empty());
}

INSTANTIATE_TEST_SUITE_P(Deadlock, DeadlockForced, ::testing::Values("thread", "process"),
                         hazardlab::testing::FormParamName);

} // namespace hazard_test
