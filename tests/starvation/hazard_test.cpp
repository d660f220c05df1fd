// Lab 04 hazard tests: broken, forced, starves on every run, in both forms. Readers-writers: the
// readers relay the room among themselves, so every writer gets nothing done while the window is
// open, is passed over again and again, and is called starved. Greedy: the greedy worker runs
// whenever it can and takes the lock straight back, while its rivals wait in line and are never
// chosen, so every rival is starved and the greedy worker is not. broken-shared-mutex
// (std::shared_mutex, thread form only) starves its writer the same way. Nothing is left behind.
// And the judge: a lock that does not keep a writer (or a turn) apart is hazard:not-excluded, never
// "correct" nor merely "starvation"; the fairness index and the wait histogram it reports are
// checked on numbers known in advance. Natural-schedule numbers are never thresholds here.
#include "form_names.hpp"
#include "lab_run.hpp"
#include "leftovers.hpp"

#include "run.hpp"

#include "hazardlab/outcome.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace hazard_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::testing::run_lab_json;

constexpr int kRuns = 5;
// Operations per worker. Readers-writers: the relay keeps the room full while the readers have work
// (a few hundred operations are enough). Greedy: the lab's default, 1,000 turns.
constexpr std::uint64_t kReadersWritersOps = 300;
constexpr std::uint64_t kGreedyOps = 1'000;
// Only an upper bound: a forced run of these sizes took some 50 to 150 ms here.
constexpr const char* kTimeoutMs = "30000";

const nlohmann::json& workers_of(const hazardlab::testing::LabRun& lab) {
  static const nlohmann::json none = nlohmann::json::array();
  if (!lab.report.is_object() || !lab.report.contains("metrics")) return none;
  return lab.report.at("metrics").at("workers");
}

// A worker the judge calls starved is one that got under a tenth of an equal share of the window's
// operations and, in one wait, was overtaken at least once per worker.
void expect_starved(const nlohmann::json& worker, std::uint64_t window_ops, int workers) {
  SCOPED_TRACE(worker.dump());
  EXPECT_TRUE(worker.value("starved", false));
  EXPECT_LT(worker.value("ops_in_window", window_ops) * 10 * static_cast<std::uint64_t>(workers), window_ops);
  EXPECT_GE(worker.value("most_overtakes", std::uint64_t{0}), static_cast<std::uint64_t>(workers));
}

// Runs a readers-writers variant forced and checks that every writer starved and no reader did.
void expect_writers_starve(const std::string& form, const std::string& variant, int readers, int writers, int run) {
  SCOPED_TRACE(fmt::format("{} form, {}, {} readers, {} writers, run {}", form, variant, readers, writers, run));
  const hazardlab::testing::AdoptOrphans adopt; // a worker left behind would become our child
  const auto shm_before = hazardlab::testing::shm_objects();
  const auto lab =
      run_lab_json("starvation", {"--form", form, "--variant", variant, "--readers", std::to_string(readers),
                                  "--writers", std::to_string(writers), "--schedule", "forced", "--ops",
                                  std::to_string(kReadersWritersOps), "--timeout", kTimeoutMs});
  EXPECT_EQ(lab.process.exit_status, hazardlab::kExitHazard) << lab.process.out << lab.process.err;
  ASSERT_TRUE(lab.report.is_object()) << lab.process.out << lab.process.err;
  EXPECT_EQ(lab.report.value("outcome", ""), "hazard:starvation") << lab.report.dump();
  const int workers = readers + writers;
  EXPECT_EQ(lab.report.value("workers", 0), workers);
  const auto& metrics = lab.report.at("metrics");
  EXPECT_EQ(metrics.value("not_excluded", std::uint64_t{1}), 0u); // a lock that starves still excludes
  // Every writer starves. Whether a reader does is not asserted either way: the lock is
  // reader-preferring, not fair among readers, and which reader gets in is the script's choice,
  // not the lock's promise (in these shapes the relay hands the room round and no reader starves).
  EXPECT_GE(metrics.value("starved", std::uint64_t{0}), static_cast<std::uint64_t>(writers)) << metrics.dump();
  const auto window_ops = metrics.value("ops_in_window", std::uint64_t{0});
  EXPECT_GT(window_ops, 0u);
  const auto& per_worker = workers_of(lab);
  ASSERT_EQ(per_worker.size(), static_cast<std::size_t>(workers)) << lab.report.dump();
  for (int w = 0; w < workers; ++w) {
    const auto& worker = per_worker[w];
    EXPECT_EQ(worker.value("worker", -1), w);
    EXPECT_EQ(worker.value("ops", std::uint64_t{0}), kReadersWritersOps) << worker.dump(); // all finished
    if (w < readers) {
      EXPECT_EQ(worker.value("name", ""), fmt::format("reader {}", w));
    } else {
      EXPECT_EQ(worker.value("name", ""), fmt::format("writer {}", w - readers));
      // The readers never let the room empty while the window was open: not one write in it.
      EXPECT_EQ(worker.value("ops_in_window", std::uint64_t{1}), 0u) << worker.dump();
      expect_starved(worker, window_ops, workers);
    }
  }
  // The summary names a writer, with no write in the window.
  EXPECT_TRUE(lab.report.value("summary", "").starts_with("writer ")) << lab.report.dump();
  EXPECT_NE(lab.report.value("summary", "").find(" starved: 0 of the window's "), std::string::npos)
      << lab.report.dump();
  EXPECT_TRUE(hazardlab::testing::children_of(::getpid()).empty());
  EXPECT_EQ(hazardlab::testing::shm_objects(), shm_before);
}

