#include "control_block.hpp"

#include "hazardlab/toolkit.hpp"
#include "hazardlab/workers.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <valgrind/helgrind.h>
#include <valgrind/valgrind.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <climits>
#include <cstdio>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace hazardlab {

namespace control {

thread_local Session* t_session = nullptr;

namespace {

constexpr auto relaxed = std::memory_order_relaxed;

// The hand-over: the worker giving the turn wrote the run's state with relaxed stores; the one
// taking it must see them. A hardware fence on each side does that without a happens-before edge
// that ThreadSanitizer could see. (TSan does not model fences, and GCC refuses to compile one
// under -fsanitize=thread, so there it is a compiler fence: x86 keeps stores in order anyway.)
inline void handover_fence() noexcept {
#if defined(__SANITIZE_THREAD__)
  std::atomic_signal_fence(std::memory_order_seq_cst);
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

thread_local Session t_storage;

std::string names_of(WorkerSet set) {
  std::vector<int> ids;
  for (int w = 0; w < kMaxWorkers; ++w)
    if (set >> w & 1) ids.push_back(w);
  return ids.empty() ? "nobody" : fmt::format("{}", fmt::join(ids, ", "));
}

} // namespace

void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT, expected, nullptr, nullptr, 0);
}

void futex_wake(std::atomic<std::uint32_t>& word) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

// ---- the block -----------------------------------------------------------------------------------

Block::Block(int workers_, const std::vector<ChoiceRun>& to_replay, Schedule schedule)
    : workers(workers_), exploring(schedule == Schedule::explore) {
  // Helgrind does not model std::atomic: every access to this block would be a "possible data
  // race" to it. The block is the scheduler's, not the lab's: it is left out of Helgrind's checks.
  VALGRIND_HG_DISABLE_CHECKING(this, sizeof *this);
  if (to_replay.size() > replay.size()) throw std::invalid_argument("too many choices to replay");
  for (const auto& run : to_replay)
    replay[static_cast<std::size_t>(replay_runs++)].store(PackedRun::pack(run.worker, run.count), relaxed);
  replaying = schedule != Schedule::forced; // past the choices given, the default rule (never the script)
  // Every worker is runnable from the start: the first choice is made once all have checked in,
  // and checking in (which the workers do at the same time) writes nothing but each one's own seat.
  WorkerSet all = 0;
  for (int w = 0; w < workers; ++w) {
    all |= only(w);
    seats[static_cast<std::size_t>(w)].status.store(Status::runnable, relaxed);
  }
  runnable.store(all, relaxed);
  unfinished.store(all, relaxed);
}

void Block::set_status(int worker, Status status) noexcept {
  Seat& seat = seats[static_cast<std::size_t>(worker)];
  seat.status.store(status, relaxed);
  const WorkerSet me = only(worker);
  const auto set = [&](std::atomic<WorkerSet>& mask, bool in) {
    const WorkerSet before = mask.load(relaxed);
    mask.store(in ? before | me : before & ~me, relaxed);
  };
  set(runnable, status == Status::runnable);
  set(spinning, status == Status::spinning);
  set(sleeping, status == Status::sleeping);
  set(unfinished, status != Status::finished);
}

WorkerSet Block::eligible() const noexcept {
  WorkerSet set = runnable.load(relaxed);
  // A spinner may run again once another worker has taken a step since it spun: whatever it waits
  // for (a plain atomic store, which the scheduler cannot see) can only change then.
  const WorkerSet spinners = spinning.load(relaxed);
  if (spinners != 0) {
    const auto steps_now = steps.load(relaxed);
    for (int w = 0; w < workers; ++w)
      if ((spinners >> w & 1) && seats[static_cast<std::size_t>(w)].spun_at.load(relaxed) < steps_now) set |= only(w);
  }
  return set;
}

void Block::reach_verdict(Verdict v, const std::string& text) noexcept {
  if (verdict.load(relaxed) != Verdict::none) return;
  std::snprintf(message, sizeof message, "%s", text.c_str());
  verdict.store(v, std::memory_order_release); // the watchdog reads the message after it (acquire)
}

void Block::log_choice(int worker) noexcept {
  choices.store(choices.load(relaxed) + 1, relaxed);
  const int runs = log_runs.load(relaxed);
  if (runs > 0) {
    auto& last = log[static_cast<std::size_t>(runs - 1)];
    const auto packed = last.load(relaxed);
    if (PackedRun::worker(packed) == worker && PackedRun::count(packed) < UINT32_MAX) {
      last.store(packed + 1, relaxed);
      return;
    }
  }
  if (runs == kMaxChoiceRuns) {
    log_full.store(true, relaxed);
    return;
  }
  log[static_cast<std::size_t>(runs)].store(PackedRun::pack(worker, 1), relaxed);
  log_runs.store(runs + 1, relaxed);
}

