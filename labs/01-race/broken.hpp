#pragma once
// The broken variants of lab 01. Their races are intended: this is what the lab shows.
#include "race.hpp"

#include <cstdint>
#include <mutex>

namespace race {

// Read, add one, write back — with nothing to stop another worker in between.
template <class Form>
struct Broken {
  struct State {
    std::uint64_t counter = 0;
  };

  static void increment(State& state, hazardlab::Worker& worker) {
    // Through a volatile reference the compiler must emit exactly one load and one store per
    // increment, at every optimization level (a plain counter++ in a loop is folded into a single
    // add of `iterations`, which would show the optimizer, not the race). volatile is not
    // synchronization: ThreadSanitizer and Helgrind still see the plain, unordered accesses of a
    // data race, which is the point.
    volatile std::uint64_t& counter = state.counter;
    const std::uint64_t seen = counter;        // 1. read
    worker.hazard_point("read counter", seen); // 2. the window: another worker may read the same value
    counter = seen + 1;                        // 3. write, overwriting whatever was written meanwhile
  }

  static std::uint64_t count(const State& state) { return state.counter; }
};

// Process form only: a std::mutex placed in shared memory and "locked" by several processes.
// glibc makes a std::mutex process-private: its lock word sits in the shared mapping, but a
// waiter sleeps on a private futex, keyed by its own address space, where no other process's
// unlock can wake it. The form's mutex (interprocess_mutex) is PTHREAD_PROCESS_SHARED instead.
template <class Form>
struct BrokenPrivateMutex {
  static constexpr const char* why_it_fails =
      "a std::mutex is process-private: two processes got in at once (glibc's owner check aborts), "
      "or a waiter slept on a private futex that another process's unlock never wakes (stuck)";

  struct State {
    std::uint64_t counter = 0;
    std::mutex mutex; // wrong kind of mutex for processes
  };

  static void increment(State& state, hazardlab::Worker& worker) {
    std::scoped_lock lock(state.mutex);
    const std::uint64_t seen = state.counter;
    worker.hazard_point("read counter", seen);
    state.counter = seen + 1;
  }

  static std::uint64_t count(const State& state) { return state.counter; }
};

} // namespace race
