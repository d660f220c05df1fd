// --schedule explore: every interleaving within a preemption bound. The counts here are exact: they
// are the number of schedules the bound allows, worked out by hand, and no machine, load or
// sanitizer changes them. Nothing is timed.
#include "form_names.hpp"
#include "lab_run.hpp"

#include "hazardlab/explore.hpp"
#include "hazardlab/forms.hpp"
#include "hazardlab/workers.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace explore_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::Exploration;
using hazardlab::ExploreOptions;
using hazardlab::RunContext;
using hazardlab::RunResult;
using hazardlab::Verdict;
using hazardlab::Worker;
using hazardlab::testing::run_lab_json;
using nlohmann::json;

constexpr auto kDeadline = std::chrono::seconds(60); // never reached: nothing here waits for time

std::uint64_t count_of(const json& histogram, const std::string& outcome) {
  return histogram.contains(outcome) ? histogram.at(outcome).get<std::uint64_t>() : 0;
}

class RaceExplored : public ::testing::TestWithParam<std::string> {};

// Race, broken, 2 workers × 1 increment. The scheduling points: the run's start (who goes first),
// each worker's hazard point between its read and its write, and each worker's end. With worker 0
// first (worker 1 first is the mirror image, so every count doubles):
//   - at worker 0's hazard point, worker 0 goes on (no preemption): it writes 1 and ends; worker 1
//     then reads 1 and writes 2 alone. Correct. (1 schedule)
//   - worker 1 runs instead (1 preemption): it reads 0 too. At worker 1's hazard point,
//       - worker 1 goes on: it writes 1 and ends, then worker 0 writes 1. Lost. (1 schedule)
//       - worker 0 runs instead (2 preemptions): it writes 1 and ends, then worker 1 writes 1.
//         Lost. (1 schedule)
// Within 2 preemptions: 2 × 3 = 6 schedules, 2 × 2 = 4 of them lose an update. Within 1: the last
// kind is out, so 2 × 2 = 4 schedules, 2 lose one. Within 0: 2 schedules, none loses one.
TEST_P(RaceExplored, TwoWorkersOneIncrementHaveExactlyTheSchedulesWorkedOutByHand) {
  const std::string form = GetParam();
  struct Expected {
    int preemptions;
    std::uint64_t schedules, lost;
  };
  for (const auto& [preemptions, schedules, lost] : {Expected{2, 6, 4}, Expected{1, 4, 2}, Expected{0, 2, 0}}) {
    SCOPED_TRACE(fmt::format("--preemptions {}", preemptions));
    const auto run = run_lab_json("race", {"--variant", "broken", "--form", form, "--schedule", "explore",
                                           "--iterations", "1", "--preemptions", std::to_string(preemptions)});
    ASSERT_TRUE(run.report.is_object()) << run.process.out << run.process.err;
    const json& e = run.report.at("explore");
    EXPECT_EQ(e.at("schedules").get<std::uint64_t>(), schedules);
    EXPECT_TRUE(e.at("exhausted").get<bool>());
    EXPECT_EQ(count_of(e.at("histogram"), "hazard:lost-updates"), lost);
    EXPECT_EQ(count_of(e.at("histogram"), "correct"), schedules - lost);
    EXPECT_EQ(run.process.exit_status, lost > 0 ? hazardlab::kExitHazard : hazardlab::kExitCorrect);
  }
}

// The shortest failing schedule is the table a student reads: both workers read 0 before either
// writes. Replaying its printed choices gives the same run, every time.
TEST_P(RaceExplored, TheShortestFailingScheduleIsShownAndItsReplayRepeatsIt) {
  const std::string form = GetParam();
  const auto run = run_lab_json("race", {"--variant", "broken", "--form", form, "--schedule", "explore"});
  ASSERT_TRUE(run.report.is_object()) << run.process.out << run.process.err;
  const json& failing = run.report.at("explore").at("shortest_failing");
  // The lost update's signature: two workers read the same value of the counter.
  std::map<std::string, std::set<int>> readers;
  for (const auto& step : failing.at("steps"))
    if (std::string(step.at("does")).starts_with("read counter = "))
      readers[step.at("does")].insert(step.at("worker").get<int>());
  EXPECT_TRUE(std::ranges::any_of(readers, [](const auto& read) { return read.second.size() == 2; }))
      << failing.at("steps").dump();
  const std::string seed = std::to_string(run.report.at("seed").get<std::uint64_t>());
  const std::string choices = failing.at("choices");
  // Explore's small sizes are part of the printed replay.
  EXPECT_EQ(failing.at("replay"),
            fmt::format("--workers 2 --iterations 2 --seed {} --schedule 'replay:{}'", seed, choices));
  for (int again = 0; again < 20; ++again) {
    const auto replayed = run_lab_json("race", {"--variant", "broken", "--form", form, "--workers", "2", "--iterations",
                                                "2", "--seed", seed, "--schedule", "replay:" + choices});
    ASSERT_TRUE(replayed.report.is_object()) << replayed.process.err;
    EXPECT_EQ(replayed.report.at("outcome"), failing.at("outcome"));
    EXPECT_EQ(replayed.report.at("metrics").at("lost"), run.report.at("metrics").at("lost"));
    EXPECT_EQ(replayed.report.at("choices"), choices);
  }
}

