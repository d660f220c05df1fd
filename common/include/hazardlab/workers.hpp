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
// The body must capture by value or point into placed shared state: in the thread form a stuck
// worker is abandoned, not joined, and may still run after run_workers() has returned.
#include "hazardlab/forms.hpp"
#include "hazardlab/schedule.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

namespace hazardlab {

inline constexpr int kMaxWorkers = 64;

// One worker's counters, on a cache line of its own so that reporting progress does not make
// the workers share (and fight over) a line.
struct alignas(64) WorkerSlot {
  std::atomic<std::uint64_t> progress{0};   // units of real work done
  std::atomic<std::uint64_t> attempts{0};   // tries, successful or not (livelock shows here)
  std::atomic<std::int64_t> finished_ns{0}; // steady clock when the body returned; 0 while running
  std::atomic<std::int64_t> cpu_ns{0};      // the thread's CPU time when the body returned (the process
                                            // form reports the child's rusage instead)
};

// Thrown by Worker::stop_if_requested() once the watchdog has abandoned a thread-form run; the
// worker's thread then ends quietly (it is not reported as finished, nor as crashed).
struct WorkerStopped {};

// How long, at most, a forced run's first hazard point waits for the other workers to arrive,
// counted from the first arrival of its group. A correct fix can keep its hazard point inside a
// critical section, where the others cannot arrive: it then pays this wait once per run and goes
// on.
inline constexpr std::chrono::milliseconds kForcedMeetingPatience{250};

// At the deadline the watchdog watches the board this long more before it gives up on the
// workers, to tell a frozen run (nothing moves) from one that is only too slow.
inline constexpr std::chrono::milliseconds kDeadlineLook{100};

// What a worker's code sees of the run.
class Worker {
public:
  Worker(int id, WorkerSlot& slot, std::stop_token stop, Schedule schedule, std::function<void()> meet_all) noexcept
      : id_(id), slot_(&slot), stop_(std::move(stop)), schedule_(schedule), meet_all_(std::move(meet_all)) {}

  int id() const noexcept { return id_; }

  // A hazard point marks where broken code is exposed: between a read and its write, between
  // taking one lock and the next. Under the natural schedule it does nothing. Under the forced
  // schedule:
  //  - the first time, it waits until every worker (of its meeting group, see run_workers) has
  //    reached its own first hazard point (at most kForcedMeetingPatience after the first of them
  //    arrived), so all of them are inside the window together and the bad interleaving happens
  //    on every run, on any number of cores;
  //  - every later time, it yields, giving the CPU to another worker inside the window.
  // Neither orders anything (the meeting is a relaxed atomic count), so the racing accesses stay
  // unordered and ThreadSanitizer and Helgrind still see the race.
  void hazard_point() {
    if (schedule_ != Schedule::forced) return;
    if (!met_) {
      met_ = true;
      meet_all_();
      return;
    }
    std::this_thread::yield();
  }
  // Only this worker writes its slot, so a relaxed load+store is enough: no lock-prefixed
  // instruction, no fence, nothing that would order the lab's own (racy) accesses.
  void progressed(std::uint64_t units = 1) noexcept { bump(slot_->progress, units); }
  void attempted(std::uint64_t tries = 1) noexcept { bump(slot_->attempts, tries); }
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
  Schedule schedule_;
  std::function<void()> meet_all_;
  bool met_ = false;
};

using WorkerBody = std::function<void(Worker&)>;

// The id of the worker running on this thread (run_workers sets it before the body runs), or -1
// outside a worker. Code that only has a lock, not the Worker, uses it (traced_lock.hpp).
int current_worker() noexcept;

struct WorkersReport {
  enum class Ending {
    finished,  // every worker's body returned
    timed_out, // the deadline passed first (the process form killed and reaped the children)
    crashed,   // a worker threw, exited or was killed by a signal
  };
  Ending ending = Ending::finished;
  std::string what;                    // for timed_out and crashed: what the watchdog saw
  std::vector<std::uint64_t> progress; // per worker
  std::vector<std::uint64_t> attempts; // per worker
  std::vector<bool> finished;          // per worker
  // Per worker, the CPU time it burned (the thread's CPU clock; the child's rusage, user + system):
  // a frozen worker burns none, a livelocked one as much as it can get.
  std::vector<double> cpu_ms;
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

// `meeting_groups` (one number per worker, or empty for a single group) says who meets whom at
// the forced schedule's first hazard point: workers of different roles whose windows never
// overlap (producers putting, consumers taking) each meet their own kind instead of waiting out
// the patience for workers that cannot come.
WorkersReport run_workers(FormKind form, int workers, std::chrono::milliseconds timeout, const WorkerBody& body,
                          Schedule schedule = Schedule::natural, const std::vector<int>& meeting_groups = {});

template <class Form>
WorkersReport run_workers(int workers, std::chrono::milliseconds timeout, const WorkerBody& body,
                          Schedule schedule = Schedule::natural, const std::vector<int>& meeting_groups = {}) {
  return run_workers(Form::kind, workers, timeout, body, schedule, meeting_groups);
}

} // namespace hazardlab