void Block::log_node(const Decision& decision, int chosen) noexcept {
  const int n = node_count.load(relaxed);
  if (n == kMaxExploredNodes) {
    explored_full.store(true, relaxed);
    return;
  }
  const int current = decision.worker();
  auto& node = nodes[static_cast<std::size_t>(n)];
  node.eligible.store(decision.eligible(), relaxed);
  node.packed.store(static_cast<std::uint32_t>(current + 1) | (decision.eligible(current) ? 1U << 8 : 0U) |
                        static_cast<std::uint32_t>(chosen + 1) << 16,
                    relaxed);
  node_count.store(n + 1, relaxed);
}

void Block::log_step(int worker, Point point, int tag, const void* object, const StepLabel& label,
                     bool blocked) noexcept {
  const int n = step_count.load(relaxed);
  const auto pack = [&](bool is_blocked) {
    return static_cast<std::uint64_t>(worker + 1) | static_cast<std::uint64_t>(point) << 8 |
           static_cast<std::uint64_t>(is_blocked) << 16 | static_cast<std::uint64_t>(label.has_value) << 17 |
           static_cast<std::uint64_t>(static_cast<std::uint32_t>(tag)) << 32;
  };
  if (blocked && n > 0) {
    // The operation the worker just reached cannot go on: that step becomes its wait.
    auto& last = step_log[static_cast<std::size_t>(n - 1)];
    const auto packed = last.packed.load(relaxed);
    if (packed == pack(false) && last.object.load(relaxed) == object) {
      last.packed.store(packed | std::uint64_t{1} << 16, relaxed);
      return;
    }
  }
  if (n == kMaxExploredSteps) {
    explored_full.store(true, relaxed);
    return;
  }
  auto& step = step_log[static_cast<std::size_t>(n)];
  step.packed.store(pack(blocked), relaxed);
  step.object.store(object, relaxed);
  step.label.store(label.text, relaxed);
  step.value.store(label.value, relaxed);
  step_count.store(n + 1, relaxed);
}

int Block::choose(int worker, Point point, int tag, const Script* script) {
  WorkerSet can_run = eligible();
  if (can_run == 0) {
    // Nobody can run but sleepers: the virtual clock moves on to the first of them to wake.
    if (const WorkerSet sleepers = sleeping.load(relaxed); sleepers != 0) {
      std::int64_t first = INT64_MAX;
      for (int w = 0; w < workers; ++w)
        if (sleepers >> w & 1) first = std::min(first, seats[static_cast<std::size_t>(w)].wake_at.load(relaxed));
      virtual_now.store(first, relaxed);
      for (int w = 0; w < workers; ++w)
        if ((sleepers >> w & 1) && seats[static_cast<std::size_t>(w)].wake_at.load(relaxed) == first)
          set_status(w, Status::runnable);
      can_run = eligible();
    }
  }
  if (can_run == 0) {
    const WorkerSet left = unfinished.load(relaxed);
    if (left == 0) return -1; // everybody finished
    if (spinning.load(relaxed) != 0)
      reach_verdict(Verdict::livelock,
                    fmt::format("worker {} spins, waiting for what only a blocked worker could do (step {})",
                                names_of(spinning.load(relaxed)), steps.load(relaxed)));
    else
      reach_verdict(Verdict::frozen,
                    fmt::format("every unfinished worker ({}) is blocked, waiting for another (step {})",
                                names_of(left), steps.load(relaxed)));
    return -1;
  }
  const Decision decision(*this, worker, point, tag, can_run);
  int chosen = -1;
  if (std::has_single_bit(can_run)) {
    chosen = std::countr_zero(can_run); // no choice to make, and none to record
  } else {
    const int fallback = default_choice(decision);
    const int at = replay_at.load(relaxed);
    if (replaying && at < replay_runs) {
      const auto run = replay[static_cast<std::size_t>(at)].load(relaxed);
      const auto used = replay_used.load(relaxed) + 1;
      if (used == PackedRun::count(run)) {
        replay_at.store(at + 1, relaxed);
        replay_used.store(0, relaxed);
      } else {
        replay_used.store(used, relaxed);
      }
      chosen = PackedRun::worker(run) < 0 ? fallback : PackedRun::worker(run);
      if (!decision.eligible(chosen)) {
        reach_verdict(Verdict::mismatch,
                      fmt::format("choice {} names worker {}, who cannot run there (workers who can: {})",
                                  choices.load(relaxed) + 1, chosen, names_of(can_run)));
        return -1;
      }
    } else if (replaying) {
      chosen = fallback; // past the last choice of a replay: the default rule
    } else {
      chosen = script && *script ? (*script)(decision) : fallback;
      if (!decision.eligible(chosen)) chosen = fallback;
    }
    log_choice(chosen == fallback ? -1 : chosen);
    if (exploring) log_node(decision, chosen);
  }
  if (seats[static_cast<std::size_t>(chosen)].status.load(relaxed) == Status::spinning)
    set_status(chosen, Status::runnable);
  return chosen;
}