TEST_P(RaceExplored, EveryFixIsCorrectOnEveryScheduleAndTheSpaceIsExhausted) {
  const std::string form = GetParam();
  for (const std::string variant : {"fixed-mutex", "fixed-atomic"}) {
    SCOPED_TRACE(variant);
    const auto run = run_lab_json("race", {"--variant", variant, "--form", form, "--schedule", "explore"});
    ASSERT_TRUE(run.report.is_object()) << run.process.out << run.process.err;
    const json& e = run.report.at("explore");
    EXPECT_TRUE(e.at("exhausted").get<bool>());
    EXPECT_GT(e.at("schedules").get<std::uint64_t>(), 1u);
    EXPECT_EQ(count_of(e.at("histogram"), "correct"), e.at("schedules").get<std::uint64_t>());
    EXPECT_EQ(run.process.exit_status, hazardlab::kExitCorrect);
  }
}

// --first-failure (the grader's way): the same depth-first order, stopped at the first schedule
// that fails. With 2 workers × 1 increment the first schedule lets worker 0 write before worker 1
// reads (correct); the second switches to worker 1 inside worker 0's window (lost): it stops there.
// A fix has no failing schedule, so the flag changes nothing: every schedule runs.
TEST_P(RaceExplored, FirstFailureStopsAtTheFirstFailingScheduleAndChangesNothingForAFix) {
  const std::string form = GetParam();
  const auto broken = run_lab_json(
      "race", {"--variant", "broken", "--form", form, "--schedule", "explore", "--iterations", "1", "--first-failure"});
  ASSERT_TRUE(broken.report.is_object()) << broken.process.out << broken.process.err;
  const json& e = broken.report.at("explore");
  EXPECT_EQ(e.at("schedules").get<std::uint64_t>(), 2u);
  EXPECT_FALSE(e.at("exhausted").get<bool>());
  EXPECT_TRUE(e.at("stopped_at_first_failure").get<bool>());
  EXPECT_EQ(count_of(e.at("histogram"), "correct"), 1u);
  EXPECT_EQ(count_of(e.at("histogram"), "hazard:lost-updates"), 1u);
  EXPECT_EQ(e.at("shortest_failing").at("schedule").get<std::uint64_t>(), 2u);
  EXPECT_EQ(broken.process.exit_status, hazardlab::kExitHazard);

  const auto fixed =
      run_lab_json("race", {"--variant", "fixed-mutex", "--form", form, "--schedule", "explore", "--first-failure"});
  ASSERT_TRUE(fixed.report.is_object()) << fixed.process.out << fixed.process.err;
  const auto all = run_lab_json("race", {"--variant", "fixed-mutex", "--form", form, "--schedule", "explore"});
  ASSERT_TRUE(all.report.is_object()) << all.process.out << all.process.err;
  EXPECT_TRUE(fixed.report.at("explore").at("exhausted").get<bool>());
  EXPECT_FALSE(fixed.report.at("explore").at("stopped_at_first_failure").get<bool>());
  EXPECT_EQ(fixed.report.at("explore").at("schedules"), all.report.at("explore").at("schedules"));
  EXPECT_EQ(fixed.process.exit_status, hazardlab::kExitCorrect);
}

TEST_P(RaceExplored, TheUntouchedExerciseFailsLikeBroken) {
  const auto run = run_lab_json("race", {"--variant", "exercise", "--form", GetParam(), "--schedule", "explore"});
  ASSERT_TRUE(run.report.is_object()) << run.process.err;
  EXPECT_GT(count_of(run.report.at("explore").at("histogram"), "hazard:lost-updates"), 0u);
  EXPECT_EQ(run.process.exit_status, hazardlab::kExitHazard);
}

