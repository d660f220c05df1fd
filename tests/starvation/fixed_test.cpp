// Lab 04 grading tests: both reference fixes let every worker in, on every run, in both forms and
// both schedules, with several shapes. Every worker does all of its operations, every entry finds
// the room as the lock promised (not_excluded is 0), and in every run the fix's own bound on
// overtaking holds, a count no scheduler can bend:
//  - fixed-ticket (greedy): first come, first served from the ticket drawn, so a worker is
//    overtaken by fewer than all the workers in any one wait, and none is ever starved;
//  - fixed-turnstile (readers-writers): a writer holding the turnstile is passed only by readers
//    already past it, each at most once: at most --readers entries in one wait. Its readers have no
//    bound (glibc's mutexes and semaphores let a running thread barge past a woken one), so none is
//    asserted for them, and the lab does not judge them either: it promises writers their turn,
//    not readers a fair share (judge.hpp, Window). So every run of both fixes is correct.
// And readers must be able to read together: a forced fixed-turnstile run has two readers inside at
// once (most_readers_at_once >= 2) on every run, while a lock that lets one reader in at a time (one
// mutex for everyone, a test-local variant) reports 1.
// Wall-clock numbers are never thresholds. Each run is its own lab process, so that every run's
// per-worker numbers are checked, not only one trial's. In the TSan build this is the TSan-built
// binary, and a ThreadSanitizer report would change its exit status.
#include "form_names.hpp"
#include "lab_run.hpp"
#include "leftovers.hpp"

#include "run.hpp"

#include "hazardlab/outcome.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace fixed_test { // named, not anonymous: its binary's test files are one translation unit

constexpr int kNaturalRuns = 10;
constexpr int kForcedRuns = 4;
constexpr std::uint64_t kOps = 300;
// Only an upper bound, far above the measured times (a forced run of these sizes takes well under a
// second: one worker at a time, nothing waits for a timer), and short enough that a fix that never
// finishes fails quickly.
constexpr const char* kTimeoutMs = "20000";

struct Shape {
  std::string variant;
  std::vector<std::string> args; // the scenario and its worker counts
  int workers;
  int readers; // readers-writers: workers 0 … readers-1 read; greedy: 0
};

Shape turnstile(int readers, int writers) {
  return {"fixed-turnstile",
          {"--scenario", "readers-writers", "--readers", std::to_string(readers), "--writers", std::to_string(writers)},
          readers + writers,
          readers};
}

Shape ticket(int workers) {
  return {"fixed-ticket", {"--scenario", "greedy", "--workers", std::to_string(workers)}, workers, 0};
}

// Runs a fix once and checks everything its logic promises.
void expect_fair_run(const std::string& form, const Shape& shape, const std::string& schedule, int run) {
  SCOPED_TRACE(fmt::format("{} form, {} {}, {} schedule, run {}", form, shape.variant, fmt::join(shape.args, " "),
                           schedule, run));
  std::vector<std::string> args{"--form", form,    "--variant",          shape.variant, "--schedule",
                                schedule, "--ops", std::to_string(kOps), "--timeout",   kTimeoutMs};
  args.insert(args.end(), shape.args.begin(), shape.args.end());
  const auto lab = hazardlab::testing::run_lab_json("starvation", args);
  ASSERT_TRUE(lab.report.is_object()) << lab.process.out << lab.process.err;
  const std::string outcome = lab.report.value("outcome", "");
  const auto& metrics = lab.report.at("metrics");
  ASSERT_TRUE(metrics.contains("workers")) << lab.report.dump();
  const auto& per_worker = metrics.at("workers");
  ASSERT_EQ(per_worker.size(), static_cast<std::size_t>(shape.workers)) << lab.report.dump();

  EXPECT_EQ(metrics.value("not_excluded", std::uint64_t{1}), 0u) << metrics.dump();
  EXPECT_EQ(metrics.value("ops", std::uint64_t{0}), kOps * static_cast<std::uint64_t>(shape.workers));
  for (int w = 0; w < shape.workers; ++w) {
    const auto& worker = per_worker[w];
    SCOPED_TRACE(worker.dump());
    EXPECT_EQ(worker.value("ops", std::uint64_t{0}), kOps);
    const auto most_overtakes = worker.value("most_overtakes", std::uint64_t{1'000'000});
    if (shape.variant == "fixed-ticket") {
      EXPECT_LT(most_overtakes, static_cast<std::uint64_t>(shape.workers));
      EXPECT_FALSE(worker.value("starved", true));
      // Forced, every rival gets in line (draws its ticket) while the greedy worker is inside, so the
      // ticket lock serves all in turn: each an equal share of the window, to within a turn or two.
      // (A rival held back before drawing would be overtaken by nobody, in line with nobody, and
      // get nothing: "not starved" alone did not see that.)
      if (schedule == "forced") {
        EXPECT_GE(worker.value("share_pct", 0.0) * shape.workers, 90.0) << "an equal share is 100 / workers";
      }
    } else if (w >= shape.readers) { // a turnstile writer
      EXPECT_LE(most_overtakes, static_cast<std::uint64_t>(shape.readers));
      EXPECT_FALSE(worker.value("starved", true));
    }
  }
  if (shape.readers > 0) {
    // Readers read together: under the forced schedule two of them are inside at once before any
    // writer asks, on every run (see readers_writers_script in run.hpp).
    const auto most_readers = metrics.value("most_readers_at_once", std::uint64_t{0});
    EXPECT_GE(most_readers, schedule == "forced" ? 2u : 1u) << metrics.dump();
    EXPECT_LE(most_readers, static_cast<std::uint64_t>(shape.readers)) << metrics.dump();
  } else {
    EXPECT_FALSE(metrics.contains("most_readers_at_once")) << metrics.dump(); // greedy has no readers
  }
  EXPECT_EQ(lab.process.exit_status, hazardlab::kExitCorrect) << lab.process.err;
  EXPECT_EQ(outcome, "correct") << lab.report.dump();
}