WorkerSet Block::ready(WorkerSet can_run) const noexcept {
  WorkerSet set = can_run;
  for (int w = 0; w < workers; ++w) {
    if (!(can_run >> w & 1)) continue;
    const Seat& seat = seats[static_cast<std::size_t>(w)];
    const Available available = seat.available.load(relaxed);
    const void* object = seat.blocked_on.load(relaxed);
    if (available != nullptr && object != nullptr && !available(object)) set &= ~only(w);
  }
  return set;
}

void Block::change_mode(Mode next) noexcept {
  mode.store(next, relaxed);
  handover_fence();
  for (int w = 0; w < workers; ++w) {
    auto& seat = seats[static_cast<std::size_t>(w)];
    seat.signal.store(kLook, relaxed);
    futex_wake(seat.signal);
  }
}

ControlRecord Block::record() const {
  ControlRecord r;
  r.controlled = true;
  std::vector<ChoiceRun> runs;
  for (int i = 0; i < log_runs.load(relaxed); ++i) {
    const auto packed = log[static_cast<std::size_t>(i)].load(relaxed);
    runs.push_back({PackedRun::worker(packed), PackedRun::count(packed)});
  }
  r.choices = encode_choices(runs);
  r.choices_complete = !log_full.load(relaxed);
  r.steps = steps.load(relaxed);
  r.switches = switches.load(relaxed);
  if (exploring) {
    for (int i = 0; i < node_count.load(relaxed); ++i) {
      const auto& node = nodes[static_cast<std::size_t>(i)];
      const auto packed = node.packed.load(relaxed);
      r.nodes.push_back({node.eligible.load(relaxed), static_cast<int>(packed & 0xff) - 1, (packed >> 8 & 1) != 0,
                         static_cast<int>(packed >> 16 & 0xff) - 1});
    }
    for (int i = 0; i < step_count.load(relaxed); ++i) {
      const auto& step = step_log[static_cast<std::size_t>(i)];
      const auto packed = step.packed.load(relaxed);
      r.step_log.push_back({static_cast<int>(packed & 0xff) - 1, static_cast<Point>(packed >> 8 & 0xff),
                            static_cast<int>(static_cast<std::uint32_t>(packed >> 32)), step.object.load(relaxed),
                            StepLabel{step.label.load(relaxed), step.value.load(relaxed), (packed >> 17 & 1) != 0},
                            (packed >> 16 & 1) != 0});
    }
    r.explored_complete = !explored_full.load(relaxed);
  }
  return r;
}

// ---- the worker's side ---------------------------------------------------------------------------

