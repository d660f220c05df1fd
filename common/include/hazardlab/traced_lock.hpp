#pragma once
// Locks and semaphores that record, in shared state, who holds each lock and what each worker
// waits for, so that the watchdog of a stuck run can draw the wait-for graph, in either form:
//
//   worker 0 holds account 3, waits for account 7 (held by worker 1)
//   → worker 1 holds account 7, waits for account 3 (held by worker 0)
//
// Place a TracedLocks<Form> in the run's shared state; locks[i] is a Lockable (lock, try_lock,
// unlock), so std::scoped_lock and std::lock work on it as on any mutex. A semaphore has no
// holder, but it has givers: the workers that release it (consumers give empty slots, producers
// filled ones). locks.semaphore(j) records its waiters, and a waiter's edges in the graph go to
// the givers, which is how a producer asleep on "empty slots" while holding the mutex every
// consumer needs shows up as a deadlock.
#include "hazardlab/forms.hpp"
#include "hazardlab/outcome.hpp"
#include "hazardlab/timeline.hpp"
#include "hazardlab/workers.hpp"

#include <valgrind/helgrind.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace hazardlab {

inline constexpr int kMaxTracedLocks = 256;
inline constexpr int kMaxTracedSemaphores = 4;
// What a worker waits for, as recorded: -1 nothing, 0 … kMaxTracedLocks - 1 that lock, and
// kAwaitsSemaphore + j semaphore j.
inline constexpr int kAwaitsSemaphore = kMaxTracedLocks;

// A semaphore as the graph sees it: its name, the workers that release it, and its count.
struct SemaphoreInGraph {
  std::string name;
  std::vector<int> given_by;
  int value = 0;
};

// A snapshot of who holds what and who waits for what. A worker waiting for a lock has one edge,
// to the lock's holder; a worker waiting for a semaphore whose count is 0 has an edge to each of
// its givers. A lock waiter is frozen if its holder is; a semaphore waiter only if every giver is
// (any one of them could release it). A cycle is reported only among frozen workers.
class WaitForGraph {
public:
  WaitForGraph(std::string lock_name, std::vector<int> holder_of_lock, std::vector<int> awaited_by_worker,
               std::vector<SemaphoreInGraph> semaphores = {});

  // Calls the workers by their roles in every line ("producer 0" rather than "worker 0").
  void name_workers(std::vector<std::string> names) { worker_names_ = std::move(names); }

  // The workers of a cycle in wait-for order (each waits for the next; the last for the first),
  // or empty if no worker is part of one.
  std::vector<int> cycle() const;
  // "worker 0 holds account 3, waits for account 7 (held by worker 1)"; "worker 2 holds nothing,
  // waits for nothing"; "producer 0 holds ring mutex, waits for empty slots (given by consumer 0,
  // consumer 1)"
  std::string describe(int worker) const;
  // The cycle as one line, its workers joined by " → ", or empty without a cycle.
  std::string cycle_text() const;
  // What a natural run's watchdog looks at while it waits: the cycle if there is one; otherwise,
  // when every unfinished worker waits for what only finished or frozen workers could give (a
  // finished worker gives nothing any more), those workers' lines; otherwise empty.
  std::string stuck_text(const std::vector<bool>& finished) const;
  int workers() const noexcept { return static_cast<int>(awaited_.size()); }
  // What the worker waits for, as recorded: -1, a lock, or kAwaitsSemaphore + j.
  int awaited(int worker) const { return awaited_[worker]; }
  // The lock the worker waits for, if it waits for a lock.
  std::optional<int> awaited_lock(int worker) const {
    const int a = awaited_[worker];
    return a >= 0 && a < kAwaitsSemaphore ? std::optional<int>(a) : std::nullopt;
  }
  // The semaphore (its index among the graph's semaphores) the worker waits for, if any.
  std::optional<int> awaited_semaphore(int worker) const {
    const int a = awaited_[worker];
    return a >= kAwaitsSemaphore ? std::optional<int>(a - kAwaitsSemaphore) : std::nullopt;
  }

private:
  std::string lock_name(int lock) const;
  std::string worker_name(int worker) const;
  std::vector<int> waits_on(int worker) const; // the edges out of a worker
  // Per worker: waits for what no running worker can give. `finished` workers (if given) count as
  // givers that will never give again.
  std::vector<bool> frozen(const std::vector<bool>& finished = {}) const;

