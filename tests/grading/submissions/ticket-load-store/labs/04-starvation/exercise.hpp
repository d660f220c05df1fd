#pragma once
// A grading fixture, not a model answer: a ticket lock whose ticket is drawn with a separate load
// and store. Two workers can both load the same ticket before either stores the next one, and then
// both are served at once: exclusion is broken inside the student's own lock. Natural and forced
// runs hardly ever hit that window; --schedule explore does, through Form::Atomic. The
// readers-writers lock is the reference's turnstile. The grading proofs check that it loses the
// explore check's points.
#include "starvation.hpp"

#include "hazardlab/control.hpp"

#include <cstdint>

namespace starvation {

template <class Form>
struct Exercise {
  struct ReadersWriterLock {
    Lightswitch<Form> readers;
    typename Form::Semaphore room{1};
    typename Form::Semaphore turnstile{1};

    void lock_shared(Turn& /*turn*/) {
      turnstile.acquire();
      turnstile.release();
      readers.enter(room);
    }
    void unlock_shared() { readers.leave(room); }
    void lock(Turn& turn) {
      turnstile.acquire();
      turn.in_line();
      room.acquire();
    }
    void unlock() {
      turnstile.release();
      room.release();
    }
  };

  struct Lock {
    typename Form::template Atomic<std::uint32_t> next_ticket{0};
    typename Form::template Atomic<std::uint32_t> now_serving{0};

    void lock(Turn& turn) {
      const std::uint32_t mine = next_ticket.load(); // draw a ticket …
      next_ticket.store(mine + 1);                   // … and take the next number off the roll
      turn.in_line();
      while (now_serving.load() != mine)
        hazardlab::spin_pause();
    }
    void unlock() { now_serving.store(now_serving.load() + 1); }
  };
};

} // namespace starvation