namespace {

// Parks until the turn comes back or the mode changes. Returns the mode it woke to.
Mode park(Session& s) {
  Block& b = *s.block;
  Seat& seat = b.seats[static_cast<std::size_t>(s.me)];
  for (;;) {
    const std::uint32_t signal = seat.signal.exchange(kWait, relaxed);
    handover_fence();
    const Mode mode = b.mode.load(relaxed);
    if (mode != Mode::controlled) return mode;
    if (signal == kGo && b.running.load(relaxed) == s.me) {
      b.resumed.store(s.me, relaxed);
      return mode;
    }
    if (signal == kWait) futex_wait(seat.signal, kWait);
  }
}

// Gives the turn to `next` (not the caller).
void hand_to(Block& b, int next) noexcept {
  b.running.store(next, relaxed);
  handover_fence();
  auto& seat = b.seats[static_cast<std::size_t>(next)];
  seat.signal.store(kGo, relaxed);
  futex_wake(seat.signal);
}

// What a worker does once the mode is no longer `controlled`. Given up: it runs freely from now on
// (false: the caller does its operation itself). Stopping: it leaves (WorkerStopped), unless it is
// in an operation that must not throw, which then goes on by itself.
bool leave_control(Mode mode, bool may_stop) {
  if (mode == Mode::free) {
    t_session = nullptr;
    return false;
  }
  if (may_stop) throw WorkerStopped{};
  return false;
}

// A verdict was reached: the run is over as far as the scheduler goes. The worker waits, parked,
// for the watchdog to end it.
bool wait_for_the_end(Session& s, bool may_stop) {
  if (s.verdict_reached) s.verdict_reached();
  for (;;) {
    const Mode mode = park(s);
    if (mode != Mode::controlled) return leave_control(mode, may_stop);
  }
}

// Whether the caller is still under control; handles every other case.
bool still_controlled(Session& s, bool may_stop) {
  const Mode mode = s.block->mode.load(relaxed);
  if (mode != Mode::controlled) return leave_control(mode, may_stop);
  if (s.block->verdict.load(relaxed) != Verdict::none) return wait_for_the_end(s, may_stop);
  return true;
}

void count_step(Block& b, Point point) noexcept {
  b.steps.store(b.steps.load(relaxed) + 1, relaxed);
  b.spins_in_a_row.store(point == Point::spin ? b.spins_in_a_row.load(relaxed) + 1 : 0, relaxed);
}

// Runs that would go on for ever under control: a spin on an atomic without spin_pause(), and
// a run without progress for too long.
void check_endless(Session& s, Point point, const void* object) noexcept {
  Block& b = *s.block;
  if (point == Point::atomic && b.atomic_worker.load(relaxed) == s.me && b.atomic_object.load(relaxed) == object) {
    const auto in_a_row = b.atomic_in_a_row.load(relaxed) + 1;
    b.atomic_in_a_row.store(in_a_row, relaxed);
    if (in_a_row == kSpinWithoutPause)
      b.reach_verdict(Verdict::livelock,
                      fmt::format("worker {} did the same atomic operation {} times in a row while nobody else ran "
                                  "and nothing got done: a spin loop must call hazardlab::spin_pause() on each turn, "
                                  "so that the worker it waits for can run (step {})",
                                  s.me, kSpinWithoutPause, b.steps.load(relaxed)));
  } else {
    b.atomic_worker.store(point == Point::atomic ? s.me : -1, relaxed);
    b.atomic_object.store(object, relaxed);
    b.atomic_in_a_row.store(1, relaxed);
  }
  const auto bound = b.exploring ? kExploreStepsWithoutProgress : kStepsWithoutProgress;
  if (b.steps.load(relaxed) - b.progress_step.load(relaxed) == bound)
    b.reach_verdict(Verdict::livelock,
                    fmt::format("no progress in {} steps: the workers kept going without getting anything done "
                                "(a wait loop must call hazardlab::spin_pause() on each turn)",
                                bound));
}

// The calling worker reaches a scheduling point: its seat says where, and the step is counted
// (and, exploring, recorded). Null once it is no longer under control (still_controlled() has
// dealt with that).
Seat* arrive(Session& s, Point point, int tag, bool may_stop, const void* object = nullptr, StepLabel label = {},
             bool blocked = false) {
  if (!still_controlled(s, may_stop)) return nullptr;
  Block& b = *s.block;
  Seat& seat = b.seats[static_cast<std::size_t>(s.me)];
  seat.at.store(point, relaxed);
  seat.tag.store(tag, relaxed);
  count_step(b, point);
  if (b.exploring) b.log_step(s.me, point, tag, object, label, blocked);
  check_endless(s, point, object);
  return &seat;
}

// After the caller's seat says where it is and whether it can go on: choose, and go on, hand over
// and park, or wait for the end. Returns whether the caller is still under control.
bool decide(Session& s, Point point, int tag, bool may_stop) {
  Block& b = *s.block;
  const int next = b.choose(s.me, point, tag, s.script);
  if (next == s.me) return true;
  if (next < 0) {
    if (b.verdict.load(relaxed) == Verdict::none) return true; // everybody finished (the caller is ending)
    return wait_for_the_end(s, may_stop);
  }
  b.switches.store(b.switches.load(relaxed) + 1, relaxed);
  hand_to(b, next);
  const Mode mode = park(s);
  if (mode != Mode::controlled) return leave_control(mode, may_stop);
  return still_controlled(s, may_stop);
}

} // namespace

void check_in(Block& b, int worker, const Script* script, std::function<void()> verdict_reached) {
  t_storage = Session{&b, worker, script, std::move(verdict_reached)};
  t_session = &t_storage;
  Seat& seat = b.seats[static_cast<std::size_t>(worker)];
  seat.tid.store(static_cast<pid_t>(::syscall(SYS_gettid)), relaxed);
  handover_fence(); // the seat is written before the arrival is counted (the last arrival reads it)
  // The last worker to arrive makes the run's first choice: nobody runs before all are there, so
  // the choice never depends on who was spawned first.
  const int arrived = b.checked_in.fetch_add(1, relaxed) + 1;
  if (arrived == b.workers) {
    handover_fence();
    const int first = b.choose(-1, Point::start, 0, script);
    if (first == worker) {
      b.running.store(worker, relaxed);
      b.resumed.store(worker, relaxed);
      return;
    }
    hand_to(b, first);
  }
  const Mode mode = park(t_storage);
  if (mode != Mode::controlled) leave_control(mode, true);
}

void finish() noexcept {
  Session* s = t_session;
  if (s == nullptr) return;
  Block& b = *s->block;
  if (b.mode.load(relaxed) == Mode::controlled && b.verdict.load(relaxed) == Verdict::none) {
    auto& seat = b.seats[static_cast<std::size_t>(s->me)];
    seat.at.store(Point::end, relaxed);
    b.set_status(s->me, Status::finished);
    count_step(b, Point::end);
    if (b.exploring) b.log_step(s->me, Point::end, 0, nullptr, {}, false);
    const int next = b.choose(s->me, Point::end, 0, s->script);
    if (next >= 0) {
      b.switches.store(b.switches.load(relaxed) + 1, relaxed);
      hand_to(b, next);
    } else if (b.verdict.load(relaxed) != Verdict::none && s->verdict_reached)
      s->verdict_reached();
  }
  t_session = nullptr;
}

void leave_session() noexcept { t_session = nullptr; }

bool ending() noexcept { return t_session != nullptr && t_session->block->mode.load(relaxed) == Mode::stopping; }

