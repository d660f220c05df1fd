// run_workers and its watchdog: progress reaches the report; a worker that throws, exits or is
// killed makes the run crashed; a stuck run is timed out within its deadline and, in the process
// form, leaves no child process and no /dev/shm entry behind, even when the parent itself is
// sent SIGTERM in the middle of a run.
#include "form_names.hpp"
#include "leftovers.hpp"

#include "hazardlab/forms.hpp"
#include "hazardlab/outcome.hpp"
#include "hazardlab/workers.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <new>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace workers_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::ProcessForm;
using hazardlab::ThreadForm;
using hazardlab::Worker;
using hazardlab::WorkersReport;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

::testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

// The watchdog must end a stuck run at its deadline; how much later it does is not measured,
// only that it is not absurdly late.
constexpr auto kGenerousMargin = 5s;

// Children must not write core files when the tests kill them with a signal on purpose.
void no_core_dump() {
  const rlimit none{0, 0};
  ::setrlimit(RLIMIT_CORE, &none);
}

// Dies of this signal with its default action, whatever a sanitizer's runtime installed for it.
[[noreturn]] void die_of(int signal) {
  no_core_dump();
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  ::sigaction(signal, &action, nullptr);
  sigset_t unblock;
  sigemptyset(&unblock);
  sigaddset(&unblock, signal);
  ::sigprocmask(SIG_UNBLOCK, &unblock, nullptr);
  ::raise(signal);
  ::_exit(99); // not reached
}

[[noreturn]] void block_forever() {
  for (;;)
    ::pause();
}

// The pids of a sub-process's workers, in memory the test and the sub-process share.
struct ChildPids {
  static constexpr int kWorkers = 3;
  std::array<std::atomic<pid_t>, kWorkers> child{};
  std::atomic<int> recorded{0};
};

template <class Form>
struct NeverReleased {
  typename Form::Semaphore never_released{0};
};

template <class Form>
class WorkersTest : public hazardlab::testing::LeavesNothingBehind {};
TYPED_TEST_SUITE(WorkersTest, hazardlab::testing::BothForms, hazardlab::testing::FormName);

TYPED_TEST(WorkersTest, ProgressAndAttemptsReachTheReport) {
  using Form = TypeParam;
  constexpr int kWorkers = 4;
  const auto report = hazardlab::run_workers<Form>(kWorkers, 30s, [](Worker& worker) {
    const auto id = static_cast<std::uint64_t>(worker.id());
    for (int i = 0; i < 3; ++i)
      worker.progressed(id + 1);
    worker.attempted(10 * id + 1);
    worker.attempted();
  });
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  EXPECT_TRUE(report.what.empty()) << report.what;
  ASSERT_EQ(report.progress.size(), static_cast<std::size_t>(kWorkers));
  ASSERT_EQ(report.attempts.size(), static_cast<std::size_t>(kWorkers));
  ASSERT_EQ(report.finished.size(), static_cast<std::size_t>(kWorkers));
  for (int i = 0; i < kWorkers; ++i) {
    const auto id = static_cast<std::uint64_t>(i);
    EXPECT_EQ(report.progress[i], 3 * (id + 1)) << "worker " << i;
    EXPECT_EQ(report.attempts[i], 10 * id + 2) << "worker " << i;
    EXPECT_TRUE(report.finished[i]) << "worker " << i;
  }
  EXPECT_GE(report.elapsed_ms, 0.0);
}

