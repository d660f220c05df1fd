#pragma once
// The broken variant of lab 02: two locks, taken in whatever order the work names them.
#include "deadlock.hpp"

#include <mutex>

namespace deadlock {

template <class Form>
struct Broken {
  template <class Work>
  static void with_both(State<Form>& s, int first, int second, hazardlab::Worker& worker, Work work) {
    auto first_lock = s.locks[first];
    auto second_lock = s.locks[second];
    std::lock_guard hold_first(first_lock);
    // Forced: every worker holds its first lock before any takes its second.
    worker.hazard_point("holding the first lock");
    std::lock_guard hold_second(second_lock);
    work();
  }
};

} // namespace deadlock
