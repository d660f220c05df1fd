#pragma once
// Lab 04 exercise — locks that let every worker in, in both forms.
//
// This starts as a copy of Broken (broken.hpp). Watch a writer (and the greedy worker's rivals)
// starve:
//   make run LAB=starvation ARGS='--variant exercise --schedule forced'
//   make run LAB=starvation ARGS='--variant exercise --schedule forced --scenario greedy'
// then change the two locks so that every worker gets in, in both forms (add --form process).
// A lock must still keep a writer (or a turn) apart from everyone else: the lab checks who is
// inside at every entry. Under --schedule forced the readers keep the room by construction,
// overlapping one another, and the greedy worker asks again the moment it lets go: a fix must
// make a waiting worker's turn come whatever the others do.
//
// Turn: if a worker joins your lock's queue later than when it asks (it draws a ticket, say),
// call turn.in_line() at that moment: the lab counts as overtaking it every entry from then on.
//
// Then check exclusion on every interleaving of a small run (fairness cannot be explored):
//   make run LAB=starvation ARGS='--variant exercise --schedule explore --scenario greedy'
//
// Read starvation.hpp (the contract, lines 1–94) and this file; nothing else is needed. Only this
// file is collected and graded; changes elsewhere are discarded.
#include "starvation.hpp"

#include <atomic>
#include <cstdint>

namespace starvation {

template <class Form>
struct Exercise {
  struct ReadersWriterLock {
    Lightswitch<Form> readers;
    typename Form::Semaphore room{1}; // 1: nobody inside
    // TODO(1): what could a waiting writer hold, that every new reader must pass through first?

    void lock_shared(Turn& /*turn*/) {
      // TODO(2): a new reader walks in whenever another reader is inside, writer waiting or not.
      readers.enter(room);
    }
    void unlock_shared() { readers.leave(room); }
    void lock(Turn& /*turn*/) {
      // TODO(3): and while the writer waits for the room, how does it keep the next readers out?
      room.acquire();
    }
    void unlock() { room.release(); }
  };

  struct Lock {
    typename Form::Mutex mutex;
    // TODO(4): a mutex hands nothing over on unlock. What would serve the workers in the order
    // they asked? (Two counters, as at a deli counter, are enough: make them
    // typename Form::template Atomic<std::uint32_t>, an atomic that works across processes and
    // that --schedule explore sees. A loop that waits by spinning calls hazardlab::spin_pause() on
    // each turn, so that the worker it waits for gets to run.)

    void lock(Turn& /*turn*/) { mutex.lock(); }
    void unlock() { mutex.unlock(); }
  };
};

} // namespace starvation