bool point(Point p, const void* object, int tag, bool may_stop, StepLabel label) {
  Session& s = *t_session;
  Seat* seat = arrive(s, p, tag, may_stop, object, label);
  if (seat == nullptr) return false;
  seat->blocked_on.store(nullptr, relaxed); // whatever it last waited for, it has got
  seat->available.store(nullptr, relaxed);
  if (p == Point::hazard) seat->hazard_points.store(seat->hazard_points.load(relaxed) + 1, relaxed);
  return decide(s, p, tag, may_stop);
}

bool begin_block(Point p, const void* object, Available available) {
  Session& s = *t_session;
  Seat* seat = arrive(s, p, 0, true, object, {}, /*blocked=*/true);
  if (seat == nullptr) return false;
  seat->blocked_on.store(object, relaxed);
  seat->available.store(available, relaxed);
  seat->blocked_since.store(s.block->steps.load(relaxed), relaxed);
  s.block->set_status(s.me, Status::blocked);
  return true;
}

bool park_blocked() {
  Session& s = *t_session;
  const Point p = s.block->seats[static_cast<std::size_t>(s.me)].at.load(relaxed);
  return decide(s, p, 0, true);
}

bool block_on(Point p, const void* object, Available available) {
  return begin_block(p, object, available) && park_blocked();
}

void wake(const void* object, bool all) {
  Session* s = t_session;
  if (s == nullptr) return;
  Block& b = *s->block;
  int longest = -1;
  for (int w = 0; w < b.workers; ++w) {
    const Seat& seat = b.seats[static_cast<std::size_t>(w)];
    if (seat.status.load(relaxed) != Status::blocked || seat.blocked_on.load(relaxed) != object) continue;
    if (all) {
      b.set_status(w, Status::runnable);
    } else if (longest < 0 || seat.blocked_since.load(relaxed) <
                                  b.seats[static_cast<std::size_t>(longest)].blocked_since.load(relaxed)) {
      longest = w;
    }
  }
  if (!all && longest >= 0) b.set_status(longest, Status::runnable);
}

void pause(std::int64_t microseconds) {
  Session& s = *t_session;
  Seat* seat = arrive(s, Point::pause, 0, true);
  if (seat == nullptr) return;
  Block& b = *s.block;
  seat->wake_at.store(b.virtual_now.load(relaxed) + std::max<std::int64_t>(microseconds, 1), relaxed);
  b.set_status(s.me, Status::sleeping);
  decide(s, Point::pause, 0, true);
}

void note_progress() noexcept {
  Session* s = t_session;
  if (s == nullptr) return;
  Block& b = *s->block;
  auto& seat = b.seats[static_cast<std::size_t>(s->me)];
  seat.progress.store(seat.progress.load(relaxed) + 1, relaxed);
  b.progress_epoch.store(b.progress_epoch.load(relaxed) + 1, relaxed);
  b.progress_step.store(b.steps.load(relaxed), relaxed);
  b.spins_in_a_row.store(0, relaxed);
  b.atomic_in_a_row.store(0, relaxed);
}

void note_attempt() noexcept {
  Session* s = t_session;
  if (s == nullptr) return;
  Block& b = *s->block;
  const auto epoch = b.progress_epoch.load(relaxed);
  auto& seat = b.seats[static_cast<std::size_t>(s->me)];
  std::uint64_t since = seat.attempt_epoch.load(relaxed) == epoch ? seat.attempts_since.load(relaxed) : 0;
  seat.attempt_epoch.store(epoch, relaxed);
  seat.attempts_since.store(++since, relaxed);
  if (since != kLivelockAttempts) return;
  // Has every unfinished worker tried this often since anybody last got anywhere?
  const WorkerSet left = b.unfinished.load(relaxed);
  for (int w = 0; w < b.workers; ++w) {
    const auto& other = b.seats[static_cast<std::size_t>(w)];
    if ((left >> w & 1) &&
        (other.attempt_epoch.load(relaxed) != epoch || other.attempts_since.load(relaxed) < kLivelockAttempts))
      return;
  }
  b.reach_verdict(Verdict::livelock,
                  fmt::format("every unfinished worker tried {} times in lockstep since the last unit of work, and "
                              "none got anywhere (step {})",
                              kLivelockAttempts, b.steps.load(relaxed)));
  if (s->verdict_reached) s->verdict_reached();
}

// ---- the guard -----------------------------------------------------------------------------------