void expect_fair_runs(const std::string& form, const std::vector<Shape>& shapes, const std::string& schedule,
                      int runs) {
  const hazardlab::testing::AdoptOrphans adopt; // a worker left behind would become our child
  for (const auto& shape : shapes) {
    for (int run = 0; run < runs; ++run) {
      expect_fair_run(form, shape, schedule, run);
      if (::testing::Test::HasFailure()) return; // one failing run says it; a stuck natural run costs a deadline
    }
  }
}

const std::vector<Shape> kTurnstileShapes{turnstile(2, 1), turnstile(3, 1), turnstile(3, 2)};
const std::vector<Shape> kTicketShapes{ticket(2), ticket(3), ticket(4)};

// Readers-writers with one mutex for everyone: no reader ever starves a writer, but no two readers
// ever read together either.
template <class Form>
struct OneMutexForEveryone {
  struct ReadersWriterLock {
    typename Form::Mutex mutex;

    void lock_shared(starvation::Turn& /*turn*/) { mutex.lock(); }
    void unlock_shared() { mutex.unlock(); }
    void lock(starvation::Turn& /*turn*/) { mutex.lock(); }
    void unlock() { mutex.unlock(); }
  };
};

template <class Form>
class StarvationFixed : public hazardlab::testing::LeavesNothingBehind {};
TYPED_TEST_SUITE(StarvationFixed, hazardlab::testing::BothForms, hazardlab::testing::FormName);

TYPED_TEST(StarvationFixed, TurnstileLetsEveryWriterInNatural) {
  expect_fair_runs(hazardlab::testing::form_option<TypeParam>(), kTurnstileShapes, "natural", kNaturalRuns);
}

TYPED_TEST(StarvationFixed, TurnstileLetsEveryWriterInForced) {
  // The readers' relay cannot go on past a writer holding the turnstile: new readers block there,
  // the script lets the readers inside go on and leave, and the writer gets in.
  expect_fair_runs(hazardlab::testing::form_option<TypeParam>(), kTurnstileShapes, "forced", kForcedRuns);
}

TYPED_TEST(StarvationFixed, TicketServesEveryWorkerInTurnNatural) {
  expect_fair_runs(hazardlab::testing::form_option<TypeParam>(), kTicketShapes, "natural", kNaturalRuns);
}

TYPED_TEST(StarvationFixed, TicketServesEveryWorkerInTurnForced) {
  // The greedy worker chosen whenever it can run, asking again at once: it still waits, spinning
  // with spin_pause(), for every ticket drawn before, and the rivals take their turns meanwhile.
  expect_fair_runs(hazardlab::testing::form_option<TypeParam>(), kTicketShapes, "forced", kForcedRuns);
}

TYPED_TEST(StarvationFixed, OneMutexForEveryoneLetsOneReaderInAtATimeForced) {
  // The relay finds no second reader it could let in (the mutex holds the others), so the script
  // lets the reader inside go on; the writer, waiting for two readers inside at once, is chosen
  // only when no reader can run. Everyone gets in, one at a time.
  for (const auto& [readers, writers] : {std::pair{2, 1}, std::pair{3, 1}}) {
    for (int run = 0; run < 2; ++run) {
      SCOPED_TRACE(fmt::format("{} readers, {} writers, run {}", readers, writers, run));
      starvation::Params params;
      params.readers = readers;
      params.writers = writers;
      params.ops = kOps;
      hazardlab::RunContext context;
      context.workers = readers + writers;
      context.schedule = hazardlab::Schedule::forced;
      context.timeout = std::chrono::seconds(20);
      context.seed = 1 + static_cast<std::uint64_t>(run);
      const hazardlab::RunResult result = starvation::run<TypeParam, OneMutexForEveryone<TypeParam>>(params, context);
      // A plain mutex lets a running worker barge past a woken one, so the judge may call someone
      // starved; it must never find two inside who should not be, nor leave anyone unfinished.
      EXPECT_TRUE(result.verdict == hazardlab::Verdict::correct || result.outcome() == "hazard:starvation")
          << result.outcome() << " " << result.summary;
      const auto& metrics = result.metrics;
      EXPECT_EQ(metrics.value("most_readers_at_once", std::uint64_t{0}), 1u) << metrics.dump();
      EXPECT_EQ(metrics.value("not_excluded", std::uint64_t{1}), 0u) << metrics.dump();
      EXPECT_EQ(metrics.value("ops", std::uint64_t{0}), kOps * static_cast<std::uint64_t>(readers + writers));
    }
  }
}

} // namespace fixed_test
