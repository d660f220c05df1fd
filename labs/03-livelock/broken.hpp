#pragma once
// The broken variant of lab 03: the polite protocol, with the same fixed pause for everyone.
#include "livelock.hpp"

namespace livelock {

template <class Form>
struct Broken {
  template <class Work>
  static void with_both(State<Form>& s, int first, int second, hazardlab::Worker& worker, std::mt19937_64& /*random*/,
                        Work work) {
    while (!try_both_politely(s, first, second, worker, work))
      worker.pause_for(s.pause); // everyone pauses just as long, so everyone comes back together
  }
};

} // namespace livelock
