#include "hazardlab/workers.hpp"

#include "hazardlab/barrier.hpp"
#include "hazardlab/logging.hpp"
#include "hazardlab/timeline.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>

namespace hazardlab {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kWatchInterval = std::chrono::milliseconds(1);
constexpr int kChildThrew = 70;    // a process-form worker's body threw
constexpr int kChildOrphaned = 71; // the parent died before the child could run

std::atomic<bool> g_threads_abandoned{false};
thread_local int t_current_worker = -1;
volatile std::sig_atomic_t g_pending_signal = 0;

std::int64_t now_ns() noexcept {
  // steady_clock is CLOCK_MONOTONIC: one clock for every process on the machine.
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

std::int64_t cpu_clock_ns(clockid_t clock) noexcept {
  timespec now{};
  if (::clock_gettime(clock, &now) != 0) return -1; // the thread is gone
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

double to_ms(std::int64_t ns) noexcept { return static_cast<double>(ns) / 1e6; }

// What the workers and the watchdog share: the start barrier and each worker's slot.
template <class Form>
struct Board {
  Board(int workers, const std::vector<int>& meeting_groups) : start(workers) {
    for (int id = 0; id < workers; ++id)
      group_of[id] = meeting_groups.empty() ? 0 : meeting_groups[id];
    for (int id = 0; id < workers; ++id)
      ++group_size[group_of[id]];
  }

  void released() noexcept {
    std::int64_t unset = 0; // the first worker through the barrier stamps the start
    released_ns.compare_exchange_strong(unset, now_ns(), std::memory_order_relaxed);
  }
  void finished(int worker) {
    slots[worker].cpu_ns.store(cpu_clock_ns(CLOCK_THREAD_CPUTIME_ID), std::memory_order_relaxed);
    slots[worker].finished_ns.store(now_ns(), std::memory_order_release);
    if constexpr (Form::kind == FormKind::thread) {
      typename Form::Lock lock(done_mutex);
      ++finished_count;
      all_finished.notify_all();
    }
  }
  void failed(int worker, const char* what) noexcept {
    int none = -1;
    if (failed_worker.compare_exchange_strong(none, worker)) std::snprintf(failure, sizeof failure, "%s", what);
  }

  // The forced schedule's one meeting (Worker::hazard_point): wait until every worker of this
  // one's group has arrived, but no longer than the patience after the first of them arrived
  // (a group can open its window late: consumers, after the producers have filled the ring).
  // Relaxed atomics and a yield loop on purpose: the meeting lines the workers up without
  // ordering anything, because an acquire/release (or a mutex) here would be a happens-before
  // edge between the racing accesses and hide the race from ThreadSanitizer.
  void meet(int worker) {
    const int group = group_of[worker];
    std::int64_t first = 0;
    first_arrival_ns[group].compare_exchange_strong(first, now_ns(), std::memory_order_relaxed);
    first = first_arrival_ns[group].load(std::memory_order_relaxed);
    const auto deadline = Clock::time_point(std::chrono::nanoseconds(first)) + kForcedMeetingPatience;
    met[group].fetch_add(1, std::memory_order_relaxed);
    while (met[group].load(std::memory_order_relaxed) < group_size[group] && Clock::now() < deadline)
      std::this_thread::yield();
  }

  Barrier<Form> start;
  std::atomic<std::int64_t> released_ns{0};
  std::array<int, kMaxWorkers> group_of{};   // per worker: its meeting group
  std::array<int, kMaxWorkers> group_size{}; // per group: how many workers meet there
  std::array<std::atomic<int>, kMaxWorkers> met{};
  std::array<std::atomic<std::int64_t>, kMaxWorkers> first_arrival_ns{}; // per group
  std::array<WorkerSlot, kMaxWorkers> slots;
  std::atomic<int> failed_worker{-1};
  char failure[256] = {};
  // The thread form's watchdog sleeps on this until every worker is done or the deadline comes:
  // a wait that ThreadSanitizer and Helgrind both understand, unlike polling the slots' atomics.
  // (The process form's watchdog waits with waitpid instead, and never touches these.)
  typename Form::Mutex done_mutex;
  typename Form::ConditionVariable all_finished;
  int finished_count = 0;
};

template <class Form>
void run_body(Board<Form>& board, int id, const WorkerBody& body, Schedule schedule, std::stop_token stop,
              timeline::Recording& recording) {
  t_current_worker = id;
  Worker worker(id, board.slots[id], std::move(stop), schedule, [&board, id] { board.meet(id); });
  board.start.arrive_and_wait();
  board.released();
  // The worker's track, from the start barrier's release to the end of its body, on every path.
  struct Tracked {
    timeline::Recording& recording;
    Tracked(timeline::Recording& r, int worker) : recording(r) { recording.worker_starts(worker); }
    ~Tracked() { recording.worker_ends(); }
    Tracked(const Tracked&) = delete;
    Tracked& operator=(const Tracked&) = delete;
  } tracked(recording, id);
  try {
    body(worker);
  } catch (const WorkerStopped&) {
    return; // the watchdog abandoned the run: the worker neither finished nor failed
  } catch (const std::exception& e) {
    board.failed(id, fmt::format("worker {} threw: {}", id, e.what()).c_str());
    board.finished(id);
    throw;
  }
  board.finished(id);
}

template <class Form>
WorkersReport snapshot(const Board<Form>& board, int workers) {
  WorkersReport report;
  std::int64_t last_finish = 0;
  for (int i = 0; i < workers; ++i) {
    const auto& slot = board.slots[i];
    const auto finished_ns = slot.finished_ns.load(std::memory_order_acquire);
    report.progress.push_back(slot.progress.load(std::memory_order_relaxed));
    report.attempts.push_back(slot.attempts.load(std::memory_order_relaxed));
    report.finished.push_back(finished_ns != 0);
    report.cpu_ms.push_back(to_ms(slot.cpu_ns.load(std::memory_order_relaxed)));
    last_finish = std::max(last_finish, finished_ns);
  }
  const bool all_finished = std::ranges::all_of(report.finished, [](bool f) { return f; });
  const auto end = all_finished ? last_finish : now_ns();
  const auto start = board.released_ns.load(std::memory_order_relaxed);
  report.elapsed_ms = start == 0 ? 0.0 : static_cast<double>(end - start) / 1e6;
  return report;
}

// At the deadline: does anything still move? (The workers are still alive: the thread form has not
// abandoned them yet, the process form has not killed them.)
template <class Form>
void look_at_the_deadline(const Board<Form>& board, int workers, WorkersReport& report) {
  const auto before = snapshot(board, workers);
  std::this_thread::sleep_for(kDeadlineLook);
  const auto after = snapshot(board, workers);
  report.still_progressing = before.progress != after.progress;
  for (int i = 0; i < workers; ++i)
    report.attempts_during_look += after.attempts[i] - before.attempts[i];
}

void keep_the_look(const WorkersReport& look, WorkersReport& report) {
  report.still_progressing = look.still_progressing;
  report.attempts_during_look = look.attempts_during_look;
}

std::string deadline_text(std::chrono::milliseconds timeout, const WorkersReport& report) {
  const auto done = std::ranges::count(report.finished, true);
  return fmt::format("the {} ms deadline passed with {} of {} workers unfinished", timeout.count(),
                     std::ssize(report.finished) - done, report.finished.size());
}

// ---- thread form ---------------------------------------------------------------------------

WorkersReport run_threads(int workers, std::chrono::milliseconds timeout, const WorkerBody& body, Schedule schedule,
                          const std::vector<int>& meeting_groups) {
  HeapShared<Board<ThreadForm>> board(workers, meeting_groups);
  // Heap-allocated so that, like the board, it can be left to abandoned threads (see below).
  auto recording = std::make_unique<timeline::Recording>(workers, timeline::requested());
  const auto deadline = Clock::now() + timeout;
  std::vector<std::jthread> threads;
  threads.reserve(workers);
  for (int id = 0; id < workers; ++id) {
    threads.emplace_back([&board = *board, &recording = *recording, id, body, schedule](std::stop_token stop) {
      try {
        run_body(board, id, body, schedule, std::move(stop), recording);
      } catch (...) {
        // recorded in the board; the watchdog reports the run as crashed
      }
    });
  }

  bool all_finished = false;
  {
    std::unique_lock lock(board->done_mutex);
    all_finished = board->all_finished.wait_until(lock, deadline, [&] { return board->finished_count == workers; });
  }
  WorkersReport look;
  std::vector<std::int64_t> cpu_ns_at_deadline(workers, -1);
  if (!all_finished) {
    look_at_the_deadline(*board, workers, look);
    // Read the CPU clocks of the threads still running before they are abandoned: a stopped thread
    // takes its clock with it. (A finished one left its reading in its slot.)
    for (int id = 0; id < workers; ++id) {
      clockid_t clock{};
      if (::pthread_getcpuclockid(threads[id].native_handle(), &clock) == 0)
        cpu_ns_at_deadline[id] = cpu_clock_ns(clock);
    }
    std::unique_lock lock(board->done_mutex); // the last of them may have finished during the look
    all_finished = board->finished_count == workers;
  }
  if (!all_finished) {
    // A blocked thread cannot be killed or joined. Detach it and keep everything it may touch
    // alive; the lab reports the run and then ends the program.
    mark_threads_abandoned();
    for (auto& thread : threads) {
      thread.request_stop();
      thread.detach();
    }
    (void)recording.release(); // their tracks stay mapped, and unread: they may still write
  }
  threads.clear(); // joins the finished threads: their last writes happen-before the snapshot

  WorkersReport report = snapshot(*board, workers);
  report.all_stopped = all_finished;
  if (recording) recording->keep("thread", board->released_ns.load(), now_ns());
  keep_the_look(look, report);
  for (int id = 0; id < workers; ++id)
    if (!report.finished[id] && cpu_ns_at_deadline[id] >= 0) report.cpu_ms[id] = to_ms(cpu_ns_at_deadline[id]);
  if (board->failed_worker.load() >= 0) {
    report.ending = WorkersReport::Ending::crashed;
    report.what = board->failure;
  } else if (!std::ranges::all_of(report.finished, [](bool f) { return f; })) {
    report.ending = WorkersReport::Ending::timed_out;
    report.what = deadline_text(timeout, report);
  }
  return report;
}

// ---- process form --------------------------------------------------------------------------

// While children are alive, SIGINT and SIGTERM only raise a flag: the watch loop then kills and
// reaps the children before the parent dies of the same signal, so none is left behind.
class SignalGuard {
public:
  SignalGuard() {
    g_pending_signal = 0;
    struct sigaction action {};
    action.sa_handler = [](int signal) { g_pending_signal = signal; };
    sigemptyset(&action.sa_mask);
    for (std::size_t i = 0; i < kSignals.size(); ++i)
      ::sigaction(kSignals[i], &action, &previous_[i]);
  }
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;
  ~SignalGuard() {
    for (std::size_t i = 0; i < kSignals.size(); ++i)
      ::sigaction(kSignals[i], &previous_[i], nullptr);
  }

private:
  static constexpr std::array<int, 3> kSignals{SIGINT, SIGTERM, SIGHUP};
  std::array<struct sigaction, kSignals.size()> previous_{};
};

[[noreturn]] void child_main(Board<ProcessForm>& board, int id, const WorkerBody& body, Schedule schedule, pid_t parent,
                             timeline::Recording& recording) {
  // If the parent dies, even by SIGKILL, the kernel kills this child too.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(kChildOrphaned); // it died before prctl took effect
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  ::signal(SIGHUP, SIG_DFL);
  reinit_logging_after_fork();
  int status = 0;
  try {
    run_body(board, id, body, schedule, {}, recording);
  } catch (...) {
    status = kChildThrew;
  }
  // _exit, not exit: the atexit handlers and stdio buffers this child inherited are the parent's.
  ::_exit(status);
}

std::string describe_child_status(int id, int status, const Board<ProcessForm>& board) {
  if (WIFSIGNALED(status))
    return fmt::format("worker {} was killed by signal {} ({})", id, WTERMSIG(status), ::strsignal(WTERMSIG(status)));
  if (WEXITSTATUS(status) == kChildThrew && board.failed_worker.load() >= 0) return board.failure;
  return fmt::format("worker {} exited with status {}", id, WEXITSTATUS(status));
}

class Children {
public:
  Children() = default;
  Children(const Children&) = delete;
  Children& operator=(const Children&) = delete;
  ~Children() { kill_and_reap(); } // any exit path, exceptions included

  // Children are added in worker order: worker i is the i-th added.
  void add(pid_t pid) {
    by_worker_.push_back(pid);
    alive_.push_back(pid);
    cpu_ms_.push_back(0);
  }
  bool empty() const noexcept { return alive_.empty(); }
  // The CPU time (user + system) a reaped child burned, from its rusage.
  double cpu_ms(int worker) const { return cpu_ms_[worker]; }

  // Reaps whoever has exited; returns the first abnormal exit as (worker, status).
  std::optional<std::pair<int, int>> reap_exited() {
    std::optional<std::pair<int, int>> abnormal;
    std::erase_if(alive_, [&](pid_t pid) {
      int status = 0;
      if (!reap(pid, &status, WNOHANG)) return false;
      if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) && !abnormal) abnormal = {worker_of(pid), status};
      return true;
    });
    return abnormal;
  }

  void kill_and_reap() noexcept {
    for (pid_t pid : alive_)
      ::kill(pid, SIGKILL);
    for (pid_t pid : alive_) {
      int status = 0;
      while (!reap(pid, &status, 0) && errno == EINTR) {
      }
    }
    alive_.clear();
  }

private:
  int worker_of(pid_t pid) const { return static_cast<int>(std::ranges::find(by_worker_, pid) - by_worker_.begin()); }
  bool reap(pid_t pid, int* status, int options) noexcept {
    rusage usage{};
    if (::wait4(pid, status, options, &usage) != pid) return false;
    const auto ms = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e3 + t.tv_usec / 1e3; };
    cpu_ms_[worker_of(pid)] = ms(usage.ru_utime) + ms(usage.ru_stime);
    return true;
  }

