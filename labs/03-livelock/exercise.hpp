#pragma once
// Lab 03 exercise — polite workers that get their work done, in both forms.
//
// This starts as a copy of Broken (broken.hpp). Watch it get nowhere, busily,
//   make run LAB=livelock ARGS='--variant exercise --schedule forced'
//   make run LAB=livelock ARGS='--variant exercise --schedule forced --form process'
// then change it so that every worker finishes its units. Each unit must still be done holding
// both resources (work() checks that), and the forced schedule must not stop it: under
// --schedule forced the workers take turns at every step, so everybody takes its first resource
// before anyone tries a second, and everybody who pauses just as long comes back together. A fix
// has to make them stop coming back together (worker.pause_for is the pause the schedule sees), or
// stop needing to give way at all. Then prove it on every interleaving:
//   make run LAB=livelock ARGS='--variant exercise --schedule explore'
//
// Read livelock.hpp (the contract, lines 1–75) and this file; nothing else is needed. Only this
// file is collected and graded; changes elsewhere are discarded.
#include "livelock.hpp"

namespace livelock {

template <class Form>
struct Exercise {
  template <class Work>
  static void with_both(State<Form>& s, int first, int second, hazardlab::Worker& worker, std::mt19937_64& random,
                        Work work) {
    (void)random; // TODO(1): your generator, seeded from --seed, is here if you need one
    // TODO(2): or, does every worker have to ask for its two resources in this order?
    while (!try_both_politely(s, first, second, worker, work)) {
      // TODO(3): everyone who failed together pauses just as long as everyone else, and so they
      // all try again together. How long should this worker pause, so that next time one of them
      // gets there first?
      worker.pause_for(s.pause);
    }
  }
};

} // namespace livelock