namespace {

// What the kernel says of a thread now: its time on a CPU (schedstat) and its state (stat: R running
// or waiting for a CPU, S or D asleep). The state is read, not worked out from schedstat's times:
// a thread waiting in the run queue has that wait added there only once it gets a CPU, so beside
// busy programs a holder that waited 200 ms for one looked blocked for 200 ms, and control was
// given up in one explored run of 1,630.
struct ThreadNow {
  std::uint64_t cpu_ns = 0;
  char state = '?';
};
std::optional<ThreadNow> thread_now(pid_t tid) {
  // Read with the C library, which reports errors rather than throwing: a thread that ends while
  // it is being read makes read() fail with ESRCH, which std::ifstream turns into an exception.
  const auto read = [tid](const char* file) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/%s", static_cast<int>(tid), file);
    std::string text;
    if (std::FILE* in = std::fopen(path, "r")) {
      char buffer[512];
      const std::size_t got = std::fread(buffer, 1, sizeof buffer, in);
      text.assign(buffer, got);
      std::fclose(in);
    }
    return text;
  };
  ThreadNow now;
  const std::string schedstat = read("schedstat");
  const std::string stat = read("stat"); // "tid (name) S ...": the name may hold spaces and parentheses
  const auto name_end = stat.rfind(')');
  if (std::sscanf(schedstat.c_str(), "%" SCNu64, &now.cpu_ns) != 1 || name_end == std::string::npos ||
      name_end + 2 >= stat.size())
    return std::nullopt;
  now.state = stat[name_end + 2];
  return now;
}

// What a look counts at most (the watchdog looks every 10 ms).
constexpr std::int64_t kMostPerLook = 20'000'000;

// How long the worker holding the turn may stay away from the scheduling points, on a CPU or
// blocked, before control is given up. A sanitizer's report and valgrind's slowdown run inside the
// worker: much more there. ThreadSanitizer symbolizing its first race takes some 350 ms of CPU here
// on an idle machine, and took 707 ms in CI with other tests beside it (on a virtual machine a
// thread's CPU time includes what the host stole from it).
std::int64_t guard_ns() {
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  constexpr bool sanitized = true;
#else
  constexpr bool sanitized = false;
#endif
  const std::int64_t bound = 200'000'000; // 200 ms
  return sanitized || RUNNING_ON_VALGRIND ? 25 * bound : bound;
}

} // namespace

std::string Guard::look() {
  const Block& b = *block_;
  if (b.mode.load(relaxed) != Mode::controlled || b.verdict.load(relaxed) != Verdict::none) return {};
  const int holder = b.running.load(relaxed);
  const auto steps = b.steps.load(relaxed);
  // Only a holder that has woken up with the turn is timed: until then the delay is its waker's
  // (on a loaded machine the waker may wait for a CPU between giving the turn and the wake-up).
  if (holder < 0 || holder != holder_ || steps != steps_ || b.resumed.load(relaxed) != holder) {
    holder_ = holder;
    steps_ = steps;
    stale_ = false;
    return {};
  }
  const pid_t tid = b.seats[static_cast<std::size_t>(holder)].tid.load(relaxed);
  const std::optional<ThreadNow> thread = thread_now(tid);
  const std::int64_t now = now_ns();
  if (!stale_) {
    stale_ = true;
    since_ns_ = last_look_ns_ = now;
    cpu0_ = thread ? thread->cpu_ns : 0;
    runnable_ns_ = blocked_ns_ = 0;
    return {};
  }
  // Each look counts the time since the one before as the state it finds the holder in, at most
  // kMostPerLook: a watchdog kept from its CPU for a while sees one state, not what happened.
  const std::int64_t since_last = std::min(now - last_look_ns_, kMostPerLook);
  last_look_ns_ = now;
  const std::int64_t bound = guard_ns();
  if (!thread) {
    if (now - since_ns_ < 5 * bound) return {};
    return fmt::format("worker {} stayed away from the scheduling points for {} ms: a spin loop must call "
                       "hazardlab::spin_pause() on each turn, and a wait must use the form's primitives",
                       holder, (now - since_ns_) / 1'000'000);
  }
  if (thread->state == 'R') runnable_ns_ += since_last;
  if (thread->state == 'S' || thread->state == 'D') blocked_ns_ += since_last;
  // On a CPU (a spin) and asleep (blocked outside the kit) are each held to the bound. Waiting for
  // a CPU counts with the time on one, against 4 times the bound: a loaded machine stretches a
  // holder's work by the number of programs that share the cores, never by 4 times the bound over
  // that work (TSan's first report: 0.7 s of CPU, 20 s). But a spin loop that yields the CPU on
  // each turn gets almost none of it beside busy programs (4 ms a second beside 4 busy loops here):
  // it is found running or waiting for a CPU, look after look.
  const auto on_cpu = static_cast<std::int64_t>(thread->cpu_ns - cpu0_);
  if (on_cpu >= bound || runnable_ns_ >= 4 * bound)
    return fmt::format("worker {} ran {} ms on a CPU ({} ms running or waiting for one) without reaching a "
                       "scheduling point: a spin loop must call hazardlab::spin_pause() on each turn",
                       holder, on_cpu / 1'000'000, runnable_ns_ / 1'000'000);
  if (blocked_ns_ >= bound)
    return fmt::format("worker {} was blocked for {} ms outside the kit's primitives: use the form's own "
                       "(Form::Mutex, Form::Semaphore, Form::ConditionVariable)",
                       holder, blocked_ns_ / 1'000'000);
  return {};
}

} // namespace control

// ---- the script side -----------------------------------------------------------------------------

