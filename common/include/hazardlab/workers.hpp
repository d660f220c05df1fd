#pragma once
// Spawning a run's workers, lining them up, and watching them against a deadline.
//
//   auto report = run_workers<Form>(workers, timeout, [state](Worker& w) { ... });
//
// Every worker waits at a start barrier before its body runs, so the workers really overlap (a
// fork loop without one runs the first children to completion before the last is born). Each
// worker reports progress into its own slot of a board in shared memory; the watchdog (the
// parent process, or the main thread) compares the deadline with that board.
//
// A controlled run (RunOptions::schedule forced or replay) is run by the scheduler of control.hpp
// instead: one worker at a time, from the start (the start barrier's place) to the end, and a run
// in which every unfinished worker is blocked is stuck at once.
//
// The body must capture by value or point into placed shared state: in the thread form a worker
// of a natural run that is stuck at its deadline is abandoned, not joined, and may still run after
// run_workers() has returned. (A controlled run's workers are stopped and joined.)
#include "hazardlab/control.hpp"
#include "hazardlab/forms.hpp"
#include "hazardlab/schedule.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

namespace hazardlab {

namespace timeline { // timeline.hpp
void at_hazard_point() noexcept;
void at_progress() noexcept;
} // namespace timeline

// One worker's counters, on a cache line of its own so that reporting progress does not make
// the workers share (and fight over) a line.
struct alignas(64) WorkerSlot {
  std::atomic<std::uint64_t> progress{0};   // units of real work done
  std::atomic<std::uint64_t> attempts{0};   // tries, successful or not (livelock shows here)
  std::atomic<std::int64_t> finished_ns{0}; // steady clock when the body returned; 0 while running
  std::atomic<std::int64_t> cpu_ns{0};      // the thread's CPU time when the body returned (the process
                                            // form reports the child's rusage instead)
  std::atomic<std::int64_t> body_cpu_ns{0}; // the CPU time the body burned, from the start barrier's
                                            // release to its end (WorkersReport::body_cpu_ms)
};

// At the deadline the watchdog watches the board this long more before it gives up on the
// workers, to tell a frozen run (nothing moves) from one that is only too slow.
inline constexpr std::chrono::milliseconds kDeadlineLook{100};

// What a worker's code sees of the run.
class Worker {
public:
  Worker(int id, WorkerSlot& slot, std::stop_token stop) noexcept : id_(id), slot_(&slot), stop_(std::move(stop)) {}

  int id() const noexcept { return id_; }