TEST_P(RaceExplored, ExploreOptionsAreCheckedLikeEveryOther) {
  using hazardlab::testing::expect_usage_error;
  expect_usage_error("race", {"--form", GetParam(), "--schedule", "explore", "--preemptions", "9"}, "--preemptions");
  expect_usage_error("race", {"--form", GetParam(), "--schedule", "explore", "--max-schedules", "0"},
                     "--max-schedules");
  expect_usage_error("race", {"--form", GetParam(), "--preemptions", "1"},
                     "--preemptions does not apply to --schedule natural (only to --schedule explore)");
  expect_usage_error("race", {"--form", GetParam(), "--first-failure"},
                     "--first-failure does not apply to --schedule natural (only to --schedule explore)");
  expect_usage_error("race", {"--form", GetParam(), "--schedule", "explore", "--trials", "3"}, "--trials");
}

INSTANTIATE_TEST_SUITE_P(Lab, RaceExplored, ::testing::Values("thread", "process"), hazardlab::testing::FormParamName);

// ---- the engine, on bodies of its own, through Form::Atomic -------------------------------------

template <class Form>
class AtomicExplored : public ::testing::Test {};
TYPED_TEST_SUITE(AtomicExplored, hazardlab::testing::BothForms, hazardlab::testing::FormName);

// Two workers, each adding 1 with a separate load and store of an atomic: an atomic load and an
// atomic store are each indivisible, but not the pair. Explore finds the lost update; fetch_add
// never loses one.
template <class Form, bool kSeparate>
RunResult add_once(const RunContext& context) {
  struct State {
    typename Form::template Atomic<int> counter{0};
  };
  auto state = hazardlab::place<Form, State>();
  const auto report = hazardlab::run_workers<Form>(
      context.workers, kDeadline,
      [s = state.get()](Worker&) {
        if constexpr (kSeparate)
          s->counter.store(s->counter.load() + 1);
        else
          s->counter.fetch_add(1);
      },
      context.run_options());
  RunResult result;
  if (auto unfinished = hazardlab::unfinished_run(report)) return *unfinished;
  if (state->counter.load() != context.workers) {
    result.verdict = Verdict::hazard;
    result.kind = "lost-updates";
  }
  return result;
}

RunContext two_workers() {
  RunContext context;
  context.workers = 2;
  context.seed = 1;
  return context;
}

TYPED_TEST(AtomicExplored, ALoadThenAStoreLosesAnUpdateOnSomeScheduleAndFetchAddNever) {
  const Exploration separate = hazardlab::explore(add_once<TypeParam, true>, two_workers(), ExploreOptions{});
  EXPECT_TRUE(separate.exhausted);
  EXPECT_TRUE(separate.found_failure);
  EXPECT_EQ(separate.reported.outcome(), "hazard:lost-updates");
  EXPECT_GT(separate.histogram.at("correct"), 0u); // only some schedules lose it

  const Exploration together = hazardlab::explore(add_once<TypeParam, false>, two_workers(), ExploreOptions{});
  EXPECT_TRUE(together.exhausted);
  EXPECT_FALSE(together.found_failure);
  EXPECT_EQ(together.histogram.at("correct"), together.schedules);
}

// A spin loop on an atomic without spin_pause(): under control the spinner would run for ever and
// the worker it waits for never. The scheduler says so, with what to add.
TYPED_TEST(AtomicExplored, ASpinWithoutSpinPauseIsReportedAsSuch) {
  const auto spin = [](const RunContext& context) {
    struct State {
      typename TypeParam::template Atomic<int> ready{0};
    };
    auto state = hazardlab::place<TypeParam, State>();
    const auto report = hazardlab::run_workers<TypeParam>(
        context.workers, kDeadline,
        [s = state.get()](Worker& worker) {
          if (worker.id() == 0)
            while (s->ready.load() == 0) {
            } // no spin_pause(): nobody else ever runs
          else
            s->ready.store(1);
        },
        context.run_options());
    RunResult result;
    if (auto unfinished = hazardlab::unfinished_run(report)) return *unfinished;
    return result;
  };
  // No preemption: worker 0 first spins for ever; worker 1 first sets the flag. Two schedules.
  const Exploration e = hazardlab::explore(spin, two_workers(), ExploreOptions{0, 100});
  EXPECT_EQ(e.schedules, 2u);
  ASSERT_TRUE(e.found_failure);
  EXPECT_EQ(e.reported.outcome(), "stuck:livelock");
  std::string text = e.reported.summary;
  for (const auto& line : e.reported.details)
    text += "\n" + line;
  EXPECT_NE(text.find("spin_pause()"), std::string::npos) << text;
}

} // namespace explore_test
