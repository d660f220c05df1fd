#pragma once
// Lab 03 reference fixes. A livelock needs the workers to keep meeting: break the symmetry of
// the pause, or remove the need to give way.
#include "livelock.hpp"

#include <algorithm>
#include <mutex>
#include <utility>

namespace livelock {

// The broken protocol, with randomized exponential back-off: after the k-th failure in a row a
// worker pauses a random time up to 2^k fixed pauses (at most 64). Two workers that failed
// together draw different pauses, so one of them comes back first and finds both resources free;
// the more often they collide, the further apart they spread. (Ethernet's answer to the same
// problem.) The generator is seeded from --seed, so a run can be repeated.
template <class Form>
struct FixedBackoff {
  template <class Work>
  static void with_both(State<Form>& s, int first, int second, hazardlab::Worker& worker, std::mt19937_64& random,
                        Work work) {
    for (int failures = 0; !try_both_politely(s, first, second, worker, work); ++failures) {
      const auto window = s.pause.count() << std::min(failures + 1, 6);
      std::uniform_int_distribution<std::int64_t> pause(1, window);
      worker.pause_for(std::chrono::microseconds(pause(random)));
    }
  }
};

// No politeness needed: every worker takes the lower-numbered of its two resources first and
// waits for the other. Whoever holds a resource only ever waits for a higher one, so no cycle of
// waiting can form (lab 02's fixed-ordering), and nobody ever gives way: one attempt per unit.
template <class Form>
struct FixedOrdering {
  template <class Work>
  static void with_both(State<Form>& s, int first, int second, hazardlab::Worker& worker, std::mt19937_64& /*random*/,
                        Work work) {
    // (No hazard point: nothing here is exposed. Taking the locks in one order is safe in any
    // interleaving.)
    if (second < first) std::swap(first, second);
    auto lower = s.resources[first];
    auto higher = s.resources[second];
    worker.attempted();
    std::lock_guard hold_lower(lower);
    std::lock_guard hold_higher(higher);
    work();
  }
};

} // namespace livelock