  std::string name_;
  std::vector<int> holder_;  // per lock: the worker holding it, or -1
  std::vector<int> awaited_; // per worker: what it waits for (see kAwaitsSemaphore)
  std::vector<SemaphoreInGraph> semaphores_;
  std::vector<std::string> worker_names_;
};

// How a traced semaphore starts: its name in reports, its count, and the workers that release it.
struct TracedSemaphoreSpec {
  const char* name;
  unsigned initial;
  std::vector<int> given_by;
};

// Adds to a stuck run one line per worker saying what it holds and waits for; with a cycle in
// the graph the run becomes stuck:deadlock, with the cycle as its last line.
void explain_stuck(RunResult& result, const WaitForGraph& graph);

template <class Form>
class TracedLocks {
public:
  // `what` names one lock in reports: "account" gives "account 3" (a single lock is just "what").
  TracedLocks(const char* what, int count, std::initializer_list<TracedSemaphoreSpec> semaphores = {})
      : count_(count), semaphore_count_(static_cast<int>(semaphores.size())) {
    if (count < 1 || count > kMaxTracedLocks || semaphore_count_ > kMaxTracedSemaphores)
      throw std::invalid_argument("TracedLocks: too many locks or semaphores");
    std::snprintf(what_, sizeof what_, "%s", what);
    for (auto& h : holder_)
      h.store(-1, std::memory_order_relaxed);
    for (auto& a : awaited_)
      a.store(-1, std::memory_order_relaxed);
    // The records are read while the workers run (a natural run's watchdog looks at the wait-for
    // graph): relaxed atomics, which Helgrind does not model and would call races. They are the
    // kit's report, not the lab's data: left out of Helgrind's checks.
    VALGRIND_HG_DISABLE_CHECKING(&holder_, sizeof holder_);
    VALGRIND_HG_DISABLE_CHECKING(&awaited_, sizeof awaited_);
    int j = 0;
    for (const auto& spec : semaphores) {
      if (std::ranges::any_of(spec.given_by, [](int giver) { return giver < 0 || giver >= kMaxWorkers; }))
        throw std::invalid_argument("TracedLocks: a semaphore's givers must be workers 0 to 63");
      semaphores_[j].emplace(spec.initial);
      std::snprintf(semaphore_names_[j], sizeof semaphore_names_[j], "%s", spec.name);
      for (int giver : spec.given_by)
        given_by_[j] |= std::uint64_t{1} << giver;
      ++j;
    }
    // An explored schedule's table says "lock account 3", "wait for empty slots".
    if (naming_objects()) {
      for (int i = 0; i < count_; ++i)
        name_object(&mutexes_[static_cast<std::size_t>(i)], lock_name(i).data());
      for (int k = 0; k < semaphore_count_; ++k)
        name_object(&*semaphores_[static_cast<std::size_t>(k)], semaphore_names_[k]);
    }
  }

  class Lock {
  public:
    Lock(TracedLocks& locks, int index) noexcept : locks_(&locks), index_(index) {}
    void lock() {
      const int me = current_worker();
      locks_->note_waiting(me, index_);
      if (timeline::recording()) timeline::waiting_for(locks_->lock_name(index_).data());
      locks_->mutexes_[index_].lock();
      locks_->note_waiting(me, -1);
      locks_->holder_[index_].store(me, std::memory_order_relaxed);
      if (timeline::recording()) timeline::got(locks_->lock_name(index_).data());
    }
    bool try_lock() {
      if (!locks_->mutexes_[index_].try_lock()) return false;
      locks_->holder_[index_].store(current_worker(), std::memory_order_relaxed);
      if (timeline::recording()) timeline::got(locks_->lock_name(index_).data());
      return true;
    }
    void unlock() {
      // A worker leaving a stuck run (WorkerStopped) lets go of its locks on the way out, but the
      // records and its timeline keep what it held when the run froze: the wait-for graph and the
      // chart are read after it has gone.
      const bool leaving = control::active() && control::ending();
      if (!leaving) locks_->holder_[index_].store(-1, std::memory_order_relaxed);
      locks_->mutexes_[index_].unlock();
      if (!leaving) timeline::let_go();
    }
    int index() const noexcept { return index_; }

