// Lab 03 grading tests: both reference fixes get every unit done, each one holding both of its
// resources, on every one of many trials, in both forms and both schedules, with a pair of workers,
// a ring of three and a ring of eight. fixed-ordering does it in one attempt per unit;
// fixed-backoff's forced runs, whose first attempts always collide (they go in lockstep), repeat
// exactly for one --seed.
// The lab runs as a grader would run it, with --trials; in the TSan build it is the TSan-built
// binary, and a ThreadSanitizer report would change its exit status.
#include "form_names.hpp"
#include "lab_run.hpp"
#include "leftovers.hpp"

#include "hazardlab/outcome.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>

namespace fixed_test { // named, not anonymous: its binary's test files are one translation unit

constexpr int kNaturalTrials = 20;
constexpr int kForcedTrials = 5;

// Units per worker. A forced run runs one worker at a time, so it takes as long as every worker's
// units added up, plus a hand-over at every switch, and it has shown all it can once every worker
// has done its first unit (the lockstep ends there; then each worker runs until it blocks or
// pauses). 200 keeps it short: eight workers took 24 to 28 ms for 200 units on this 2-core machine
// with a build running beside; more CPU load from other tests (ctest -j2, a TSan build) stretches
// every hand-over.
std::uint64_t units_for(const std::string& schedule) { return schedule == "forced" ? 200 : 1'000; }

// Runs `trials` trials of a fix in one lab process and checks every one of them: each trial gets
// its own random streams from --seed, the histogram counts the outcomes, the distribution spans the
// trials' metrics.
nlohmann::json expect_every_unit_done(const std::string& form, const std::string& variant, const std::string& schedule,
                                      int workers, int trials, const std::string& seed = "1000") {
  SCOPED_TRACE(fmt::format("{} form, {}, {} schedule, {} workers", form, variant, schedule, workers));
  const hazardlab::testing::AdoptOrphans adopt; // a worker left behind would become our child
  const std::uint64_t units = units_for(schedule);
  // The deadline is only an upper bound, far above the measured times (natural, under load: 0.4 s;
  // forced: tens of milliseconds), and short enough that a fix that never finishes fails within
  // the 120 s a lab run may take here.
  const auto lab = hazardlab::testing::run_lab_json(
      "livelock", {"--form", form, "--variant", variant, "--schedule", schedule, "--workers", std::to_string(workers),
                   "--units", std::to_string(units), "--trials", std::to_string(trials), "--seed", seed, "--timeout",
                   schedule == "forced" ? "20000" : "5000"});
  EXPECT_EQ(lab.process.exit_status, hazardlab::kExitCorrect) << lab.process.out << lab.process.err;
  if (!lab.report.is_object()) {
    ADD_FAILURE() << "no JSON report\n" << lab.process.out << lab.process.err;
    return lab.report;
  }
  EXPECT_EQ(lab.report.value("outcome", ""), "correct") << lab.report.dump();
  EXPECT_EQ(lab.report.value("trials_run", 0), trials);
  EXPECT_EQ(lab.report.at("histogram"), (std::map<std::string, int>{{"correct", trials}})) << lab.report.dump();
  // Every trial, not just the one reported: the least and the most over all of them.
  const auto& spread = lab.report.at("distribution");
  const double all_units = static_cast<double>(units) * workers;
  EXPECT_EQ(spread.at("units").at("min").get<double>(), all_units) << spread.dump();
  EXPECT_EQ(spread.at("units").at("max").get<double>(), all_units) << spread.dump();
  EXPECT_EQ(spread.at("units_without_both").at("max").get<double>(), 0) << spread.dump();
  EXPECT_EQ(spread.at("uses_miscounted").at("max").get<double>(), 0) << spread.dump();
  const auto& metrics = lab.report.at("metrics");
  EXPECT_EQ(metrics.at("units"), units * static_cast<std::uint64_t>(workers));
  const auto& per_worker = metrics.at("workers");
  EXPECT_EQ(per_worker.size(), static_cast<std::size_t>(workers));
  for (std::size_t w = 0; w < per_worker.size(); ++w)
    EXPECT_EQ(per_worker[w].at("units"), units) << "worker " << w;
  return lab.report;
}

template <class Form>
class LivelockFixed : public hazardlab::testing::LeavesNothingBehind {};
TYPED_TEST_SUITE(LivelockFixed, hazardlab::testing::BothForms, hazardlab::testing::FormName);

constexpr int kWorkerCounts[] = {2, 3, 8};

TYPED_TEST(LivelockFixed, BackoffGetsEveryUnitDoneNatural) {
  for (int workers : kWorkerCounts) {
    expect_every_unit_done(hazardlab::testing::form_option<TypeParam>(), "fixed-backoff", "natural", workers,
                           kNaturalTrials);
    if (::testing::Test::HasFailure()) return; // one failing shape says it; a stuck natural run costs a deadline
  }
}

TYPED_TEST(LivelockFixed, BackoffGetsEveryUnitDoneForced) {
  for (int workers : kWorkerCounts) {
    const nlohmann::json report = expect_every_unit_done(hazardlab::testing::form_option<TypeParam>(), "fixed-backoff",
                                                         "forced", workers, kForcedTrials);
    if (::testing::Test::HasFailure()) return;
    // The forced schedule runs the first attempts in lockstep, so every worker's first try fails in
    // every trial and the back-off sorts it out: more attempts than units, in every trial.
    EXPECT_GT(report.at("distribution").at("attempts").at("min").get<double>(),
              static_cast<double>(units_for("forced")) * workers)
        << report.at("distribution").dump();
  }
}

TYPED_TEST(LivelockFixed, OrderingGetsEveryUnitDoneInOneAttemptEachNatural) {
  for (int workers : kWorkerCounts) {
    const nlohmann::json report = expect_every_unit_done(hazardlab::testing::form_option<TypeParam>(), "fixed-ordering",
                                                         "natural", workers, kNaturalTrials);
    if (::testing::Test::HasFailure()) return;
    EXPECT_EQ(report.at("distribution").at("attempts_per_unit").at("max").get<double>(), 1.0); // never gives way
  }
}

TYPED_TEST(LivelockFixed, OrderingGetsEveryUnitDoneInOneAttemptEachForced) {
  for (int workers : kWorkerCounts) {
    const nlohmann::json report = expect_every_unit_done(hazardlab::testing::form_option<TypeParam>(), "fixed-ordering",
                                                         "forced", workers, kForcedTrials);
    if (::testing::Test::HasFailure()) return;
    EXPECT_EQ(report.at("distribution").at("attempts_per_unit").at("max").get<double>(), 1.0);
  }
}

// Each worker's attempts in the reported trial, and the spread of the total over all the trials.
nlohmann::json attempts_of(const nlohmann::json& report) {
  nlohmann::json per_worker = nlohmann::json::array();
  for (const auto& worker : report.at("metrics").at("workers"))
    per_worker.push_back(worker.at("attempts"));
  return {{"per_worker", per_worker}, {"over_the_trials", report.at("distribution").at("attempts")}};
}

TYPED_TEST(LivelockFixed, BackoffForcedRepeatsExactlyForTheSameSeed) {
  // "Seeded by --seed, so a run can be repeated": under the forced schedule the scheduler decides
  // who runs and the pauses are on the run's virtual clock, so the same seed gives the same pauses,
  // the same choices and the same collisions, on any machine and under any load, whatever the OS
  // does.
  const std::string form = hazardlab::testing::form_option<TypeParam>();
  for (int workers : kWorkerCounts) {
    // (Eight workers are the slow case under load: one seed.)
    const std::vector<std::string> seeds =
        workers < 8 ? std::vector<std::string>{"7", "20261122"} : std::vector<std::string>{"7"};
    for (const std::string& seed : seeds) {
      const nlohmann::json first = expect_every_unit_done(form, "fixed-backoff", "forced", workers, 2, seed);
      const nlohmann::json again = expect_every_unit_done(form, "fixed-backoff", "forced", workers, 2, seed);
      if (::testing::Test::HasFailure()) return;
      const nlohmann::json attempts = attempts_of(first);
      EXPECT_EQ(attempts, attempts_of(again)) << workers << " workers, seed " << seed;
      // Not vacuous: each worker collided at least once (its first try, in lockstep), so its pauses
      // mattered.
      for (const auto& of_a_worker : attempts.at("per_worker"))
        EXPECT_GT(of_a_worker.get<std::uint64_t>(), units_for("forced")) << workers << " workers, seed " << seed;
    }
  }
}

class LivelockFixedBothForms : public hazardlab::testing::LeavesNothingBehind {};

TEST_F(LivelockFixedBothForms, BackoffForcedIsTheSameRunInEitherForm) {
  // The scheduler's choices and the virtual clock decide the run, not the threads or processes it
  // runs on.
  for (int workers : kWorkerCounts) {
    const auto threads = expect_every_unit_done("thread", "fixed-backoff", "forced", workers, 2, "7");
    const auto processes = expect_every_unit_done("process", "fixed-backoff", "forced", workers, 2, "7");
    if (::testing::Test::HasFailure()) return;
    EXPECT_EQ(attempts_of(threads), attempts_of(processes)) << workers << " workers";
  }
}

} // namespace fixed_test
