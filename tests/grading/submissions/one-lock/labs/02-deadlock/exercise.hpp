#pragma once
// A grading fixture, not a model answer: a deadlock "fix" that is correct but serial. Account (or
// fork) 0 doubles as one lock around everything, so no cycle can form, and no two workers ever
// work at once. The grading proofs check that it earns the correctness checks and fails the
// parallelism check.
#include "deadlock.hpp"

#include <mutex>

namespace deadlock {

template <class Form>
struct Exercise {
  template <class Work>
  static void with_both(State<Form>& s, int first, int second, hazardlab::Worker& worker, Work work) {
    auto everything = s.locks[0];
    std::lock_guard hold_everything(everything);
    worker.hazard_point();
    auto first_lock = s.locks[first];
    auto second_lock = s.locks[second];
    std::unique_lock hold_first(first_lock, std::defer_lock);
    std::unique_lock hold_second(second_lock, std::defer_lock);
    if (first != 0) hold_first.lock(); // lock 0 is held already
    if (second != 0) hold_second.lock();
    work();
  }
};

} // namespace deadlock