  private:
    TracedLocks* locks_;
    int index_;
  };

  // The form's semaphore, with its waits recorded.
  class Semaphore {
  public:
    Semaphore(TracedLocks& locks, int index) noexcept : locks_(&locks), index_(index) {}
    void acquire() {
      const int me = current_worker();
      locks_->note_waiting(me, kAwaitsSemaphore + index_);
      timeline::waiting_for(locks_->semaphore_names_[index_]);
      locks_->semaphores_[index_]->acquire();
      locks_->note_waiting(me, -1);
      timeline::resumed();
    }
    bool try_acquire() { return locks_->semaphores_[index_]->try_acquire(); }
    void release() { locks_->semaphores_[index_]->release(); }
    int value() const noexcept { return locks_->semaphores_[index_]->value(); }

  private:
    TracedLocks* locks_;
    int index_;
  };

  Lock operator[](int index) noexcept { return Lock(*this, index); }
  Semaphore semaphore(int index) {
    if (index < 0 || index >= semaphore_count_) throw std::out_of_range("TracedLocks: no such semaphore");
    return Semaphore(*this, index);
  }
  int size() const noexcept { return count_; }
  // The worker that holds lock `index` right now, or -1: a report read in passing, like graph().
  int holder(int index) const noexcept { return holder_[index].load(std::memory_order_relaxed); }

  // Read once the workers are stuck (or stopped): the records are relaxed atomics, written by the
  // workers around each lock and unlock.
  WaitForGraph graph(int workers) const {
    std::vector<int> holder(count_);
    std::vector<int> awaited(workers);
    for (int i = 0; i < count_; ++i)
      holder[i] = holder_[i].load(std::memory_order_relaxed);
    for (int w = 0; w < workers; ++w)
      awaited[w] = awaited_[w].load(std::memory_order_relaxed);
    std::vector<SemaphoreInGraph> semaphores;
    for (int j = 0; j < semaphore_count_; ++j) {
      semaphores.push_back({semaphore_names_[j], {}, semaphores_[j]->value()});
      for (int w = 0; w < kMaxWorkers; ++w)
        if (given_by_[j] >> w & 1) semaphores.back().given_by.push_back(w);
    }
    return WaitForGraph(what_, std::move(holder), std::move(awaited), std::move(semaphores));
  }

private:
  // "account 3", or just "ring mutex" for a single lock: as the wait-for graph names it.
  std::array<char, 48> lock_name(int index) const noexcept {
    std::array<char, 48> name{}; // room for what_ and any index: the timeline keeps 23 characters
    if (count_ == 1)
      std::snprintf(name.data(), name.size(), "%s", what_);
    else
      std::snprintf(name.data(), name.size(), "%s %d", what_, index);
    return name;
  }
  void note_waiting(int worker, int awaited) noexcept {
    if (worker >= 0) awaited_[worker].store(awaited, std::memory_order_relaxed);
  }

  int count_;
  char what_[32];
  int semaphore_count_;
  std::array<std::optional<typename Form::Semaphore>, kMaxTracedSemaphores> semaphores_;
  char semaphore_names_[kMaxTracedSemaphores][32] = {};
  std::array<std::uint64_t, kMaxTracedSemaphores> given_by_{}; // a bit per worker
  std::array<typename Form::Mutex, kMaxTracedLocks> mutexes_;
  // Relaxed atomics: a report, not synchronization. They must not order the workers' accesses
  // (that would hide races from the tools), and the mutex itself does the locking.
  std::array<std::atomic<int>, kMaxTracedLocks> holder_;
  std::array<std::atomic<int>, kMaxWorkers> awaited_;
};

} // namespace hazardlab
