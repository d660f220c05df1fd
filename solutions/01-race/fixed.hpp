#pragma once
// Lab 01 reference fixes.
#include "race.hpp"

#include <atomic>
#include <cstdint>
#include <mutex>

namespace race {

// Mutual exclusion with the form's mutex: std::mutex between threads, a process-shared
// interprocess_mutex between processes. The window is still there, but no other worker can be
// inside it.
template <class Form>
struct FixedMutex {
  struct State {
    std::uint64_t counter = 0;
    typename Form::Mutex mutex;
  };

  static void increment(State& state, hazardlab::Worker& worker) {
    std::scoped_lock lock(state.mutex);
    const std::uint64_t seen = state.counter;
    worker.hazard_point("read counter", seen);
    state.counter = seen + 1;
  }

  static std::uint64_t count(const State& state) { return state.counter; }
};

// One indivisible read-modify-write. A lock-free atomic works on the memory itself, not on
// anything private to a process, so it is valid in a shared mapping too (Form::Atomic is
// std::atomic, lock-free, with a scheduling point before each operation). Relaxed order is
// enough: nothing else is published through the counter, and the final read comes after the
// workers are joined or reaped.
template <class Form>
struct FixedAtomic {
  struct State {
    typename Form::template Atomic<std::uint64_t> counter{0};
  };

  static void increment(State& state, hazardlab::Worker& worker) {
    worker.hazard_point(); // no window left to widen: read, add and write are one
    state.counter.fetch_add(1, std::memory_order_relaxed);
  }

  static std::uint64_t count(const State& state) { return state.counter.load(std::memory_order_relaxed); }
};

} // namespace race