// Runs broken's greedy scenario forced and checks that every rival starved and the greedy worker
// did not.
void expect_rivals_starve(const std::string& form, int workers, int run) {
  SCOPED_TRACE(fmt::format("{} form, greedy, {} workers, run {}", form, workers, run));
  const hazardlab::testing::AdoptOrphans adopt;
  const auto shm_before = hazardlab::testing::shm_objects();
  const auto lab = run_lab_json("starvation", {"--form", form, "--variant", "broken", "--scenario", "greedy",
                                               "--workers", std::to_string(workers), "--schedule", "forced", "--ops",
                                               std::to_string(kGreedyOps), "--timeout", kTimeoutMs});
  EXPECT_EQ(lab.process.exit_status, hazardlab::kExitHazard) << lab.process.out << lab.process.err;
  ASSERT_TRUE(lab.report.is_object()) << lab.process.out << lab.process.err;
  EXPECT_EQ(lab.report.value("outcome", ""), "hazard:starvation") << lab.report.dump();
  const auto& metrics = lab.report.at("metrics");
  EXPECT_EQ(metrics.value("not_excluded", std::uint64_t{1}), 0u);
  EXPECT_EQ(metrics.value("starved", std::uint64_t{0}), static_cast<std::uint64_t>(workers - 1)) << metrics.dump();
  const auto window_ops = metrics.value("ops_in_window", std::uint64_t{0});
  const auto& per_worker = workers_of(lab);
  ASSERT_EQ(per_worker.size(), static_cast<std::size_t>(workers)) << lab.report.dump();
  for (int w = 0; w < workers; ++w) {
    const auto& worker = per_worker[w];
    EXPECT_EQ(worker.value("worker", -1), w);
    EXPECT_EQ(worker.value("ops", std::uint64_t{0}), kGreedyOps) << worker.dump();
    if (w == 0) {
      EXPECT_EQ(worker.value("name", ""), "greedy worker 0");
      EXPECT_FALSE(worker.value("starved", true)) << worker.dump();
      // It closed the window: it had all of its turns while the rivals waited.
      EXPECT_EQ(worker.value("ops_in_window", std::uint64_t{0}), kGreedyOps) << worker.dump();
    } else {
      EXPECT_EQ(worker.value("name", ""), fmt::format("rival {}", w));
      expect_starved(worker, window_ops, workers);
    }
  }
  EXPECT_TRUE(lab.report.value("summary", "").starts_with("rival ")) << lab.report.dump();
  EXPECT_TRUE(hazardlab::testing::children_of(::getpid()).empty());
  EXPECT_EQ(hazardlab::testing::shm_objects(), shm_before);
}

class StarvationForced : public ::testing::TestWithParam<std::string> {};

TEST_P(StarvationForced, BrokenReadersStarveEveryWriterEveryRun) {
  for (const auto& [readers, writers] : {std::pair{2, 1}, std::pair{3, 1}, std::pair{3, 2}})
    for (int run = 0; run < kRuns; ++run)
      expect_writers_starve(GetParam(), "broken", readers, writers, run);
}