  std::vector<pid_t> by_worker_;
  std::vector<pid_t> alive_;
  std::vector<double> cpu_ms_; // per worker
};

WorkersReport run_processes(int workers, std::chrono::milliseconds timeout, const WorkerBody& body, Schedule schedule,
                            const std::vector<int>& meeting_groups) {
  std::fflush(nullptr); // or each child would flush a copy of the parent's buffered output
  MappedShared<Board<ProcessForm>> board(workers, meeting_groups);
  timeline::Recording recording(workers, timeline::requested()); // mapped before the forks
  SignalGuard signals;
  Children children;
  const pid_t parent = ::getpid();
  const auto deadline = Clock::now() + timeout;
  for (int id = 0; id < workers; ++id) {
    const pid_t pid = ::fork();
    if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (pid == 0) child_main(*board, id, body, schedule, parent, recording);
    children.add(pid);
  }

  WorkersReport::Ending ending = WorkersReport::Ending::finished;
  std::string what;
  WorkersReport look;
  while (!children.empty()) {
    if (auto abnormal = children.reap_exited()) {
      ending = WorkersReport::Ending::crashed;
      what = describe_child_status(abnormal->first, abnormal->second, *board);
      break; // the others may be waiting for the one that died: end them all
    }
    if (g_pending_signal != 0) break;
    if (Clock::now() >= deadline) {
      look_at_the_deadline(*board, workers, look);
      if (auto abnormal = children.reap_exited()) { // what happened during the look counts too
        ending = WorkersReport::Ending::crashed;
        what = describe_child_status(abnormal->first, abnormal->second, *board);
      } else if (!children.empty()) {
        ending = WorkersReport::Ending::timed_out;
      }
      break;
    }
    if (!children.empty()) std::this_thread::sleep_for(kWatchInterval);
  }
  children.kill_and_reap();

  if (const int signal = g_pending_signal; signal != 0) {
    spdlog::warn("signal {} received: workers killed and reaped", signal);
    ::signal(signal, SIG_DFL);
    ::raise(signal);
  }

  WorkersReport report = snapshot(*board, workers);
  recording.keep("process", board->released_ns.load(), now_ns()); // every child is reaped by now
  report.ending = ending;
  keep_the_look(look, report);
  for (int id = 0; id < workers; ++id)
    report.cpu_ms[id] = children.cpu_ms(id);
  report.what = ending == WorkersReport::Ending::timed_out ? deadline_text(timeout, report) : what;
  return report;
}

} // namespace

bool threads_abandoned() noexcept { return g_threads_abandoned.load(); }
int current_worker() noexcept { return t_current_worker; }
void mark_threads_abandoned() noexcept { g_threads_abandoned.store(true); }

WorkersReport run_workers(FormKind form, int workers, std::chrono::milliseconds timeout, const WorkerBody& body,
                          Schedule schedule, const std::vector<int>& meeting_groups) {
  if (workers < 1 || workers > kMaxWorkers)
    throw std::invalid_argument(fmt::format("workers must be 1 to {}, not {}", kMaxWorkers, workers));
  if (!meeting_groups.empty() && (std::ssize(meeting_groups) != workers ||
                                  std::ranges::any_of(meeting_groups, [](int g) { return g < 0 || g >= kMaxWorkers; })))
    throw std::invalid_argument(
        fmt::format("meeting_groups must give each worker a group from 0 to {}", kMaxWorkers - 1));
  spdlog::debug("starting {} {} workers, deadline {} ms", workers, to_string(form), timeout.count());
  return form == FormKind::thread ? run_threads(workers, timeout, body, schedule, meeting_groups)
                                  : run_processes(workers, timeout, body, schedule, meeting_groups);
}

} // namespace hazardlab
