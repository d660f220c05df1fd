// Lab 06 tests: correctness only, never time. The computation comes to the same result in every
// form, worker count, scaling and GIL setting; the pool runs every task exactly once and never more
// than its size at once; the pipe and shared memory deliver the very bytes sent; io-file's folder
// is gone afterwards. Every test also leaves no child and nothing in /dev/shm behind.
#include "form_names.hpp"
#include "leftovers.hpp"
#include "tvp.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <utility>
#include <vector>

namespace tvp_test { // named, not anonymous: its binary's test files are one translation unit

using namespace std::chrono_literals;

template <class Form>
class ThreadsVsProcesses : public hazardlab::testing::LeavesNothingBehind {};
TYPED_TEST_SUITE(ThreadsVsProcesses, hazardlab::testing::BothForms, hazardlab::testing::FormName);

tvp::WorkParams cpu_params(bool gil) {
  tvp::WorkParams p;
  p.kind = tvp::Kind::cpu;
  p.iterations = 200'000;
  p.gil = gil;
  p.switch_interval = 100us; // switch often, so the GIL really changes hands inside units
  return p;
}

TYPED_TEST(ThreadsVsProcesses, TheComputationComesToTheSameResultWithAnyWorkerCount) {
  constexpr std::uint64_t kUnits = 12;
  for (const bool gil : {false, true}) {
    for (const auto scaling : {tvp::Scaling::strong, tvp::Scaling::weak}) {
      for (const int workers : {1, 2, 3, 5}) {
        const auto run = tvp::run_experiment<TypeParam>(cpu_params(gil), scaling, workers, kUnits, 60s);
        const std::uint64_t total = scaling == tvp::Scaling::strong ? kUnits : kUnits * workers;
        ASSERT_EQ(run.results.size(), total);
        for (std::uint64_t u = 0; u < total; ++u)
          ASSERT_EQ(run.results[u], tvp::cpu_unit_reference(u, 200'000))
              << "unit " << u << ", " << workers << " workers, GIL " << gil;
        if (gil && workers > 1 && TypeParam::kind == hazardlab::FormKind::process) {
          EXPECT_EQ(run.gil_switches, static_cast<std::uint64_t>(workers))
              << "a process's own GIL is taken once and never contended";
        }
        if (!gil) {
          EXPECT_EQ(run.gil_switches, 0u);
        }
      }
    }
  }
}

TEST(ThreadsVsProcessesGil, ThreadsTakeTurnsAndTheResultDoesNotDependOnWhereTheyWereInterrupted) {
  // One GIL for all threads: with a 100 µs switch interval and units of about 6 ms each (40 ms of
  // work in all, far longer than starting a thread even on a loaded machine), it changes hands far
  // more often than the 3 times the threads first take it, and every unit still checks out.
  auto params = cpu_params(true);
  params.iterations = 4'000'000;
  const auto run = tvp::run_experiment<hazardlab::ThreadForm>(params, tvp::Scaling::strong, 3, 6, 120s);
  EXPECT_GT(run.gil_switches, 3u);
  for (std::uint64_t u = 0; u < 6; ++u)
    EXPECT_EQ(run.results[u], tvp::cpu_unit_reference(u, 4'000'000));
}

TEST(ThreadsVsProcessesGil, OnTheTimelineNoTwoThreadsEverHoldTheGilAtOnce) {
  // What --timeline shows under --gil, checked on its intervals: each thread's "holding the GIL"
  // ends (is marked) before it lets go, and the next holder's starts after it has taken it.
  hazardlab::timeline::take_recorded();
  hazardlab::timeline::request(true);
  const auto run = tvp::run_experiment<hazardlab::ThreadForm>(cpu_params(true), tvp::Scaling::strong, 3, 6, 60s);
  hazardlab::timeline::request(false);
  const auto recorded = hazardlab::timeline::take_recorded();
  ASSERT_TRUE(recorded.has_value());
  ASSERT_EQ(recorded->tracks.size(), 3u);
  std::vector<std::pair<double, double>> held; // every holding of the GIL, by any thread
  for (const auto& track : recorded->tracks) {
    const auto before = held.size();
    for (const auto& interval : track)
      if (interval.activity == hazardlab::Activity::holding && interval.what == "the GIL")
        held.emplace_back(interval.start_ms, interval.end_ms);
    EXPECT_GT(held.size(), before) << "every thread holds the GIL at least once";
  }
  std::ranges::sort(held);
  for (std::size_t i = 1; i < held.size(); ++i)
    EXPECT_LE(held[i - 1].second, held[i].first) << "two holdings overlap: " << i;
  EXPECT_EQ(held.size(), run.gil_switches); // one holding per time it changed hands
}

TYPED_TEST(ThreadsVsProcesses, IoUnitsComeToTheSameResultWithAndWithoutTheGil) {
  tvp::WorkParams p;
  p.kind = tvp::Kind::io;
  p.io_wait = 1ms;
  std::vector<std::uint64_t> first;
  for (const bool gil : {false, true}) {
    p.gil = gil;
    for (const int workers : {1, 3}) {
      const auto run = tvp::run_experiment<TypeParam>(p, tvp::Scaling::strong, workers, 9, 60s);
      if (first.empty()) first = run.results;
      EXPECT_EQ(run.results, first) << workers << " workers, GIL " << gil;
    }
  }
}

TYPED_TEST(ThreadsVsProcesses, ThePoolRunsEveryTaskOnceAndNeverMoreThanItsSizeAtOnce) {
  constexpr std::uint64_t kTasks = 40;
  for (const int size : {1, 2, 3}) {
    for (const bool gil : {false, true}) {
      tvp::WorkParams p = cpu_params(gil);
      p.iterations = 20'000;
      const auto run = tvp::run_pool<TypeParam>(p, size, kTasks, 60s);
      EXPECT_GE(run.most_running, 1);
      EXPECT_LE(run.most_running, size) << "pool of " << size;
      ASSERT_EQ(run.runs.size(), kTasks);
      for (std::uint64_t t = 0; t < kTasks; ++t) {
        EXPECT_EQ(run.runs[t], 1u) << "task " << t << ", pool of " << size;
        EXPECT_EQ(run.results[t], tvp::cpu_unit_reference(t, 20'000)) << "task " << t;
      }
    }
  }
}

TYPED_TEST(ThreadsVsProcesses, ThePipeAndSharedMemoryDeliverTheBytesSent) {
  for (const std::size_t size : {std::size_t{1}, std::size_t{1024}, std::size_t{65'536 + 3}, std::size_t{1} << 20}) {
    std::vector<std::byte> expected(size);
    tvp::fill_block(expected.data(), size, 77);
    const auto sent = tvp::digest(expected.data(), size);
    for (const auto path : {tvp::Path::pipe, tvp::Path::shared}) {
      const auto result = tvp::pass_block<TypeParam>(path, size, 77, 60s);
      EXPECT_TRUE(result.identical(size)) << size << " bytes through " << tvp::path_name(path);
      EXPECT_EQ(result.received_size, size);
      EXPECT_EQ(result.wrong_bytes, 0u);
      EXPECT_EQ(result.sent_digest, sent);
      EXPECT_EQ(result.received_digest, sent);
      EXPECT_GT(result.latency_us, 0);
    }
  }
}

TEST(ThreadsVsProcessesPass, TheCheckSeesABlockThatDiffers) {
  // The blocks of two seeds differ, so a wrong delivery cannot pass for a right one.
  std::vector<std::byte> a(4096), b(4096);
  tvp::fill_block(a.data(), a.size(), 77);
  tvp::fill_block(b.data(), b.size(), 78);
  EXPECT_NE(a, b);
  EXPECT_NE(tvp::digest(a.data(), a.size()), tvp::digest(b.data(), b.size()));
  b = a;
  b[4000] ^= std::byte{1};
  EXPECT_NE(tvp::digest(a.data(), a.size()), tvp::digest(b.data(), b.size()));
}

TYPED_TEST(ThreadsVsProcesses, IoFileWritesReadsBackAndLeavesNoFolder) {
  std::string path;
  {
    tvp::TempFolder folder;
    path = folder.path();
    ASSERT_TRUE(std::filesystem::is_directory(path));
    tvp::WorkParams p;
    p.kind = tvp::Kind::io_file;
    p.file_bytes = 1000;
    p.folder = folder.path();
    std::vector<std::uint64_t> first;
    for (const bool gil : {false, true}) {
      p.gil = gil;
      const auto run = tvp::run_experiment<TypeParam>(p, tvp::Scaling::strong, 3, 12, 60s);
      if (first.empty()) first = run.results;
      EXPECT_EQ(run.results, first);
      EXPECT_TRUE(std::filesystem::is_empty(path)) << "every unit removes its file";
    }
  }
  EXPECT_FALSE(std::filesystem::exists(path)) << path << " was left behind";
}

TEST(ThreadsVsProcessesTempFolder, AnExceptionStillRemovesTheFolder) {
  std::string path;
  try {
    tvp::TempFolder folder;
    path = folder.path();
    std::ofstream(path + "/a-file") << "something";
    throw std::runtime_error("a run failed");
  } catch (const std::runtime_error&) {
  }
  ASSERT_FALSE(path.empty());
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(hazardlab::testing::children_of(::getpid()).empty()) << "the guardian was not reaped";
}

TEST(ThreadsVsProcessesTempFolder, TheGuardianRemovesTheFolderWhenItsProcessIsKilled) {
  // A child makes the folder and is killed with SIGKILL, so no destructor runs: the guardian must
  // remove the folder. The child's stdout carries the folder's path.
  int ends[2];
  ASSERT_EQ(::pipe(ends), 0);
  std::fflush(nullptr);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ends[0]);
    tvp::TempFolder folder;
    std::ofstream(folder.path() + "/a-file") << "something";
    const auto line = folder.path() + "\n";
    if (::write(ends[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(1);
    ::close(ends[1]);
    ::pause();
    ::_exit(0);
  }
  ::close(ends[1]);
  std::string path;
  char buffer[256];
  for (ssize_t n; path.find('\n') == std::string::npos && (n = ::read(ends[0], buffer, sizeof buffer)) > 0;)
    path.append(buffer, static_cast<std::size_t>(n));
  if (!path.empty() && path.back() == '\n') path.pop_back();
  ::close(ends[0]);
  ASSERT_FALSE(path.empty());
  EXPECT_TRUE(std::filesystem::is_directory(path));
  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  // The guardian (the child's child, now an orphan) removes it as soon as it sees the end of its pipe.
  for (int i = 0; i < 500 && std::filesystem::exists(path); ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(std::filesystem::exists(path)) << path << " was left behind";
}

TEST(ThreadsVsProcessesSpawn, EverySpawnRunsAndIsReaped) {
  const auto threads = tvp::thread_spawn_costs(20);
  const auto processes = tvp::process_spawn_costs(20);
  EXPECT_EQ(threads.size(), 20u);
  EXPECT_EQ(processes.size(), 20u);
  EXPECT_TRUE(hazardlab::testing::children_of(::getpid()).empty());
}

// The cores the workers used: their CPU time over the wall time. Never a speed: only what must
// hold on any machine, idle or loaded. A worker's CPU time lies inside the run's wall time, so n
// workers use at most n cores (and a machine's cores, at most all of them); a computing worker uses
// some; waiting workers use next to none; threads under one GIL compute one at a time.
constexpr double kCoreSlack = 0.05; // reading the clocks, at each end of each worker

TYPED_TEST(ThreadsVsProcesses, CpuWorkersUseSomeCoresAndNoMoreThanTheyAre) {
  for (const int workers : {1, 2, 3}) {
    const auto run = tvp::run_experiment<TypeParam>(cpu_params(false), tvp::Scaling::strong, workers, 6, 60s);
    EXPECT_TRUE(std::isfinite(run.cores_used));
    EXPECT_GT(run.cores_used, 0) << workers << " workers";
    EXPECT_LE(run.cores_used, std::min(workers, tvp::cores()) * (1 + kCoreSlack)) << workers << " workers";
    EXPECT_DOUBLE_EQ(run.cores_used, run.cpu_ms / run.wall_ms);
  }
}

TYPED_TEST(ThreadsVsProcesses, WaitingWorkersUseNextToNoCore) {
  tvp::WorkParams p;
  p.kind = tvp::Kind::io;
  p.io_wait = 2ms;
  const auto run = tvp::run_experiment<TypeParam>(p, tvp::Scaling::strong, 3, 12, 60s);
  EXPECT_GT(run.cores_used, 0);
  EXPECT_LT(run.cores_used, 0.5) << "3 workers that sleep 2 ms a unit and compute some microseconds";
}

TEST(ThreadsVsProcessesGil, ThreadsUnderOneGilUseOneCoreAtMost) {
  // Only the holder computes; the others wait on the GIL's condition variable, burning nothing.
  // The slack is the hand-over: for some microseconds the one letting go and the one taking it
  // both run (more under a sanitizer).
  auto params = cpu_params(true);
  params.switch_interval = 5ms;
  const auto run = tvp::run_experiment<hazardlab::ThreadForm>(params, tvp::Scaling::strong, 3, 6, 60s);
  EXPECT_GT(run.cores_used, 0);
  EXPECT_LE(run.cores_used, 1.25);
}

tvp::CoreShare share(bool cpu_bound, int workers, double cores_used, double wall_ms = 100) {
  return {fmt::format("row of {}", workers), cpu_bound, workers, cores_used, wall_ms};
}

TEST(ThreadsVsProcessesBusy, AnIdleMachineGivesNoWarning) {
  // Figures as measured on 2 idle cores: every cpu row uses nearly what it could.
  EXPECT_EQ(
      tvp::busy_warning({share(true, 1, 0.99), share(true, 2, 1.97), share(true, 3, 1.93), share(true, 4, 1.96)}, 2),
      std::nullopt);
  EXPECT_EQ(tvp::busy_warning({}, 2), std::nullopt);
}

TEST(ThreadsVsProcessesBusy, ACappedCpuRowWarnsOnceNamingTheWorstRow) {
  // One compile running: 2 workers got about one core; 3 got 1.3 of 2 (a smaller cut).
  const auto warning =
      tvp::busy_warning({share(true, 1, 0.95), share(true, 2, 1.08), share(true, 3, 1.3), share(true, 4, 1.5)}, 2);
  ASSERT_TRUE(warning.has_value());
  EXPECT_EQ(*warning, "the machine is busy: the workers got 1.1 of 2 cores (row of 2); speed-ups are capped by that");
}

TEST(ThreadsVsProcessesBusy, TheLimitIsFourFifthsOfMinWorkersAndCores) {
  // 2 workers on 2 cores: 1.61 is above 0.8 × 2, 1.59 below.
  EXPECT_EQ(tvp::busy_warning({share(true, 2, 1.61)}, 2), std::nullopt);
  EXPECT_TRUE(tvp::busy_warning({share(true, 2, 1.59)}, 2).has_value());
  // 4 workers on 2 cores can have 2, no more: 1.7 is enough, though it is under 0.8 × 4.
  EXPECT_EQ(tvp::busy_warning({share(true, 4, 1.7)}, 2), std::nullopt);
  // One worker can have one core.
  EXPECT_EQ(*tvp::busy_warning({share(true, 1, 0.5)}, 8),
            "the machine is busy: the workers got 0.5 of 1 core (row of 1); speed-ups are capped by that");
}

TEST(ThreadsVsProcessesBusy, RowsThatCannotFillTheCoresAndShortRowsAreNotJudged) {
  // io work and threads under one GIL use few cores on any machine: that is what they show.
  EXPECT_EQ(tvp::busy_warning({share(false, 4, 0.02), share(false, 2, 0.99)}, 2), std::nullopt);
  // A run of a few milliseconds: its start and end count for too much.
  EXPECT_EQ(tvp::busy_warning({share(true, 2, 0.7, tvp::kJudgedWallMs / 2)}, 2), std::nullopt);
  EXPECT_TRUE(tvp::busy_warning({share(true, 2, 0.7, tvp::kJudgedWallMs)}, 2).has_value());
}

TEST(ThreadsVsProcessesBusy, CoresUsedIsCpuTimeOverWallTime) {
  EXPECT_DOUBLE_EQ(tvp::cores_used(150, 100), 1.5);
  EXPECT_EQ(tvp::cores_used(5, 0), 0); // no run, no division by zero
}

TEST(ThreadsVsProcessesStats, MedianAndQuantile) {
  EXPECT_EQ(tvp::median({3, 1, 2}), 2);
  EXPECT_EQ(tvp::median({4, 1, 2, 3}), 2.5);
  std::vector<double> hundred;
  for (int i = 1; i <= 100; ++i)
    hundred.push_back(i);
  EXPECT_EQ(tvp::quantile(hundred, 0.9), 90);
  EXPECT_EQ(tvp::quantile({5}, 0.9), 5);
}

} // namespace tvp_test
