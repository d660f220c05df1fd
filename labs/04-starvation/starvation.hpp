#pragma once
// Lab 04 — starvation: the contract your exercise works with.
//
// Starvation is a worker that wants in and is passed over, again and again, while the others get
// their work done. Nothing is stuck (that would be a deadlock) and nobody is busy getting nowhere
// (a livelock): the run makes progress, just never for this one worker.
//
// Two scenarios:
//   readers-writers  --readers readers keep reading a shared value, --writers writers now and
//                    then want to change it. Readers may read together; a writer needs the room
//                    to itself. A lock that lets a reader in whenever another reader is inside
//                    lets the readers keep the room forever, and the writer waits.
//   greedy           workers share one lock. Worker 0, the greedy one, releases it and takes it
//                    straight back; the others (its rivals) do a little work of their own between
//                    turns. A lock that hands nothing over leaves them out.
//
// A variant is a class template over the form (ThreadForm or ProcessForm, see
// common/include/hazardlab/forms.hpp) with the lock for its scenario:
//   struct ReadersWriterLock { void lock_shared(Turn&); void unlock_shared();
//                              void lock(Turn&); void unlock(); };     readers-writers
//   struct Lock { void lock(Turn&); void unlock(); };                  greedy
// Each worker calls them around every operation: lock (or lock_shared), its section, unlock.
// The lock is placed in memory every worker reaches, processes included, so it must be built from
// the form's primitives: typename Form::Mutex, typename Form::Semaphore, or
// typename Form::template Atomic<T> (a lock-free std::atomic whose every operation is a
// scheduling point, so --schedule explore can run another worker between any two of them).
//
// Scheduling points: under --schedule forced and explore, only the form's primitives and
// hazardlab::spin_pause() let the kit's scheduler choose who runs next. A loop that waits by
// spinning must call hazardlab::spin_pause() on each turn, or the worker it waits for never runs.
// A std::mutex or std::this_thread::yield() of your own is invisible to the scheduler.
//
// The invariant, checked at every entry and judged at the end of every run:
//  - exclusion: a writer, or a greedy-scenario turn, is alone inside; readers may share the room.
//  - no writer starves (readers-writers), and no worker starves (greedy). A worker starved if it
//    got less than a tenth of an equal share of the operations done while everyone still had
//    work, and was overtaken in one wait by at least as many entries as there are workers: more
//    than a first-come, first-served lock ever allows. Readers are not promised a fair share
//    among themselves.
//
// How a run is driven and judged (run.hpp, judge.hpp) is not yours to read or change: only
// exercise.hpp is collected and graded.
#include "hazardlab/control.hpp"
#include "hazardlab/forms.hpp"
#include "hazardlab/toolkit.hpp"

#include <atomic>
#include <cstdint>
#include <mutex>

namespace starvation {

// One worker's one request for the lock. The worker is in line from the moment it asks, unless
// your lock says later where its line really starts: call in_line() then. A ticket lock's line
// starts when the ticket is drawn, not while the worker is still walking up to the counter. Every
// entry by another worker from then until this worker gets in overtakes it.
class Turn {
public:
  // `entries` counts every entry into the lock. It is read (here and in in_line()) and added to
  // with sequentially consistent atomics, so a worker getting in line cannot read a count older
  // than an entry made before it got in line.
  explicit Turn(const std::atomic<std::uint64_t>& entries)
      : entries_(&entries), asked_ns_(hazardlab::now_ns()), in_line_at_(entries.load()) {}

  void in_line() noexcept { in_line_at_ = entries_->load(); }

  std::int64_t asked_ns() const noexcept { return asked_ns_; }
  std::uint64_t in_line_at() const noexcept { return in_line_at_; }

private:
  const std::atomic<std::uint64_t>* entries_;
  std::int64_t asked_ns_;
  std::uint64_t in_line_at_;
};

// The "lightswitch" of the classic semaphore solutions: the first reader into the room locks it
// for all readers (a writer then cannot get in), the last one out unlocks it. `readers` counts
// those inside; the mutex makes "count and maybe lock" one step.
template <class Form>
struct Lightswitch {
  typename Form::Mutex mutex;
  int readers = 0; // guarded by mutex

  void enter(typename Form::Semaphore& room) {
    std::lock_guard hold(mutex);
    if (++readers == 1) room.acquire(); // the first reader waits for the room for everyone
  }
  void leave(typename Form::Semaphore& room) {
    std::lock_guard hold(mutex);
    if (--readers == 0) room.release();
  }
};

} // namespace starvation
