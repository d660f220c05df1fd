#pragma once
// Lab 01 exercise — make the shared counter exact, in both forms.
//
// This starts as a copy of Broken (broken.hpp): run it and watch updates get lost,
//   make run LAB=race ARGS='--variant exercise --schedule forced'
//   make run LAB=race ARGS='--variant exercise --schedule forced --form process'
// then repair it. The repair must hold in both forms, under the forced schedule, and under
// ThreadSanitizer (make tsan LAB=race ARGS='--variant exercise').
//
// Form is ThreadForm or ProcessForm (common/include/hazardlab/forms.hpp): Form::Mutex is a mutex
// that works in that form, and Form::Atomic<T> an atomic that the scheduler sees (each operation a
// scheduling point, so --schedule explore can run another worker between any two of them). Keep
// the hazard point where it is: a correct fix survives it. Prove it on every interleaving:
//   make run LAB=race ARGS='--variant exercise --schedule explore'
//
// Read race.hpp (the contract, lines 1-24) and this file; nothing else is needed. Only this file
// is collected and graded; changes elsewhere are discarded.
#include "race.hpp"

#include <cstdint>

namespace race {

template <class Form>
struct Exercise {
  struct State {
    std::uint64_t counter = 0;
    // TODO(1): what else must every worker share so that only one of them increments at a time?
  };

  static void increment(State& state, hazardlab::Worker& worker) {
    // TODO(2): the three steps below must happen as one, with no other worker in between.
    volatile std::uint64_t& counter = state.counter;
    const std::uint64_t seen = counter;        // read
    worker.hazard_point("read counter", seen); // the window where another worker gets in
    counter = seen + 1;                        // write
  }

  static std::uint64_t count(const State& state) { return state.counter; }
};

} // namespace race
