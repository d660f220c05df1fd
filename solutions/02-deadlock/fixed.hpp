#pragma once
// Lab 02 reference fixes. Each breaks one of the four Coffman conditions (mutual exclusion, hold
// and wait, no preemption, circular wait); see the handout.
#include "broken.hpp"
#include "deadlock.hpp"

#include <mutex>
#include <utility>

namespace deadlock {

// Breaks circular wait: the broken protocol, with the two locks always taken lower number first.
// A cycle would need someone to hold a higher lock while waiting for a lower one, and nobody ever
// does.
template <class Form>
struct FixedOrdering {
  template <class Work>
  static void with_both(State<Form>& s, int first, int second, hazardlab::Worker& worker, Work work) {
    if (second < first) std::swap(first, second);
    Broken<Form>::with_both(s, first, second, worker, work);
  }
};

// Breaks hold and wait: std::scoped_lock takes both with std::lock's deadlock avoidance. It locks
// one and only tries the other; if that fails it lets go of the first and starts over the other
// way round, so it never blocks while holding. It works on any Lockable: here the traced lock
// around std::mutex or interprocess_mutex.
template <class Form>
struct FixedLockAll {
  template <class Work>
  static void with_both(State<Form>& s, int first, int second, hazardlab::Worker& worker, Work work) {
    auto first_lock = s.locks[first];
    auto second_lock = s.locks[second];
    worker.hazard_point("take both locks");
    std::scoped_lock both(first_lock, second_lock);
    work();
  }
};

// Philosophers only. Breaks circular wait another way: the broken protocol, unchanged, behind a
// butler (a semaphore of N - 1) that lets at most N - 1 philosophers reach for forks at once, so
// at least one of them finds both forks free.
template <class Form>
struct FixedWaiter {
  template <class Work>
  static void with_both(State<Form>& s, int first, int second, hazardlab::Worker& worker, Work work) {
    s.admission.acquire();
    Broken<Form>::with_both(s, first, second, worker, work);
    s.admission.release();
  }
};

} // namespace deadlock