// The CPU time each worker burned reaches the report: the thread's CPU clock, or the child's
// rusage. A worker that spins until its own CPU clock shows 60 ms has burned at least that; one
// that sleeps burns next to nothing. (CPU time, not wall time: load on the machine cannot bend
// the spinner's figure below 60 ms, and the sleeper's bound is loose.)
TYPED_TEST(WorkersTest, CpuTimeBurnedReachesTheReport) {
  using Form = TypeParam;
  const auto report = hazardlab::run_workers<Form>(2, 30s, [](Worker& worker) {
    if (worker.id() == 1) {
      std::this_thread::sleep_for(100ms);
      return;
    }
    const clockid_t clock =
        Form::kind == hazardlab::FormKind::thread ? CLOCK_THREAD_CPUTIME_ID : CLOCK_PROCESS_CPUTIME_ID;
    timespec used{};
    do {
      ::clock_gettime(clock, &used);
    } while (used.tv_sec == 0 && used.tv_nsec < 60'000'000);
  });
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  ASSERT_EQ(report.cpu_ms.size(), 2u);
  EXPECT_GE(report.cpu_ms[0], 60.0);
  EXPECT_LT(report.cpu_ms[1], 50.0);
}

TYPED_TEST(WorkersTest, WorkerCountOutsideOneToMaxIsRejected) {
  using Form = TypeParam;
  const auto nothing = [](Worker&) {};
  EXPECT_THROW(hazardlab::run_workers<Form>(0, 1s, nothing), std::invalid_argument);
  EXPECT_THROW(hazardlab::run_workers<Form>(-1, 1s, nothing), std::invalid_argument);
  EXPECT_THROW(hazardlab::run_workers<Form>(hazardlab::kMaxWorkers + 1, 1s, nothing), std::invalid_argument);
  EXPECT_EQ(hazardlab::run_workers<Form>(1, 30s, nothing).ending, WorkersReport::Ending::finished);
  const auto most = hazardlab::run_workers<Form>(hazardlab::kMaxWorkers, 60s, nothing);
  EXPECT_EQ(most.ending, WorkersReport::Ending::finished) << most.what;
  EXPECT_EQ(most.finished.size(), static_cast<std::size_t>(hazardlab::kMaxWorkers));
}

TYPED_TEST(WorkersTest, BodyThatThrowsMakesTheRunCrashed) {
  using Form = TypeParam;
  const auto report = hazardlab::run_workers<Form>(3, 30s, [](Worker& worker) {
    worker.progressed();
    if (worker.id() == 1) throw std::runtime_error("the disk is full of pancakes");
  });
  ASSERT_EQ(report.ending, WorkersReport::Ending::crashed);
  EXPECT_TRUE(contains(report.what, "worker 1"));
  EXPECT_TRUE(contains(report.what, "the disk is full of pancakes"));
  ASSERT_EQ(report.progress.size(), 3u);
  EXPECT_EQ(report.progress[1], 1u);
}

// ---- process form: the parent watches its children --------------------------------------------

class WorkersProcessForm : public WorkersTest<ProcessForm> {};

TEST_F(WorkersProcessForm, ChildKilledBySignalIsCrashed) {
  for (const int signal : {SIGSEGV, SIGABRT, SIGKILL}) {
    SCOPED_TRACE(::strsignal(signal));
    const auto start = Clock::now();
    // The others block forever: the crash must end the run, not the deadline.
    const auto report = hazardlab::run_workers<ProcessForm>(3, 30s, [signal](Worker& worker) {
      if (worker.id() != 2) block_forever();
      if (signal == SIGABRT) {
        no_core_dump();
        std::abort();
      }
      die_of(signal);
    });
    EXPECT_LT(Clock::now() - start, 30s) << "the run waited for its deadline";
    ASSERT_EQ(report.ending, WorkersReport::Ending::crashed) << report.what;
    EXPECT_TRUE(contains(report.what, "worker 2"));
    EXPECT_TRUE(contains(report.what, "signal " + std::to_string(signal)));
    EXPECT_TRUE(contains(report.what, ::strsignal(signal)));
    EXPECT_TRUE(hazardlab::testing::children_of(::getpid()).empty());
  }
}

TEST_F(WorkersProcessForm, ChildThatExitsIsCrashed) {
  const auto report = hazardlab::run_workers<ProcessForm>(2, 30s, [](Worker& worker) {
    if (worker.id() == 0) ::_exit(3);
  });
  ASSERT_EQ(report.ending, WorkersReport::Ending::crashed) << report.what;
  EXPECT_TRUE(contains(report.what, "worker 0 exited with status 3"));
}

