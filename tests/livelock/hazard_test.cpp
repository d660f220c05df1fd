// Lab 03 hazard tests: broken, forced, livelocks on every run, in both forms, with a pair and with a ring of three:
// the workers try in lockstep, every one as often as the others, none gets a unit done, and the scheduler calls it a
// livelock (not a deadlock, not a plain timeout) long before the deadline; nothing is left behind. And the judge tells
// a livelock from what wrong fixes make of it: a deadlock (the second resource taken with a blocking lock), units done
// without holding both, units counted but never done.
#include "form_names.hpp"
#include "lab_run.hpp"
#include "leftovers.hpp"

#include "run.hpp"

#include "hazardlab/outcome.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <regex>
#include <type_traits>

namespace hazard_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::testing::run_lab_json;
using namespace std::chrono_literals;

constexpr int kTimeoutMs = 400;

class LivelockForced : public ::testing::TestWithParam<std::string> {};

// Runs `variant` forced and checks that the scheduler called a livelock: exit 4 within the deadline,
// every worker tried, the same number of times, and ran (some CPU time), none got a unit done, and
// nothing was left behind.
void expect_livelock(const std::string& form, const std::string& variant, int workers, int run) {
  SCOPED_TRACE(fmt::format("{} form, {}, {} workers, run {}", form, variant, workers, run));
  const hazardlab::testing::AdoptOrphans adopt; // a worker left behind would become our child
  const auto shm_before = hazardlab::testing::shm_objects();
  const auto lab = run_lab_json("livelock", {"--form", form, "--variant", variant, "--workers", std::to_string(workers),
                                             "--schedule", "forced", "--timeout", std::to_string(kTimeoutMs)});
  EXPECT_EQ(lab.process.exit_status, hazardlab::kExitStuck) << lab.process.out << lab.process.err;
  EXPECT_LT(lab.process.wall_ms, kTimeoutMs + 10'000); // an upper bound: the scheduler ends it in milliseconds
  ASSERT_TRUE(lab.report.is_object()) << lab.process.out << lab.process.err;
  // stuck:timeout would say nothing moved, stuck:deadlock that the workers wait in a cycle.
  EXPECT_EQ(lab.report.value("outcome", ""), "stuck:livelock") << lab.report.dump();
  EXPECT_FALSE(lab.report.at("metrics").contains("cycle")) << lab.report.dump();
  const auto& per_worker = lab.report.at("metrics").at("workers");
  ASSERT_EQ(per_worker.size(), static_cast<std::size_t>(workers)) << lab.report.dump();
  std::uint64_t fewest = std::numeric_limits<std::uint64_t>::max(), most = 0;
  for (int w = 0; w < workers; ++w) {
    const auto& worker = per_worker[w];
    // (value(): a run that was not stuck reports other fields, and that must fail here, not throw.)
    EXPECT_EQ(worker.value("worker", -1), w);
    EXPECT_FALSE(worker.value("finished", true)) << "worker " << w;
    EXPECT_EQ(worker.value("progress", std::uint64_t{1}), 0u) << "worker " << w;
    const auto attempts = worker.value("attempts", std::uint64_t{0});
    EXPECT_GT(attempts, 0u) << "worker " << w;
    EXPECT_GT(worker.value("cpu_ms", 0.0), 0) << "worker " << w; // it ran its attempts (in its turns)
    fewest = std::min(fewest, attempts);
    most = std::max(most, attempts);
  }
  // In lockstep: under the forced schedule every worker takes its turn at every scheduling point,
  // so they all tried exactly as often.
  EXPECT_EQ(most, fewest) << per_worker.dump();
  EXPECT_TRUE(hazardlab::testing::children_of(::getpid()).empty());
  EXPECT_EQ(hazardlab::testing::shm_objects(), shm_before);
}

TEST_P(LivelockForced, BrokenLivelocksEveryRun) {
  for (int workers : {2, 3})
    for (int run = 0; run < 5; ++run)
      expect_livelock(GetParam(), "broken", workers, run);
}

std::uint64_t number(const std::string& grouped) {
  std::string digits;
  std::ranges::copy_if(grouped, std::back_inserter(digits), [](char c) { return c != ','; });
  return std::stoull(digits);
}

TEST_P(LivelockForced, TheStudentReadsThatTheWorkersKeptTryingAndGotNothingDone) {
  const hazardlab::testing::AdoptOrphans adopt;
  const std::string& form = GetParam();
  const auto done =
      hazardlab::testing::run({hazardlab::testing::bin_path("livelock"), "--form", form, "--variant", "broken",
                               "--schedule", "forced", "--timeout", std::to_string(kTimeoutMs)});
  EXPECT_EQ(done.exit_status, hazardlab::kExitStuck) << done.out << done.err;
  EXPECT_NE(done.out.find("livelock · " + form + " form · variant broken · 2 workers · forced schedule\n"),
            std::string::npos)
      << done.out;
  EXPECT_NE(done.out.find("outcome   stuck:livelock\n"), std::string::npos) << done.out;
  std::smatch match;
  // The scheduler calls it as soon as the lockstep has gone round 100 times without a unit done.
  const std::regex summary(R"(livelock: every unfinished worker tried 100 times in lockstep since the last unit )"
                           R"(of work, and none got anywhere \(step [\d,]+\))");
  ASSERT_TRUE(std::regex_search(done.out, match, summary)) << done.out;
  for (int w = 0; w < 2; ++w) {
    const std::regex line(fmt::format(
        R"(worker {}: NOT finished, 0 units of work done in ([\d,]+) attempts?, ([\d.]+) ms CPU of ([\d.]+) ms wall)",
        w));
    ASSERT_TRUE(std::regex_search(done.out, match, line)) << "worker " << w << "\n" << done.out;
    EXPECT_EQ(number(match[1]), 100u) << match[0];
    EXPECT_GT(std::stod(match[2]), 0) << match[0];
  }
  EXPECT_EQ(done.out.find("deadlock"), std::string::npos) << done.out; // nobody waits for anybody
  EXPECT_TRUE(hazardlab::testing::children_of(::getpid()).empty());
}

INSTANTIATE_TEST_SUITE_P(Livelock, LivelockForced, ::testing::Values("thread", "process"),
                         hazardlab::testing::FormParamName);

// ---- wrong fixes, judged in-process ---------------------------------------------------------

// A "fix" that stops giving way: it waits for its second resource instead of trying it, in the
// same order as before. Under the forced schedule every worker holds its first before anyone asks
// for a second, so every one of them waits for its neighbour: a deadlock, which the judge must
// name as one (with the cycle), not as a livelock.
template <class Form>
struct BlockingSecond {
  template <class Work>
  static void with_both(livelock::State<Form>& s, int first, int second, hazardlab::Worker& worker,
                        std::mt19937_64& /*random*/, Work work) {
    auto first_resource = s.resources[first];
    auto second_resource = s.resources[second];
    worker.attempted();
    std::scoped_lock hold_first(first_resource);
    std::scoped_lock hold_second(second_resource);
    work();
  }
};

// A "fix" that never needs to give way because it never takes the second resource.
template <class Form>
struct FirstOnly {
  template <class Work>
  static void with_both(livelock::State<Form>& s, int first, int /*second*/, hazardlab::Worker& worker,
                        std::mt19937_64& /*random*/, Work work) {
    auto first_resource = s.resources[first];
    worker.attempted();
    std::scoped_lock hold_first(first_resource);
    work();
  }
};

// A "fix" that never retries: one polite try per unit, and the unit counts as done either way.
template <class Form>
struct GivesUpAfterOneTry {
  template <class Work>
  static void with_both(livelock::State<Form>& s, int first, int second, hazardlab::Worker& worker,
                        std::mt19937_64& /*random*/, Work work) {
    livelock::try_both_politely(s, first, second, worker, work);
  }
};

// The deadline of a run that finishes: only an upper bound (a forced run hands the turn from worker
// to worker, and CPU load from other tests slows every hand-over).
constexpr std::chrono::milliseconds kFinishes{30'000};

template <class Form, template <class> class Variant>
hazardlab::RunResult run_variant(int workers, hazardlab::Schedule schedule, std::uint64_t units,
                                 std::chrono::milliseconds timeout) {
  livelock::Params params;
  params.units = units;
  hazardlab::RunContext context;
  context.form = Form::kind;
  context.workers = workers;
  context.schedule = schedule;
  context.timeout = timeout;
  context.seed = 1;
  return livelock::run<Form, Variant<Form>>(params, context);
}

// Runs BlockingSecond forced and says what in its judgement was not as expected: empty if all was.
template <class Form>
std::string judge_blocking_second(int workers) {
  const auto result = run_variant<Form, BlockingSecond>(workers, hazardlab::Schedule::forced, 1'000, kFinishes);
  std::string wrong;
  if (result.outcome() != "stuck:deadlock")
    return fmt::format("{} workers: outcome {} ({}), not stuck:deadlock\n", workers, result.outcome(), result.summary);
  std::vector<int> ring(static_cast<std::size_t>(workers));
  std::string cycle = "cycle: ";
  for (int w = 0; w < workers; ++w) {
    ring[w] = w;
    const int next = (w + 1) % workers;
    cycle += fmt::format("{}worker {} holds resource {}, waits for resource {} (held by worker {})", w ? " → " : "", w,
                         w, next, next);
  }
  const bool has_cycle = result.metrics.contains("cycle") && result.metrics.at("cycle").is_array();
  if (!has_cycle || result.metrics.at("cycle").template get<std::vector<int>>() != ring)
    wrong += fmt::format("{} workers: cycle {}\n", workers, has_cycle ? result.metrics.at("cycle").dump() : "none");
  if (result.details.empty() || result.details.back() != cycle)
    wrong += fmt::format("{} workers: last detail \"{}\", expected \"{}\"\n", workers,
                         result.details.empty() ? "" : result.details.back(), cycle);
  return wrong;
}

template <class Form>
class LivelockWrongFix : public hazardlab::testing::LeavesNothingBehind {};
TYPED_TEST_SUITE(LivelockWrongFix, hazardlab::testing::BothForms, hazardlab::testing::FormName);

TYPED_TEST(LivelockWrongFix, WaitingForTheSecondInTheBrokenOrderIsADeadlockWithItsCycle) {
  // Stuck at once under control; the thread form's workers are stopped and joined, the process
  // form's killed and reaped (the fixture checks none is left).
  for (int workers : {2, 3})
    EXPECT_EQ(judge_blocking_second<TypeParam>(workers), "");
  EXPECT_FALSE(hazardlab::threads_abandoned());
}

TYPED_TEST(LivelockWrongFix, WorkWithoutTheSecondResourceIsNotHeld) {
  constexpr std::uint64_t kUnits = 200;
  for (int workers : {2, 3}) {
    const auto result = run_variant<TypeParam, FirstOnly>(workers, hazardlab::Schedule::natural, kUnits, kFinishes);
    // It never waits while holding and never gives way: it finishes, and every unit is caught.
    EXPECT_EQ(result.outcome(), "hazard:not-held") << workers << " workers: " << result.summary;
    const std::uint64_t all_units = kUnits * static_cast<std::uint64_t>(workers);
    EXPECT_EQ(result.metrics.at("units"), all_units);
    EXPECT_EQ(result.metrics.at("units_without_both"), all_units);
    EXPECT_EQ(result.summary, fmt::format("{} units were done without holding both resources", all_units));
  }
}

TYPED_TEST(LivelockWrongFix, CountingAUnitWhoseTryFailedIsUsesLost) {
  // Forced, every worker's first try fails (all take their first together), and its unit is
  // counted all the same; once every worker has counted one, each runs on alone and its tries
  // succeed. So each worker's first unit was never done: two uses missing each.
  constexpr std::uint64_t kUnits = 50;
  for (int workers : {2, 3}) {
    const auto result =
        run_variant<TypeParam, GivesUpAfterOneTry>(workers, hazardlab::Schedule::forced, kUnits, kFinishes);
    EXPECT_EQ(result.outcome(), "hazard:uses-lost") << workers << " workers: " << result.summary;
    const std::uint64_t all_units = kUnits * static_cast<std::uint64_t>(workers);
    EXPECT_EQ(result.metrics.at("units"), all_units);
    EXPECT_EQ(result.metrics.at("units_without_both"), 0u);
    EXPECT_EQ(result.metrics.at("uses_miscounted"), 2u * static_cast<std::uint64_t>(workers));
  }
}

} // namespace hazard_test
