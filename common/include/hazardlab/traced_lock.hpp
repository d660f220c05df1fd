#pragma once
// Locks that record, in shared state, who holds each one and what each worker waits for, so that
// the watchdog of a stuck run can draw the wait-for graph, in either form:
//
//   worker 0 holds account 3, waits for account 7 (held by worker 1)
//   → worker 1 holds account 7, waits for account 3 (held by worker 0)
//
// Place a TracedLocks<Form> in the run's shared state; locks[i] is a Lockable (lock, try_lock,
// unlock), so std::scoped_lock and std::lock work on it as on any mutex.
#include "hazardlab/forms.hpp"
#include "hazardlab/outcome.hpp"
#include "hazardlab/workers.hpp"

#include <array>
#include <atomic>
#include <cstdio>
#include <string>
#include <vector>

namespace hazardlab {

inline constexpr int kMaxTracedLocks = 256;

// A snapshot of who holds what and who waits for what: an edge from each waiting worker to the
// worker holding the lock it waits for. Each worker waits for at most one lock, so following the
// edges from any worker either ends or runs into the one cycle on its path.
class WaitForGraph {
public:
  WaitForGraph(std::string lock_name, std::vector<int> holder_of_lock, std::vector<int> lock_awaited_by_worker);

  // The workers of a cycle in wait-for order (each waits for the next; the last for the first),
  // or empty if no worker is part of one.
  std::vector<int> cycle() const;
  // "worker 0 holds account 3, waits for account 7 (held by worker 1)"; "worker 2 holds nothing,
  // waits for nothing"
  std::string describe(int worker) const;
  // The cycle as one line, its workers joined by " → ", or empty without a cycle.
  std::string cycle_text() const;
  int workers() const noexcept { return static_cast<int>(awaited_.size()); }

private:
  std::string lock_name(int lock) const;
  int holder_of_awaited(int worker) const;

  std::string name_;
  std::vector<int> holder_;  // per lock: the worker holding it, or -1
  std::vector<int> awaited_; // per worker: the lock it waits for, or -1
};

// Adds to a stuck run one line per worker saying what it holds and waits for; with a cycle in
// the graph the run becomes stuck:deadlock, with the cycle as its last line.
void explain_stuck(RunResult& result, const WaitForGraph& graph);

template <class Form>
class TracedLocks {
public:
  // `what` names one lock in reports: "account" gives "account 3".
  TracedLocks(const char* what, int count) : count_(count) {
    std::snprintf(what_, sizeof what_, "%s", what);
    for (auto& h : holder_)
      h.store(-1, std::memory_order_relaxed);
    for (auto& a : awaited_)
      a.store(-1, std::memory_order_relaxed);
  }

  class Lock {
  public:
    Lock(TracedLocks& locks, int index) noexcept : locks_(&locks), index_(index) {}
    void lock() {
      const int me = current_worker();
      note_waiting(me, index_);
      locks_->mutexes_[index_].lock();
      note_waiting(me, -1);
      locks_->holder_[index_].store(me, std::memory_order_relaxed);
    }
    bool try_lock() {
      if (!locks_->mutexes_[index_].try_lock()) return false;
      locks_->holder_[index_].store(current_worker(), std::memory_order_relaxed);
      return true;
    }
    void unlock() {
      locks_->holder_[index_].store(-1, std::memory_order_relaxed);
      locks_->mutexes_[index_].unlock();
    }
    int index() const noexcept { return index_; }

  private:
    void note_waiting(int worker, int lock) noexcept {
      if (worker >= 0) locks_->awaited_[worker].store(lock, std::memory_order_relaxed);
    }
    TracedLocks* locks_;
    int index_;
  };

  Lock operator[](int index) noexcept { return Lock(*this, index); }
  int size() const noexcept { return count_; }

  // Read once the workers are stuck (or stopped): the records are relaxed atomics, written by the
  // workers around each lock and unlock.
  WaitForGraph graph(int workers) const {
    std::vector<int> holder(count_);
    std::vector<int> awaited(workers);
    for (int i = 0; i < count_; ++i)
      holder[i] = holder_[i].load(std::memory_order_relaxed);
    for (int w = 0; w < workers; ++w)
      awaited[w] = awaited_[w].load(std::memory_order_relaxed);
    return WaitForGraph(what_, std::move(holder), std::move(awaited));
  }

private:
  int count_;
  char what_[32];
  std::array<typename Form::Mutex, kMaxTracedLocks> mutexes_;
  // Relaxed atomics: a report, not synchronization. They must not order the workers' accesses
  // (that would hide races from the tools), and the mutex itself does the locking.
  std::array<std::atomic<int>, kMaxTracedLocks> holder_;
  std::array<std::atomic<int>, kMaxWorkers> awaited_;
};

} // namespace hazardlab