TEST_F(WorkersProcessForm, StuckRunTimesOutAndLeavesNothingBehind) {
  auto state = hazardlab::place<ProcessForm, NeverReleased<ProcessForm>>();
  constexpr int kWorkers = 4;
  constexpr auto kDeadline = 300ms;
  const auto start = Clock::now();
  const auto report = hazardlab::run_workers<ProcessForm>(kWorkers, kDeadline, [s = state.get()](Worker& worker) {
    const int id = worker.id();
    worker.progressed(static_cast<std::uint64_t>(100 + id));
    if (id == 0) return;              // finishes
    if (id % 2 == 1) block_forever(); // pause()s
    s->never_released.acquire();      // waits on a semaphore nobody releases
  });
  const auto took = Clock::now() - start;
  ASSERT_EQ(report.ending, WorkersReport::Ending::timed_out) << report.what;
  EXPECT_GE(took, kDeadline) << "the watchdog fired before the deadline";
  EXPECT_LT(took, kDeadline + kGenerousMargin);
  EXPECT_TRUE(contains(report.what, "300 ms deadline"));
  EXPECT_TRUE(contains(report.what, "3 of 4 workers unfinished"));
  ASSERT_EQ(report.finished.size(), static_cast<std::size_t>(kWorkers));
  EXPECT_TRUE(report.finished[0]);
  for (int id = 0; id < kWorkers; ++id) {
    if (id > 0) {
      EXPECT_FALSE(report.finished[id]) << "worker " << id;
    }
    EXPECT_EQ(report.progress[id], static_cast<std::uint64_t>(100 + id)) << "worker " << id;
  }
  // Killed and reaped before run_workers returned: not even a zombie (TearDown checks again, with
  // /dev/shm).
  EXPECT_TRUE(hazardlab::testing::children_of(::getpid()).empty());
}

// A worker that keeps attempting and never progresses, next to one that is frozen: at the deadline
// the watchdog sees the attempts still climbing (a livelock's signature) and the spinner's CPU
// time, taken from its rusage after it was killed; the frozen one burned next to none.
TEST_F(WorkersProcessForm, AttemptsClimbingAtTheDeadlineAreSeenWithTheirCpuTime) {
  auto state = hazardlab::place<ProcessForm, NeverReleased<ProcessForm>>();
  const auto report = hazardlab::run_workers<ProcessForm>(2, 300ms, [s = state.get()](Worker& worker) {
    if (worker.id() == 1) s->never_released.acquire();
    for (;;)
      worker.attempted();
  });
  ASSERT_EQ(report.ending, WorkersReport::Ending::timed_out) << report.what;
  EXPECT_TRUE(report.still_attempting());
  EXPECT_FALSE(report.still_progressing);
  EXPECT_GT(report.attempts_during_look, 0u);
  EXPECT_GT(report.attempts[0], 0u);
  EXPECT_EQ(report.attempts[1], 0u);
  ASSERT_EQ(report.cpu_ms.size(), 2u);
  EXPECT_GT(report.cpu_ms[0], 0.0);
  EXPECT_LT(report.cpu_ms[1], report.cpu_ms[0]);
  const auto result = hazardlab::unfinished_run(report);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->outcome(), "stuck:livelock");
}