std::string_view to_string(Point point) noexcept {
  switch (point) {
  case Point::start:
    return "start";
  case Point::hazard:
    return "hazard point";
  case Point::tagged:
    return "scheduling point";
  case Point::lock:
    return "lock";
  case Point::try_lock:
    return "try_lock";
  case Point::unlock:
    return "unlock";
  case Point::acquire:
    return "acquire";
  case Point::try_acquire:
    return "try_acquire";
  case Point::release:
    return "release";
  case Point::wait:
    return "wait";
  case Point::notify:
    return "notify";
  case Point::spin:
    return "spin";
  case Point::pause:
    return "pause";
  case Point::atomic:
    return "atomic";
  case Point::end:
    return "end";
  }
  return "?";
}

namespace {
const control::Seat& seat_of(const control::Block& b, int w) { return b.seats[static_cast<std::size_t>(w)]; }
} // namespace

int Decision::next_after(int w, WorkerSet among) const noexcept {
  const int n = block_->workers;
  const WorkerSet set = eligible_ & among;
  const auto first_in = [&](WorkerSet candidates) {
    for (int i = 1; i <= n; ++i) {
      const int candidate = ((w < 0 ? -1 : w) + i + n) % n;
      if (candidates >> candidate & 1) return candidate;
    }
    return -1;
  };
  const int ready = first_in(block_->ready(set));
  return ready >= 0 ? ready : first_in(set);
}
int Decision::workers() const noexcept { return block_->workers; }
Point Decision::at(int w) const noexcept { return seat_of(*block_, w).at.load(std::memory_order_relaxed); }
int Decision::tag_of(int w) const noexcept { return seat_of(*block_, w).tag.load(std::memory_order_relaxed); }
std::uint64_t Decision::hazard_points(int w) const noexcept {
  return seat_of(*block_, w).hazard_points.load(std::memory_order_relaxed);
}
std::uint64_t Decision::progress(int w) const noexcept {
  return seat_of(*block_, w).progress.load(std::memory_order_relaxed);
}
bool Decision::finished(int w) const noexcept {
  return seat_of(*block_, w).status.load(std::memory_order_relaxed) == control::Status::finished;
}
bool Decision::blocked(int w) const noexcept {
  return seat_of(*block_, w).status.load(std::memory_order_relaxed) == control::Status::blocked;
}

int default_choice(const Decision& d) noexcept {
  return d.eligible(d.worker()) ? d.worker() : d.next_after(d.worker());
}

namespace scripts {
Script lockstep(int rounds) {
  return [rounds](const Decision& d) {
    if (d.point() == Point::hazard && d.hazard_points(d.worker()) <= static_cast<std::uint64_t>(rounds))
      return d.next_after(d.worker());
    return default_choice(d);
  };
}
} // namespace scripts

void spin_pause() {
  using namespace control;
  if (!active()) {
    std::this_thread::yield();
    return;
  }
  Session& s = *t_session;
  Seat* seat = arrive(s, Point::spin, 0, true);
  if (seat == nullptr) {
    std::this_thread::yield();
    return;
  }
  Block& b = *s.block;
  seat->spun_at.store(b.steps.load(relaxed), relaxed);
  b.set_status(s.me, Status::spinning);
  if (b.spins_in_a_row.load(relaxed) > kLivelockAttempts * static_cast<std::uint64_t>(b.workers)) {
    b.reach_verdict(control::Verdict::livelock,
                    fmt::format("the workers spun {} times in a row, and nothing else happened (step {})",
                                b.spins_in_a_row.load(relaxed), b.steps.load(relaxed)));
    wait_for_the_end(s, true);
    return;
  }
  decide(s, Point::spin, 0, true);
}

// ---- the choices as text -------------------------------------------------------------------------

namespace {

std::string token(const ChoiceRun& run) {
  if (run.worker < 0) return fmt::format("+{}", run.count);
  return run.count == 1 ? fmt::format("{}", run.worker) : fmt::format("{}*{}", run.worker, run.count);
}

// One pass: a group of up to 64 tokens repeated twice or more is written once, "(1,0)*99".
std::vector<std::string> fold_repeats(const std::vector<std::string>& tokens) {
  std::vector<std::string> out;
  const std::size_t n = tokens.size();
  for (std::size_t i = 0; i < n;) {
    std::size_t best_period = 0, best_repeats = 1;
    for (std::size_t period = 2; period <= 64 && i + 2 * period <= n; ++period) {
      std::size_t repeats = 1;
      while (i + (repeats + 1) * period <= n &&
             std::equal(tokens.begin() + static_cast<std::ptrdiff_t>(i),
                        tokens.begin() + static_cast<std::ptrdiff_t>(i + period),
                        tokens.begin() + static_cast<std::ptrdiff_t>(i + repeats * period)))
        ++repeats;
      if (repeats >= 2 && (repeats - 1) * period > (best_repeats - 1) * best_period) {
        best_period = period;
        best_repeats = repeats;
      }
    }
    if (best_period == 0) {
      out.push_back(tokens[i++]);
      continue;
    }
    std::vector<std::string> group(tokens.begin() + static_cast<std::ptrdiff_t>(i),
                                   tokens.begin() + static_cast<std::ptrdiff_t>(i + best_period));
    out.push_back(fmt::format("({})*{}", fmt::join(group, ","), best_repeats));
    i += best_period * best_repeats;
  }
  return out;
}

} // namespace

