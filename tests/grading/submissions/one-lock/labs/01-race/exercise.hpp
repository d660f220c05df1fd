#pragma once
// A grading fixture: an exercise that does not compile (the lock is never declared). The grading
// proofs check that it costs only this lab's points.
#include "hazardlab/workers.hpp"

#include <cstdint>

namespace race {

template <class Form>
struct Exercise {
  struct State {
    std::uint64_t counter = 0;
  };

  static void increment(State& state, hazardlab::Worker& worker) {
    std::lock_guard hold(state.lock);
    worker.hazard_point();
    ++state.counter;
  }

  static std::uint64_t count(const State& state) { return state.counter; }
};

} // namespace race
