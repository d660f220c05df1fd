#include "hazardlab/workers.hpp"

#include "control_block.hpp"
#include "hazardlab/barrier.hpp"
#include "hazardlab/timeline.hpp"
#include "hazardlab/toolkit.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <pthread.h>
#include <semaphore.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <valgrind/helgrind.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

namespace hazardlab {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kChildThrew = 70;    // a process-form worker's body threw
constexpr int kChildOrphaned = 71; // the parent died before the child could run

std::atomic<bool> g_threads_abandoned{false};
thread_local int t_current_worker = -1;
volatile std::sig_atomic_t g_pending_signal = 0;

std::int64_t cpu_clock_ns(clockid_t clock) noexcept {
  timespec now{};
  if (::clock_gettime(clock, &now) != 0) return -1; // the thread is gone
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

double to_ms(std::int64_t ns) noexcept { return static_cast<double>(ns) / 1e6; }

// The CPU time a worker has burned so far, read by the worker itself: its thread's clock in the
// thread form, its process's in the process form (the child is the worker, any threads of its own
// included).
template <class Form>
std::int64_t own_cpu_ns() noexcept {
  return cpu_clock_ns(Form::kind == FormKind::thread ? CLOCK_THREAD_CPUTIME_ID : CLOCK_PROCESS_CPUTIME_ID);
}

// What the workers and the watchdog share: the start barrier and each worker's slot.
template <class Form>
struct Board {
  explicit Board(int workers) : start(workers) {
    // The process form's bell is rung from the children and from the parent's SIGCHLD handler.
    ::sem_init(&bell, Form::kind == FormKind::process ? 1 : 0, 0);
    // The slots are read while the workers run (the watchdog's looks): relaxed atomics, which
    // Helgrind does not model. The kit's bookkeeping, not the lab's data: left out of its checks.
    VALGRIND_HG_DISABLE_CHECKING(&slots, sizeof slots);
  }

  void released() noexcept {
    std::int64_t unset = 0; // the first worker through the barrier stamps the start
    released_ns.compare_exchange_strong(unset, now_ns(), std::memory_order_relaxed);
  }
  Board(const Board&) = delete;
  Board& operator=(const Board&) = delete;
  ~Board() { ::sem_destroy(&bell); }

  // `cpu_at_start`: own_cpu_ns() when the body started.
  void finished(int worker, std::int64_t cpu_at_start) {
    slots[worker].body_cpu_ns.store(own_cpu_ns<Form>() - cpu_at_start, std::memory_order_relaxed);
    slots[worker].cpu_ns.store(cpu_clock_ns(CLOCK_THREAD_CPUTIME_ID), std::memory_order_relaxed);
    slots[worker].finished_ns.store(now_ns(), std::memory_order_release);
    if constexpr (Form::kind == FormKind::thread) {
      std::lock_guard lock(done_mutex);
      ++finished_count;
      ring();
    }
  }
  // The worker left without finishing (WorkerStopped): the run was being ended under it.
  void stopped(int worker) {
    slots[worker].cpu_ns.store(cpu_clock_ns(CLOCK_THREAD_CPUTIME_ID), std::memory_order_relaxed);
    if constexpr (Form::kind == FormKind::thread) {
      std::lock_guard lock(done_mutex);
      ++stopped_count;
      ring();
    }
  }
  // The thread form's watchdog: counts under done_mutex, read once the bell has rung or it has
  // waited its while. (The raw sem_t, not the form's semaphore: never a scheduling point.)
  int count(int Board::*which) {
    std::lock_guard lock(done_mutex);
    return this->*which;
  }
  // Waits for the bell until `until` (the steady clock, which is CLOCK_MONOTONIC), or until a signal
  // interrupts it: the caller looks at everything again either way.
  void wait_for_bell(Clock::time_point until) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(until.time_since_epoch()).count();
    const timespec at{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
    ::sem_clockwait(&bell, CLOCK_MONOTONIC, &at);
  }
  void failed(int worker, const char* what) noexcept {
    int none = -1;
    if (failed_worker.compare_exchange_strong(none, worker)) std::snprintf(failure, sizeof failure, "%s", what);
  }
  // A controlled run's scheduler reached a verdict: wake the watchdog now rather than at its next
  // look (the workers are parked, so no exit will wake it).
  void verdict_reached() { ring(); }
  void ring() { ::sem_post(&bell); }

  Barrier<Form> start;
  std::atomic<std::int64_t> released_ns{0};
  std::array<WorkerSlot, kMaxWorkers> slots;
  std::atomic<int> failed_worker{-1};
  char failure[256] = {};
  // The watchdog sleeps on the bell until a worker is done or stopped, a verdict is reached, or it
  // is time to look again. The thread form's then reads the counts under the mutex: waits that
  // ThreadSanitizer and Helgrind both understand, unlike polling the slots' atomics. (A condition
  // variable's timed wait made Helgrind report a "dubious" signal each time it timed out.) The
  // process form's is rung by SIGCHLD, whatever ended the child, and reaps with waitpid; it never
  // touches the counts. Plain primitives: the watchdog's own, never a scheduling point.
  std::mutex done_mutex;
  int finished_count = 0;
  int stopped_count = 0;
  sem_t bell{};
};

// A controlled run's state, where its workers can reach it (the process form maps it before fork),
// and nothing for a natural run.
template <class Form>
using ControlHolder = std::optional<typename Form::template Shared<control::Block>>;

template <class Form>
control::Block* control_of(const ControlHolder<Form>& holder) {
  return holder ? holder->get() : nullptr;
}

template <class Form>
void run_body(Board<Form>& board, int id, const WorkerBody& body, std::stop_token stop, timeline::Recording& recording,
              control::Block* control, const Script* script) {
  t_current_worker = id;
  Worker worker(id, board.slots[id], std::move(stop));
  try {
    if (control != nullptr)
      control::check_in(*control, id, script, [&board] { board.verdict_reached(); }); // the scheduler's start
    else
      board.start.arrive_and_wait();
  } catch (const WorkerStopped&) {
    board.stopped(id);
    return;
  }
  board.released();
  const std::int64_t cpu_at_start = own_cpu_ns<Form>(); // after the barrier: its wait is not the body's
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
    control::leave_session();
    board.stopped(id); // the run was ended under it: the worker neither finished nor failed
    return;
  } catch (const std::exception& e) {
    board.failed(id, fmt::format("worker {} threw: {}", id, e.what()).c_str());
    board.finished(id, cpu_at_start);
    control::finish(); // a controlled run goes on without it until the watchdog ends it
    throw;
  }
  board.finished(id, cpu_at_start);
  control::finish();
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
    report.body_cpu_ms.push_back(to_ms(slot.body_cpu_ns.load(std::memory_order_relaxed)));
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

// A natural run's early deadlock verdict: a cycle in the wait-for graph among frozen workers that
// stays the same, with no worker's progress or attempts moving, for kCycleLook.
class CycleWatch {
public:
  explicit CycleWatch(const std::function<std::string(const std::vector<bool>&)>& stuck) : stuck_(stuck) {}
  bool active() const noexcept { return static_cast<bool>(stuck_); }
  // Looked at every few milliseconds; returns what is stuck once it has stayed put long enough.
  template <class Form>
  std::string look(const Board<Form>& board, int workers) {
    std::vector<bool> finished;
    for (int w = 0; w < workers; ++w)
      finished.push_back(board.slots[w].finished_ns.load(std::memory_order_relaxed) != 0);
    std::string text = stuck_(finished);
    if (text.empty()) {
      text_.clear();
      return {};
    }
    std::vector<std::uint64_t> moves;
    for (int w = 0; w < workers; ++w) {
      moves.push_back(board.slots[w].progress.load(std::memory_order_relaxed));
      moves.push_back(board.slots[w].attempts.load(std::memory_order_relaxed));
    }
    const auto now = Clock::now();
    if (text != text_ || moves != moves_) {
      text_ = std::move(text);
      moves_ = std::move(moves);
      since_ = now;
      return {};
    }
    return now - since_ >= kCycleLook ? text_ : std::string{};
  }

private:
  const std::function<std::string(const std::vector<bool>&)>& stuck_;
  std::string text_;
  std::vector<std::uint64_t> moves_;
  Clock::time_point since_{};
};

// How often a watchdog with something to look at (a controlled run's guard, a natural run's cycle)
// looks.
constexpr auto kLookInterval = std::chrono::milliseconds(10);

// What the watchdog of a controlled run learned, for the report.
struct ControlOutcome {
  control::Verdict verdict = control::Verdict::none;
  std::string message;  // the verdict's
  std::string given_up; // why the guard gave control up, if it did
};

// Whether the scheduler still decides who runs (it then judges the run itself; the wait-for graph
// is looked at once the run is free).
bool under_control(const control::Block* control) {
  return control != nullptr && control->mode.load(std::memory_order_relaxed) == control::Mode::controlled;
}

control::Verdict verdict_of(const control::Block* control) {
  return control == nullptr ? control::Verdict::none : control->verdict.load(std::memory_order_acquire);
}

void take_verdict(const control::Block& control, ControlOutcome& outcome) {
  outcome.verdict = control.verdict.load(std::memory_order_acquire); // the message was written before it
  outcome.message = control.message;
}

// Ends the report of a controlled run: its verdict, and the record of its choices.
void finish_report(const control::Block* control, const ControlOutcome& outcome, WorkersReport& report) {
  if (control == nullptr) {
    control::keep_record({});
    return;
  }
  ControlRecord record = control->record();
  record.given_up = outcome.given_up;
  control::keep_record(std::move(record));
  switch (outcome.verdict) {
  case control::Verdict::frozen:
    report.ending = WorkersReport::Ending::frozen;
    report.what = outcome.message;
    break;
  case control::Verdict::livelock:
    report.ending = WorkersReport::Ending::livelocked;
    report.what = outcome.message;
    break;
  case control::Verdict::mismatch:
    throw ScheduleMismatch(outcome.message);
  case control::Verdict::none:
    break;
  }
}

// A controlled run's deadline is no verdict: while the scheduler decides, a run ends by itself
// (every worker finished), by the scheduler's verdict (frozen, livelock: counted in steps, never in
// time), or by the guard, which gives control up for a worker that stays away from the scheduling
// points (on a CPU, or asleep outside the kit; waiting for a CPU only far beyond any load).
// Wall time proves nothing here: on a loaded machine every hand-over waits for a CPU, and under
// ThreadSanitizer the worker that holds the turn may spend a second printing its first report. So
// the deadline moves on while the run is under control, and meets a run only once it is free.
class ControlledDeadline {
public:
  ControlledDeadline(Clock::time_point deadline, std::chrono::milliseconds period)
      : deadline_(deadline), period_(period) {}
  Clock::time_point at() const noexcept { return deadline_; }
  // At the deadline: true when it was moved on (the run is still under control).
  bool extend(const control::Block* control) {
    if (!under_control(control)) return false;
    deadline_ = Clock::now() + period_;
    return true;
  }

private:
  Clock::time_point deadline_;
  std::chrono::milliseconds period_;
};

std::string deadline_text(std::chrono::milliseconds timeout, const WorkersReport& report) {
  const auto done = std::ranges::count(report.finished, true);
  return fmt::format("the {} ms deadline passed with {} of {} workers unfinished", timeout.count(),
                     std::ssize(report.finished) - done, report.finished.size());
}

// ---- thread form ---------------------------------------------------------------------------

WorkersReport run_threads(int workers, std::chrono::milliseconds timeout, const WorkerBody& body,
                          const RunOptions& options) {
  HeapShared<Board<ThreadForm>> board(workers);
  ControlHolder<ThreadForm> control_holder;
  if (options.controlled()) control_holder.emplace(workers, options.replay, options.schedule);
  control::Block* const control = control_of<ThreadForm>(control_holder);
  const Script* const script = &options.script;
  // Heap-allocated so that, like the board, it can be left to abandoned threads (see below).
  auto recording = std::make_unique<timeline::Recording>(workers, timeline::requested(), options.timeline_window);
  ControlledDeadline deadline(Clock::now() + timeout, timeout);
  std::vector<std::jthread> threads;
  threads.reserve(workers);
  for (int id = 0; id < workers; ++id) {
    threads.emplace_back([&board = *board, &recording = *recording, id, body, control, script](std::stop_token stop) {
      try {
        run_body(board, id, body, std::move(stop), recording, control, script);
      } catch (...) {
        // recorded in the board; the watchdog reports the run as crashed
      }
    });
  }

  // Wait for the end, the deadline or a verdict, looking every few milliseconds when there is
  // something to look at: a controlled run's guard, or a natural run's wait-for graph.
  ControlOutcome outcome;
  std::optional<control::Guard> guard;
  if (control != nullptr) guard.emplace(*control);
  CycleWatch cycles(options.frozen);
  std::string cycle;
  const bool looking = guard || cycles.active();
  bool all_finished = false;
  for (;;) {
    all_finished = board->count(&Board<ThreadForm>::finished_count) == workers;
    if (all_finished || verdict_of(control) != control::Verdict::none) break;
    if (Clock::now() >= deadline.at() && !deadline.extend(control)) break;
    if (guard) {
      if (std::string reason = guard->look(); !reason.empty() && outcome.given_up.empty()) {
        outcome.given_up = std::move(reason);
        control->change_mode(control::Mode::free);
      }
    }
    if (cycles.active() && !under_control(control) && !(cycle = cycles.look(*board, workers)).empty()) break;
    board->wait_for_bell(looking ? std::min(deadline.at(), Clock::now() + kLookInterval) : deadline.at());
  }
  if (!all_finished && control != nullptr && verdict_of(control) != control::Verdict::none)
    take_verdict(*control, outcome);

  WorkersReport look;
  std::vector<std::int64_t> cpu_ns_at_deadline(workers, -1);
  const bool at_deadline = !all_finished && outcome.verdict == control::Verdict::none && cycle.empty();
  if (at_deadline) look_at_the_deadline(*board, workers, look);
  if (!all_finished) {
    // Read the CPU clocks of the threads still running before they stop or are abandoned: a stopped
    // thread takes its clock with it. (A finished one left its reading in its slot.)
    for (int id = 0; id < workers; ++id) {
      clockid_t clock{};
      if (::pthread_getcpuclockid(threads[id].native_handle(), &clock) == 0)
        cpu_ns_at_deadline[id] = cpu_clock_ns(clock);
    }
  }
  bool all_left = all_finished;
  if (!all_finished && control != nullptr && control->mode.load() != control::Mode::free) {
    // Under control every unfinished worker is parked in the scheduler or on its way to its next
    // scheduling point: ending the run makes each of them leave (WorkerStopped), and they are
    // joined, not abandoned, so further trials can follow. Each needs only a CPU to leave: the
    // bound is a last resort, far beyond what any load makes of that.
    control->change_mode(control::Mode::stopping);
    const auto until = Clock::now() + std::chrono::seconds(60);
    while (!(all_left =
                 board->count(&Board<ThreadForm>::finished_count) + board->count(&Board<ThreadForm>::stopped_count) ==
                 workers) &&
           Clock::now() < until)
      board->wait_for_bell(until);
  }
  if (!all_left) {
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
  report.all_stopped = all_left;
  if (recording) recording->keep("thread", board->released_ns.load(), now_ns());
  keep_the_look(look, report);
  for (int id = 0; id < workers; ++id)
    if (!report.finished[id] && cpu_ns_at_deadline[id] >= 0 && board->slots[id].cpu_ns.load() == 0)
      report.cpu_ms[id] = to_ms(cpu_ns_at_deadline[id]);
  if (board->failed_worker.load() >= 0) {
    report.ending = WorkersReport::Ending::crashed;
    report.what = board->failure;
  } else if (!cycle.empty()) {
    report.ending = WorkersReport::Ending::frozen;
    report.what = "the wait-for graph stayed stuck: " + cycle;
  } else if (!all_finished && outcome.verdict == control::Verdict::none) {
    report.ending = WorkersReport::Ending::timed_out;
    report.what = deadline_text(timeout, report);
  }
  if (report.ending == WorkersReport::Ending::crashed) outcome.verdict = control::Verdict::none; // the crash says it
  finish_report(control, outcome, report);
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

// Rings the process form's bell whenever a child ends, however it ends (a crash or a kill rings no
// bell of its own), so that the watchdog sleeps instead of polling waitpid. sem_post is
// async-signal-safe.
sem_t* volatile g_child_bell = nullptr;

class ChildBell {
public:
  explicit ChildBell(sem_t& bell) {
    g_child_bell = &bell;
    struct sigaction action {};
    action.sa_handler = [](int) {
      if (sem_t* bell = g_child_bell; bell != nullptr) ::sem_post(bell);
    };
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    ::sigaction(SIGCHLD, &action, &previous_);
  }
  ChildBell(const ChildBell&) = delete;
  ChildBell& operator=(const ChildBell&) = delete;
  ~ChildBell() {
    ::sigaction(SIGCHLD, &previous_, nullptr);
    g_child_bell = nullptr;
  }

private:
  struct sigaction previous_ {};
};

[[noreturn]] void child_main(Board<ProcessForm>& board, int id, const WorkerBody& body, pid_t parent,
                             timeline::Recording& recording, control::Block* control, const Script* script) {
  // If the parent dies, even by SIGKILL, the kernel kills this child too.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(kChildOrphaned); // it died before prctl took effect
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  ::signal(SIGHUP, SIG_DFL);
  ::signal(SIGCHLD, SIG_DFL);
  // The logger needs no new start: the parent forks with one thread, outside any log call, so its
  // sink's mutex is free in the copy (and each fresh logger cost a child a dozen copy-on-write faults).
  int status = 0;
  try {
    run_body(board, id, body, {}, recording, control, script);
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

WorkersReport run_processes(int workers, std::chrono::milliseconds timeout, const WorkerBody& body,
                            const RunOptions& options) {
  std::fflush(nullptr); // or each child would flush a copy of the parent's buffered output
  MappedShared<Board<ProcessForm>> board(workers);
  ControlHolder<ProcessForm> control_holder;
  if (options.controlled())
    control_holder.emplace(workers, options.replay, options.schedule); // mapped before the forks
  control::Block* const control = control_of<ProcessForm>(control_holder);
  timeline::Recording recording(workers, timeline::requested(), options.timeline_window); // before the forks
  SignalGuard signals;
  ChildBell child_bell(board->bell); // before the forks: no exit goes unheard
  Children children;
  const pid_t parent = ::getpid();
  ControlledDeadline deadline(Clock::now() + timeout, timeout);
  for (int id = 0; id < workers; ++id) {
    const pid_t pid = ::fork();
    if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (pid == 0) child_main(*board, id, body, parent, recording, control, &options.script);
    children.add(pid);
  }

  WorkersReport::Ending ending = WorkersReport::Ending::finished;
  std::string what;
  WorkersReport look;
  ControlOutcome outcome;
  std::optional<control::Guard> guard;
  if (control != nullptr) guard.emplace(*control);
  CycleWatch cycles(options.frozen);
  std::string cycle;
  auto next_look = Clock::now() + kLookInterval;
  while (!children.empty()) {
    if (auto abnormal = children.reap_exited()) {
      ending = WorkersReport::Ending::crashed;
      what = describe_child_status(abnormal->first, abnormal->second, *board);
      break; // the others may be waiting for the one that died: end them all
    }
    if (g_pending_signal != 0) break;
    if (verdict_of(control) != control::Verdict::none) {
      take_verdict(*control, outcome);
      break; // stuck at once: the children are parked in the scheduler
    }
    if (Clock::now() >= next_look) {
      next_look = Clock::now() + kLookInterval;
      if (guard) {
        if (std::string reason = guard->look(); !reason.empty() && outcome.given_up.empty()) {
          outcome.given_up = std::move(reason);
          control->change_mode(control::Mode::free);
        }
      }
      if (cycles.active() && !under_control(control) && !(cycle = cycles.look(*board, workers)).empty()) {
        ending = WorkersReport::Ending::frozen;
        what = "the wait-for graph stayed stuck: " + cycle;
        break;
      }
    }
    if (Clock::now() >= deadline.at() && !deadline.extend(control)) {
      look_at_the_deadline(*board, workers, look);
      if (auto abnormal = children.reap_exited()) { // what happened during the look counts too
        ending = WorkersReport::Ending::crashed;
        what = describe_child_status(abnormal->first, abnormal->second, *board);
      } else if (!children.empty()) {
        ending = WorkersReport::Ending::timed_out;
      }
      break;
    }
    if (!children.empty()) board->wait_for_bell(std::min(next_look, deadline.at()));
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
  if (ending == WorkersReport::Ending::crashed) outcome.verdict = control::Verdict::none; // the crash says it
  finish_report(control, outcome, report);
  return report;
}

} // namespace

bool threads_abandoned() noexcept { return g_threads_abandoned.load(); }
int current_worker() noexcept { return t_current_worker; }
void mark_threads_abandoned() noexcept { g_threads_abandoned.store(true); }

WorkersReport run_workers(FormKind form, int workers, std::chrono::milliseconds timeout, const WorkerBody& body,
                          const RunOptions& options) {
  if (workers < 1 || workers > kMaxWorkers)
    throw std::invalid_argument(fmt::format("workers must be 1 to {}, not {}", kMaxWorkers, workers));
  if (options.schedule == Schedule::replay)
    for (const auto& run : options.replay)
      if (run.worker >= workers)
        throw ScheduleMismatch(
            fmt::format("the choices name worker {}, and the run has workers 0 to {}", run.worker, workers - 1));
  spdlog::debug("starting {} {} workers, deadline {} ms, {} schedule", workers, to_string(form), timeout.count(),
                to_string(options.schedule));
  return form == FormKind::thread ? run_threads(workers, timeout, body, options)
                                  : run_processes(workers, timeout, body, options);
}

void Worker::pause_for(std::chrono::microseconds length) {
  if (control::active()) {
    control::pause(length.count());
    return;
  }
  // A spin, not a sleep: the polite pause of lock-free retry loops, and why a livelock burns CPU.
  const auto until = Clock::now() + length;
  while (Clock::now() < until) {
    stop_if_requested();
    std::this_thread::yield();
  }
}

} // namespace hazardlab