TEST_P(StarvationForced, BrokenGreedyWorkerStarvesEveryRivalEveryRun) {
  for (int workers : {2, 3, 4})
    for (int run = 0; run < kRuns; ++run)
      expect_rivals_starve(GetParam(), workers, run);
}

TEST_P(StarvationForced, TheStudentReadsWhoStarvedAndHowOftenItWasPassedOver) {
  const hazardlab::testing::AdoptOrphans adopt;
  const std::string& form = GetParam();
  const auto done =
      hazardlab::testing::run({hazardlab::testing::bin_path("starvation"), "--form", form, "--variant", "broken",
                               "--schedule", "forced", "--ops", "300", "--timeout", kTimeoutMs});
  EXPECT_EQ(done.exit_status, hazardlab::kExitHazard) << done.out << done.err;
  EXPECT_NE(done.out.find("starvation · " + form + " form · variant broken · 4 workers · forced schedule\n"),
            std::string::npos)
      << done.out;
  EXPECT_NE(done.out.find("outcome   hazard:starvation\n"), std::string::npos) << done.out;
  EXPECT_NE(done.out.find("writer 0 starved: 0 of the window's "), std::string::npos) << done.out;
  EXPECT_NE(done.out.find("writer 0: 0 ops in the window (0.0%); waits: longest "), std::string::npos) << done.out;
  EXPECT_NE(done.out.find("Jain's fairness index "), std::string::npos) << done.out;
  EXPECT_TRUE(hazardlab::testing::children_of(::getpid()).empty());
}

INSTANTIATE_TEST_SUITE_P(Starvation, StarvationForced, ::testing::Values("thread", "process"),
                         hazardlab::testing::FormParamName);

TEST(StarvationForcedThreadForm, SharedMutexStarvesItsWritersEveryRun) {
  // glibc's rwlock under std::shared_mutex prefers readers: a reader gets in while others are
  // inside, writer waiting or not.
  for (const auto& [readers, writers] : {std::pair{2, 1}, std::pair{3, 1}, std::pair{3, 2}})
    for (int run = 0; run < kRuns; ++run)
      expect_writers_starve("thread", "broken-shared-mutex", readers, writers, run);
}

// ---- the judge, on locks that do not exclude --------------------------------------------------

// A readers-writers lock whose readers use the lightswitch but whose writers walk straight in.
template <class Form>
struct WriterWalksIn {
  struct ReadersWriterLock {
    starvation::Lightswitch<Form> readers;
    typename Form::Semaphore room{1};

    void lock_shared(starvation::Turn& /*turn*/) { readers.enter(room); }
    void unlock_shared() { readers.leave(room); }
    void lock(starvation::Turn& /*turn*/) {}
    void unlock() {}
  };
};

// A greedy-scenario lock that does not lock at all.
template <class Form>
struct NoLock {
  struct Lock {
    void lock(starvation::Turn& /*turn*/) {}
    void unlock() {}
  };
};

template <class Form, template <class> class Variant>
hazardlab::RunResult run_variant(starvation::Params params, int workers, hazardlab::Schedule schedule) {
  hazardlab::RunContext context;
  context.form = Form::kind;
  context.workers = workers;
  context.schedule = schedule;
  context.timeout = std::chrono::seconds(30); // an upper bound only
  context.seed = 1;
  return starvation::run<Form, Variant<Form>>(params, context);
}

void expect_not_excluded(const hazardlab::RunResult& result, std::uint64_t all_ops) {
  EXPECT_EQ(result.outcome(), "hazard:not-excluded") << result.summary;
  EXPECT_EQ(result.verdict, hazardlab::Verdict::hazard);
  const auto not_excluded = result.metrics.value("not_excluded", std::uint64_t{0});
  EXPECT_GT(not_excluded, 0u) << result.metrics.dump();
  EXPECT_EQ(result.summary, fmt::format("{} found someone inside that the lock should have kept out",
                                        hazardlab::counted(not_excluded, "entry", "entries")));
  EXPECT_EQ(result.metrics.value("ops", std::uint64_t{0}), all_ops); // nothing stopped anyone
}

template <class Form>
class StarvationJudge : public hazardlab::testing::LeavesNothingBehind {};
TYPED_TEST_SUITE(StarvationJudge, hazardlab::testing::BothForms, hazardlab::testing::FormName);

