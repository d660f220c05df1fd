#pragma once
// Lab 05 exercise — a bounded buffer that moves every item exactly once, in both forms.
//
// This starts as a copy of BrokenNoMutex (broken.hpp). Watch it lose and duplicate items,
//   make run LAB=prodcons ARGS='--variant exercise --schedule forced'
//   make run LAB=prodcons ARGS='--variant exercise --schedule forced --form process'
// then make it correct with any number of producers and consumers and any capacity. Keep the
// semaphores and keep the hazard points: a correct fix survives them. The grader also checks
// that the consumers stop once production has ended, and that you did not trade the hazard for
// a freeze (broken-mutex-first shows how that happens). Prove it on every interleaving:
//   make run LAB=prodcons ARGS='--variant exercise --schedule explore'
//
// Read prodcons.hpp (the contract, lines 1-143) and this file; nothing else is needed (broken.hpp
// shows the other ways to get it wrong). Only this file is collected and graded; changes elsewhere
// are discarded.
#include "prodcons.hpp"

#include <mutex>
#include <optional>

namespace prodcons {

template <class Form>
struct Exercise {
  static void put(State<Form>& s, Item item, hazardlab::Worker& worker) {
    s.empty_slots.acquire();
    // TODO(1): two producers can both be here at once. What must be true of the next three lines
    // while one producer runs them? Which of the State's members gives you that, and where must it
    // start and end so that nobody ever sleeps on a semaphore while holding it?
    const int slot = s.ring.in;
    // The window: another producer may read the same `in` right now.
    worker.hazard_point("read in", slot);
    s.ring.put_at(slot, item);
    s.ring.in = (slot + 1) % s.ring.capacity;
    s.filled_slots.release();
  }
  static std::optional<Item> take(State<Form>& s, hazardlab::Worker& worker) {
    s.filled_slots.acquire();
    // TODO(2): the same question for the consumers and `out`.
    const int slot = s.ring.out;
    // The window: another consumer may read the same `out` right now.
    worker.hazard_point("read out", slot);
    const Item item = s.ring.take_from(slot);
    s.ring.out = (slot + 1) % s.ring.capacity;
    s.empty_slots.release();
    return unless_end_of_production(item);
  }
  // Production has ended: one poison pill per consumer (this part is already right).
  static void close(State<Form>& s, hazardlab::Worker& worker) { send_one_pill_per_consumer<Exercise>(s, worker); }
};

} // namespace prodcons