std::string encode_choices(const std::vector<ChoiceRun>& runs) {
  std::vector<std::string> tokens;
  for (const auto& run : runs)
    tokens.push_back(token(run));
  // Repeats of repeats too: "((+2,1,+2,2)*2,(+2,0,+2,1)*2)*500".
  for (int pass = 0; pass < 3; ++pass) {
    auto folded = fold_repeats(tokens);
    if (folded.size() == tokens.size()) break;
    tokens = std::move(folded);
  }
  return fmt::format("{}", fmt::join(tokens, ","));
}

namespace {

class ChoiceParser {
public:
  ChoiceParser(std::string_view text, int workers) : text_(text), workers_(workers) {}

  std::vector<ChoiceRun> parse() {
    std::vector<ChoiceRun> runs;
    if (text_.empty()) return runs; // no choice at all: a run in which only one worker could ever go on
    list(runs, 0);
    if (pos_ != text_.size()) fail(fmt::format("unexpected '{}'", text_[pos_]));
    return runs;
  }

private:
  [[noreturn]] void fail(const std::string& why) const {
    throw std::invalid_argument(fmt::format("{} at character {} of '{}'", why, pos_ + 1, text_));
  }
  bool take(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  std::uint64_t number() {
    std::uint64_t value = 0;
    const auto* begin = text_.data() + pos_;
    const auto [end, error] = std::from_chars(begin, text_.data() + text_.size(), value);
    if (error != std::errc{} || end == begin) fail("expected a number");
    pos_ += static_cast<std::size_t>(end - begin);
    return value;
  }
  void add(std::vector<ChoiceRun>& runs, int worker, std::uint64_t count) {
    if (count == 0 || count > UINT32_MAX) fail("a count must be 1 to 4294967295");
    if (!runs.empty() && runs.back().worker == worker &&
        static_cast<std::uint64_t>(runs.back().count) + count <= UINT32_MAX) {
      runs.back().count += static_cast<std::uint32_t>(count);
      return;
    }
    if (runs.size() >= static_cast<std::size_t>(control::kMaxChoiceRuns)) fail("too many choices");
    runs.push_back({worker, static_cast<std::uint32_t>(count)});
  }
  void list(std::vector<ChoiceRun>& runs, int depth) {
    if (depth > 8) fail("groups nested too deep");
    do {
      if (take('+')) {
        add(runs, -1, number());
      } else if (take('(')) {
        std::vector<ChoiceRun> group;
        list(group, depth + 1);
        if (!take(')')) fail("expected ')'");
        if (!take('*')) fail("expected '*' after a group");
        const auto repeats = number();
        if (repeats == 0 || repeats * group.size() > static_cast<std::uint64_t>(control::kMaxChoiceRuns))
          fail("a group must repeat 1 to 65,536 runs in all");
        for (std::uint64_t r = 0; r < repeats; ++r)
          for (const auto& run : group)
            add(runs, run.worker, run.count);
      } else {
        const auto worker = number();
        if (worker >= static_cast<std::uint64_t>(kMaxWorkers) ||
            (workers_ > 0 && worker >= static_cast<std::uint64_t>(workers_)))
          fail(fmt::format("worker {} is not one of the run's workers (0 to {})", worker,
                           (workers_ > 0 ? workers_ : kMaxWorkers) - 1));
        add(runs, static_cast<int>(worker), take('*') ? number() : 1);
      }
    } while (take(','));
  }

  std::string_view text_;
  int workers_;
  std::size_t pos_ = 0;
};

thread_local ControlRecord t_record;

} // namespace

std::vector<ChoiceRun> decode_choices(std::string_view text, int workers) {
  return ChoiceParser(text, workers).parse();
}

ControlRecord take_control_record() { return std::exchange(t_record, ControlRecord{}); }

namespace {
std::atomic<bool> g_naming{false};
std::mutex g_names_mutex;
std::unordered_map<const void*, std::string> g_names;
} // namespace

void name_object(const void* object, std::string name) {
  if (!naming_objects()) return;
  const std::scoped_lock lock(g_names_mutex);
  g_names[object] = std::move(name);
}
bool naming_objects() noexcept { return g_naming.load(std::memory_order_relaxed); }
void want_object_names(bool wanted) {
  g_naming.store(wanted, std::memory_order_relaxed);
  if (wanted) return;
  const std::scoped_lock lock(g_names_mutex);
  g_names.clear();
}
std::string object_name(const void* object) {
  const std::scoped_lock lock(g_names_mutex);
  const auto it = g_names.find(object);
  return it == g_names.end() ? std::string() : it->second;
}

namespace control {
void keep_record(ControlRecord record) { t_record = std::move(record); }
} // namespace control

} // namespace hazardlab
