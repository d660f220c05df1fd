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

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <vector>

namespace hazardlab {

inline constexpr int kMaxWorkers = 64;

// One worker's counters, on a cache line of its own so that reporting progress does not make
// the workers share (and fight over) a line.
struct alignas(64) WorkerSlot {
  std::atomic<std::uint64_t> progress{0};   // units of real work done
  std::atomic<std::uint64_t> attempts{0};   // tries, successful or not (livelock shows here)
  std::atomic<std::int64_t> finished_ns{0}; // steady clock when the body returned; 0 while running
};

// What a worker's code sees of the run.
class Worker {
public:
  Worker(int id, WorkerSlot& slot, std::stop_token stop) noexcept : id_(id), slot_(&slot), stop_(std::move(stop)) {}

  int id() const noexcept { return id_; }
  // Only this worker writes its slot, so a relaxed load+store is enough: no lock-prefixed
  // instruction, no fence, nothing that would order the lab's own (racy) accesses.
  void progressed(std::uint64_t units = 1) noexcept { bump(slot_->progress, units); }
  void attempted(std::uint64_t tries = 1) noexcept { bump(slot_->attempts, tries); }
  // Set in the thread form when the watchdog abandons the run; a worker that spins (livelock)
  // may check it to stop burning CPU. The process form kills its children instead.
  bool stop_requested() const noexcept { return stop_.stop_requested(); }

private:
  static void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  int id_;
  WorkerSlot* slot_;
  std::stop_token stop_;
};

using WorkerBody = std::function<void(Worker&)>;

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
  double elapsed_ms = 0;               // from the start barrier's release to the end
};

WorkersReport run_workers(FormKind form, int workers, std::chrono::milliseconds timeout, const WorkerBody& body);

template <class Form>
WorkersReport run_workers(int workers, std::chrono::milliseconds timeout, const WorkerBody& body) {
  return run_workers(Form::kind, workers, timeout, body);
}

} // namespace hazardlab