  // A hazard point marks where broken code is exposed: between a read and its write, between
  // taking one lock and the next. Under the natural schedule it does nothing. In a controlled run
  // it is a scheduling point: the lab's script may let other workers run here, so that, for
  // instance, every worker reads the counter before any writes it back. The hand-over orders
  // nothing, so ThreadSanitizer and Helgrind still see the race.
  //
  // `label` names the step in an explored schedule's table: hazard_point("read counter", seen)
  // shows as "read counter = 41". It must be a string literal.
  void hazard_point(const char* label = nullptr) {
    timeline::at_hazard_point();
    if (control::active()) control::point(Point::hazard, nullptr, 0, true, {label});
  }
  template <class Value>
  void hazard_point(const char* label, const Value& value) {
    timeline::at_hazard_point();
    if (control::active())
      control::point(Point::hazard, nullptr, 0, true, {label, static_cast<std::int64_t>(value), true});
  }
  // A scheduling point of the lab's own (not a hazard): its script sees `tag` (Decision::tag) and
  // may choose who runs next. Nothing under the natural schedule.
  // `label` (a string literal) names the step in an explored schedule's table.
  void scheduling_point(int tag, const char* label = nullptr) {
    if (control::active()) control::point(Point::tagged, nullptr, tag, true, {label});
  }
  // A pause that burns CPU, as a polite retry loop's does: under the natural schedule a spin for
  // `length`; in a controlled run a pause on the run's virtual clock, which moves on only when
  // nobody else can run, so pauses of the same length end together, on any machine.
  void pause_for(std::chrono::microseconds length);
  // Only this worker writes its slot, so a relaxed load+store is enough: no lock-prefixed
  // instruction, no fence, nothing that would order the lab's own (racy) accesses.
  void progressed(std::uint64_t units = 1) noexcept {
    bump(slot_->progress, units);
    timeline::at_progress();
    if (control::active()) control::note_progress();
  }
  void attempted(std::uint64_t tries = 1) noexcept {
    bump(slot_->attempts, tries);
    if (control::active()) control::note_attempt();
  }
  // Set in the thread form when the watchdog abandons the run; a worker that spins (livelock)
  // may check it to stop burning CPU. The process form kills its children instead.
  bool stop_requested() const noexcept { return stop_.stop_requested(); }
  // For the loops of a spinning worker: leaves the body (throws WorkerStopped) once stop is
  // requested.
  void stop_if_requested() const {
    if (stop_requested()) throw WorkerStopped{};
  }

private:
  static void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  int id_;
  WorkerSlot* slot_;
  std::stop_token stop_;
};

using WorkerBody = std::function<void(Worker&)>;

// The id of the worker running on this thread (run_workers sets it before the body runs), or -1
// outside a worker. Code that only has a lock, not the Worker, uses it (traced_lock.hpp).
int current_worker() noexcept;

struct WorkersReport {
  enum class Ending {
    finished,   // every worker's body returned
    timed_out,  // the deadline passed first (the process form killed and reaped the children)
    crashed,    // a worker threw, exited or was killed by a signal
    frozen,     // every unfinished worker was blocked, waiting for another: seen by the scheduler
                // of a controlled run at once, or in a natural run as a cycle in the wait-for graph
                // that stayed put for kCycleLook
    livelocked, // a controlled run's workers kept attempting in lockstep, and none progressed
  };
  Ending ending = Ending::finished;
  std::string what;                    // for timed_out and crashed: what the watchdog saw
  std::vector<std::uint64_t> progress; // per worker
  std::vector<std::uint64_t> attempts; // per worker
  std::vector<bool> finished;          // per worker
  // Per worker, the CPU time it burned (the thread's CPU clock; the child's rusage, user + system):
  // a frozen worker burns none, a livelocked one as much as it can get.
  std::vector<double> cpu_ms;
  // Per worker, the CPU time its body burned from the start barrier's release to the body's end,
  // read by the worker itself at both ends: the thread's CPU clock in the thread form, the child's
  // process clock in the process form (the child is the worker). So it lies inside elapsed_ms, in
  // both forms alike: fork's page faults before the barrier and exit's teardown after the body are
  // not in it (they are in cpu_ms's rusage). Summed over the workers and divided by elapsed_ms, the
  // cores the workers really used. 0 for a worker whose body did not end (stopped, killed).
  std::vector<double> body_cpu_ms;
  double elapsed_ms = 0; // from the start barrier's release to the end
  // Every worker has stopped touching the shared state: finished, or killed and reaped. False
  // after a thread-form timeout, whose abandoned threads may still be running: read no state then.
  bool all_stopped = true;
  // For timed_out: whether any worker's progress (or attempts) still changed during the
  // kDeadlineLook after the deadline. A frozen run moves neither; a livelocked one only attempts.
  bool still_progressing = false;
  std::uint64_t attempts_during_look = 0;                                     // all workers' attempts during that look
  bool still_attempting() const noexcept { return attempts_during_look > 0; } // attempts only ever grow
};

// How a run is scheduled, and what the watchdog may look at.
struct RunOptions {
  RunOptions(Schedule schedule_ = Schedule::natural) : schedule(schedule_) {} // NOLINT: a schedule is options
  Schedule schedule;
  std::vector<ChoiceRun> replay; // Schedule::replay: the choices to make
  // Schedule::forced: who runs at each choice (control.hpp); empty: the default rule alone.
  Script script;
  // Runs of labs with traced locks that are not (or no longer) controlled: what the wait-for graph
  // says is stuck, given which workers have finished (WaitForGraph::stuck_text: a cycle, or every
  // unfinished worker waiting for what only finished or frozen workers could give), as text; ""
  // when nothing is. What stays the same, with no worker moving, for kCycleLook ends the run as
  // frozen before its deadline.
  std::function<std::string(const std::vector<bool>& finished)> frozen;
  // A recorded run (--timeline, --trace): what to call the stretch from each hazard point to the
  // worker's next progress (Worker::progressed()), drawn as a window of its own: the race's
  // "between read and write". Empty: hazard points mark nothing.
  std::string timeline_window;
  bool controlled() const noexcept { return schedule != Schedule::natural; }
};

// How long what a natural run's wait-for graph says is stuck must stay put, with no progress
// anywhere, to end the run before its deadline.
inline constexpr std::chrono::milliseconds kCycleLook{50};

// Thrown by run_workers when --schedule replay names a worker that cannot run at that choice: the
// choices do not fit the run (a usage error, exit 2).
struct ScheduleMismatch : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

WorkersReport run_workers(FormKind form, int workers, std::chrono::milliseconds timeout, const WorkerBody& body,
                          const RunOptions& options = {});

template <class Form>
WorkersReport run_workers(int workers, std::chrono::milliseconds timeout, const WorkerBody& body,
                          const RunOptions& options = {}) {
  return run_workers(Form::kind, workers, timeout, body, options);
}

} // namespace hazardlab
