#pragma once
// Lab 02 exercise — no deadlock, in both scenarios and both forms.
//
// This starts as a copy of Broken (broken.hpp). Watch it freeze,
//   make run LAB=deadlock ARGS='--variant exercise --schedule forced'
//   make run LAB=deadlock ARGS='--variant exercise --schedule forced --scenario philosophers --form process'
// then change how the two locks are taken so that no cycle of waiting workers can form. Every
// transfer must still move its money and every philosopher must still eat holding both forks.
// Keep the hazard point: a correct fix survives it. Prove it on every interleaving:
//   make run LAB=deadlock ARGS='--variant exercise --schedule explore'
//
// Read deadlock.hpp (the contract, lines 1–54) and this file; nothing else is needed. Only this
// file is collected and graded; changes elsewhere are discarded.
#include "deadlock.hpp"

#include <mutex>

namespace deadlock {

template <class Form>
struct Exercise {
  template <class Work>
  static void with_both(State<Form>& s, int first, int second, hazardlab::Worker& worker, Work work) {
    // TODO(1): in what order should any worker take two locks, so that no worker can hold one
    // that another needs while waiting for one that the other holds?
    auto first_lock = s.locks[first];
    auto second_lock = s.locks[second];
    std::lock_guard hold_first(first_lock);
    worker.hazard_point("holding the first lock"); // the window where every other worker grabs its first lock too
    // TODO(2): or take both at once, with something that never holds one while waiting for the
    // other.
    std::lock_guard hold_second(second_lock);
    work();
  }
};

} // namespace deadlock