TYPED_TEST(StarvationJudge, WritersAmongReadersAreNotExcluded) {
  // Forced, a writer first asks once two readers have been inside together, and the relay keeps a
  // reader inside while the readers have work: the writer walks in on them.
  starvation::Params params;
  params.scenario = starvation::Scenario::readers_writers;
  params.readers = 3;
  params.writers = 1;
  params.ops = 500;
  const auto result = run_variant<TypeParam, WriterWalksIn>(params, 4, hazardlab::Schedule::forced);
  expect_not_excluded(result, 4 * params.ops);
}

TYPED_TEST(StarvationJudge, TurnsWithoutALockAreNotExcluded) {
  // Forced, inside each of the greedy worker's turns every rival not yet asking runs and asks: with
  // nothing to wait for, it walks in on the greedy worker's turn.
  starvation::Params params;
  params.scenario = starvation::Scenario::greedy;
  params.ops = 1'000;
  for (int workers : {2, 3}) {
    SCOPED_TRACE(::testing::Message() << workers << " workers");
    const auto result = run_variant<TypeParam, NoLock>(params, workers, hazardlab::Schedule::forced);
    expect_not_excluded(result, static_cast<std::uint64_t>(workers) * params.ops);
  }
}

// ---- the numbers the judge reports ------------------------------------------------------------

TEST(StarvationJainIndex, OneForEqualSharesOneOverNForOneWorkerWithAll) {
  EXPECT_DOUBLE_EQ(starvation::jain_index({5, 5, 5, 5}), 1.0);
  EXPECT_DOUBLE_EQ(starvation::jain_index({700}), 1.0);
  EXPECT_DOUBLE_EQ(starvation::jain_index({300, 0}), 0.5);
  EXPECT_DOUBLE_EQ(starvation::jain_index({0, 0, 1'000, 0}), 0.25);
  // (1 + 3)² / (2 · (1 + 9)) = 0.8; (1 + 2 + 3)² / (3 · 14) = 36 / 42.
  EXPECT_DOUBLE_EQ(starvation::jain_index({1, 3}), 0.8);
  EXPECT_DOUBLE_EQ(starvation::jain_index({1, 2, 3}), 36.0 / 42.0);
  // Nobody did anything: nobody was favoured.
  EXPECT_DOUBLE_EQ(starvation::jain_index({0, 0, 0}), 1.0);
}

// The histogram keeps four buckets per doubling and answers with a bucket's upper edge: a quantile
// is never below the true one and at most 19% (2^(1/4)) above it (counted from 1 ns, the +1 of its
// buckets).
void expect_within_a_bucket(double reported, double truth) {
  EXPECT_GE(reported, truth);
  EXPECT_LE(reported + 1, (truth + 1) * 1.19) << "true " << truth;
}

TEST(StarvationWaitHistogram, QuantilesAreWithinNineteenPercent) {
  starvation::WaitHistogram empty;
  EXPECT_EQ(empty.quantile_ns(0.5), 0.0);
  EXPECT_EQ(empty.quantile_ns(0.99), 0.0);

  // 1 … 100,000 ns, each once: the q-quantile is q · 100,000.
  starvation::WaitHistogram even;
  for (std::int64_t ns = 1; ns <= 100'000; ++ns)
    even.add(ns);
  for (const double q : {0.01, 0.25, 0.5, 0.9, 0.99, 1.0}) {
    SCOPED_TRACE(::testing::Message() << "q " << q);
    expect_within_a_bucket(even.quantile_ns(q), q * 100'000);
  }

  // A long tail: 990 waits of 40 ns and ten of 12 ms. The median is the short wait, the p99 still
  // the short one (the 990th), the p99.5 and the maximum the long one.
  starvation::WaitHistogram tail;
  for (int i = 0; i < 990; ++i)
    tail.add(40);
  for (int i = 0; i < 10; ++i)
    tail.add(12'000'000);
  expect_within_a_bucket(tail.quantile_ns(0.5), 40);
  expect_within_a_bucket(tail.quantile_ns(0.99), 40);
  expect_within_a_bucket(tail.quantile_ns(0.995), 12'000'000);
  expect_within_a_bucket(tail.quantile_ns(1.0), 12'000'000);

  // A single wait of three seconds, and a negative one counted as 0.
  starvation::WaitHistogram one;
  one.add(3'000'000'000);
  expect_within_a_bucket(one.quantile_ns(0.5), 3e9);
  starvation::WaitHistogram zero;
  zero.add(-5);
  expect_within_a_bucket(zero.quantile_ns(0.5), 0);
}

} // namespace hazard_test