// A lab's parent process sent SIGTERM in the middle of a run: it kills and reaps its children,
// then dies of SIGTERM itself. The lab's parent here is a forked sub-process of the test, and the
// test is its children's subreaper meanwhile: a child the sub-process left behind is reparented to
// the test (where it is seen, and cleaned up) rather than to an init that may never reap it.
class WorkersProcessFormSignal : public WorkersProcessForm {
protected:
  void SetUp() override {
    WorkersProcessForm::SetUp();
    mapping_ = ::mmap(nullptr, sizeof(ChildPids), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(mapping_, MAP_FAILED);
    pids_ = new (mapping_) ChildPids{};
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  }
  void TearDown() override {
    // Whatever an assertion left: the sub-process, and children reparented to the test.
    if (parent_ > 0) {
      ::kill(parent_, SIGKILL);
      ::waitpid(parent_, nullptr, 0);
    }
    if (pids_ != nullptr) {
      for (const auto& child : pids_->child) {
        if (const pid_t pid = child.load(); pid > 0 && ::waitpid(pid, nullptr, WNOHANG) == 0) {
          ::kill(pid, SIGKILL);
          ::waitpid(pid, nullptr, 0);
        }
      }
    }
    ::prctl(PR_SET_CHILD_SUBREAPER, 0);
    if (mapping_ != MAP_FAILED) ::munmap(mapping_, sizeof(ChildPids));
    WorkersProcessForm::TearDown();
  }

  void* mapping_ = MAP_FAILED;
  ChildPids* pids_ = nullptr;
  pid_t parent_ = -1; // the sub-process while it is not yet reaped
};

TEST_F(WorkersProcessFormSignal, SigtermToParentKillsAndReapsChildrenThenDies) {
  constexpr int kWorkers = ChildPids::kWorkers;
  constexpr int kRunReturned = 10;
  constexpr int kRunThrew = 11;
  std::fflush(nullptr);
  parent_ = ::fork();
  ASSERT_GE(parent_, 0);
  if (parent_ == 0) {
    // The lab's parent: never returns into GoogleTest.
    try {
      hazardlab::run_workers<ProcessForm>(kWorkers, 60s, [pids = pids_](Worker& worker) {
        pids->child[worker.id()].store(::getpid());
        pids->recorded.fetch_add(1);
        block_forever();
      });
      ::_exit(kRunReturned);
    } catch (...) {
      ::_exit(kRunThrew);
    }
  }

  // Every child is running its body (so the parent's signal guard is in place) before SIGTERM.
  const auto give_up = Clock::now() + 20s;
  int status = 0;
  while (pids_->recorded.load() < kWorkers && Clock::now() < give_up) {
    if (::waitpid(parent_, &status, WNOHANG) == parent_) {
      parent_ = -1;
      FAIL() << "the sub-process ended before its workers started, status " << status;
    }
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(pids_->recorded.load(), kWorkers) << "the workers never all started";

  ASSERT_EQ(::kill(parent_, SIGTERM), 0);
  ASSERT_EQ(::waitpid(parent_, &status, 0), parent_);
  parent_ = -1;
  EXPECT_TRUE(WIFSIGNALED(status)) << "status " << status << (WIFEXITED(status) ? " (exited)" : "");
  if (WIFSIGNALED(status)) {
    EXPECT_EQ(WTERMSIG(status), SIGTERM) << ::strsignal(WTERMSIG(status));
  }

  // The parent reaped its children before it died: none was reparented to the test.
  const auto reparented = hazardlab::testing::children_of(::getpid());
  EXPECT_TRUE(reparented.empty()) << reparented.size() << " worker(s) outlived the parent";
  // And none survives: give the kernel a moment to finish off an orphan (PR_SET_PDEATHSIG kills
  // it; the test, as its subreaper, reaps it), no more.
  for (int i = 0; i < kWorkers; ++i) {
    const pid_t child = pids_->child[i].load();
    ASSERT_GT(child, 0);
    const auto until = Clock::now() + 2s;
    while (hazardlab::testing::process_exists(child) && Clock::now() < until) {
      ::waitpid(child, nullptr, WNOHANG); // only succeeds for an orphan reparented to the test
      std::this_thread::sleep_for(5ms);
    }
    EXPECT_FALSE(hazardlab::testing::process_exists(child)) << "worker " << i << " (pid " << child << ") survived";
  }
}

// ---- thread form: a stuck run ends the program ----------------------------------------------

// Stuck threads cannot be killed or joined: run_workers abandons them and the lab then ends the
// program. So the stuck run happens in a death test's own process, which reports what it saw
// through its exit status: 4 (the labs' "stuck") when the report was as expected.
[[noreturn]] void run_stuck_threads_and_exit() {
  auto state = hazardlab::place<ThreadForm, NeverReleased<ThreadForm>>();
  constexpr auto kDeadline = 300ms;
  const auto start = Clock::now();
  const auto report = hazardlab::run_workers<ThreadForm>(3, kDeadline, [s = state.get()](Worker& worker) {
    worker.progressed(static_cast<std::uint64_t>(7 + worker.id()));
    if (worker.id() == 0) return;
    s->never_released.acquire();
  });
  const auto took = Clock::now() - start;
  bool ok = report.ending == WorkersReport::Ending::timed_out;
  ok = ok && took >= kDeadline && took < kDeadline + kGenerousMargin;
  ok = ok && report.what.find("2 of 3 workers unfinished") != std::string::npos;
  ok = ok && report.finished.size() == 3 && report.finished[0] && !report.finished[1] && !report.finished[2];
  ok = ok && report.progress.size() == 3 && report.progress[0] == 7 && report.progress[1] == 8 &&
       report.progress[2] == 9;
  ok = ok && hazardlab::threads_abandoned();
  if (!ok) std::fprintf(stderr, "unexpected report: %s\n", report.what.c_str());
  std::fflush(stderr);
  std::_Exit(ok ? hazardlab::kExitStuck : 1);
}

// The thread form's livelock: a spinner that attempts and never progresses, and a frozen worker.
// The spinner's CPU time is read from its thread's clock before the run is abandoned; once it is,
// stop_if_requested() lets the spinner leave (neither finished nor crashed).
[[noreturn]] void run_spinning_threads_and_exit() {
  auto state = hazardlab::place<ThreadForm, NeverReleased<ThreadForm>>();
  auto left = std::make_shared<std::atomic<bool>>(false);
  const auto report = hazardlab::run_workers<ThreadForm>(2, 300ms, [s = state.get(), left](Worker& worker) {
    if (worker.id() == 1) s->never_released.acquire();
    try {
      for (;;) {
        worker.attempted();
        worker.stop_if_requested();
      }
    } catch (const hazardlab::WorkerStopped&) {
      left->store(true);
      throw;
    }
  });
  bool ok = report.ending == WorkersReport::Ending::timed_out && report.still_attempting() && !report.still_progressing;
  ok = ok && report.cpu_ms.size() == 2 && report.cpu_ms[0] > 0.0 && report.cpu_ms[1] < report.cpu_ms[0];
  ok = ok && !report.finished[0] && hazardlab::unfinished_run(report)->outcome() == "stuck:livelock";
  const auto until = Clock::now() + kGenerousMargin; // the spinner sees the stop and leaves
  while (!left->load() && Clock::now() < until)
    std::this_thread::sleep_for(1ms);
  ok = ok && left->load();
  if (!ok) std::fprintf(stderr, "unexpected report: %s\n", report.what.c_str());
  std::fflush(stderr);
  std::_Exit(ok ? hazardlab::kExitStuck : 1);
}

TEST(WorkersThreadFormDeathTest, ASpinnerIsSeenAttemptingWithItsCpuTimeAndStopsWhenAbandoned) {
  const std::string previous_style = GTEST_FLAG_GET(death_test_style);
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(run_spinning_threads_and_exit(), ::testing::ExitedWithCode(hazardlab::kExitStuck), "");
  GTEST_FLAG_SET(death_test_style, previous_style);
}

TEST(WorkersThreadFormDeathTest, StuckRunTimesOutAndAbandonsTheThreads) {
  const std::string previous_style = GTEST_FLAG_GET(death_test_style);
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(run_stuck_threads_and_exit(), ::testing::ExitedWithCode(hazardlab::kExitStuck), "");
  GTEST_FLAG_SET(death_test_style, previous_style);
}

} // namespace workers_test
