#pragma once
// Lab 04 reference fixes: make a waiting worker's turn come, whatever the others do.
#include "starvation.hpp"

#include "hazardlab/control.hpp"
#include "hazardlab/forms.hpp"

#include <atomic>
#include <cstdint>

namespace starvation {

// Readers-writers without starvation: the no-starve solution of the classic semaphore solutions.
// Every reader passes through a turnstile on its way in (takes it and gives it straight back); a
// writer takes the turnstile and keeps it while it waits for the room. New readers then queue at
// the turnstile behind the writer, the readers inside leave, the room empties, and the writer
// gets in. A writer is in line from the moment it holds the turnstile: only readers already past
// it can still enter before it, each at most once.
template <class Form>
struct FixedTurnstile {
  struct ReadersWriterLock {
    Lightswitch<Form> readers;
    typename Form::Semaphore room{1};      // 1: nobody inside
    typename Form::Semaphore turnstile{1}; // held by a writer that waits: readers queue here

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
    // The turnstile first: readers queued behind this writer may go on (and the next writer may
    // take the turnstile) as soon as the room is given back.
    void unlock() {
      turnstile.release();
      room.release();
    }
  };
};

// Greedy: a FIFO ticket lock, two counters like a deli counter's. A worker draws the next ticket
// and waits until its number is served; unlocking serves the next number. Whoever asked first gets
// in first, so a waiting worker is overtaken by fewer than all the others, once each. The counters
// are Form::Atomic: std::atomic (lock-free, so it works across processes in shared memory, and one
// lock serves both forms) with a scheduling point before each operation, so --schedule explore
// tries every other worker between any two of them. Drawing the ticket must be one fetch_add: a
// load and then a store lets two workers draw the same ticket and both get in.
template <class Form>
struct FixedTicket {
  struct Lock {
    typename Form::template Atomic<std::uint32_t> next_ticket{0};
    typename Form::template Atomic<std::uint32_t> now_serving{0};

    void lock(Turn& turn) {
      const std::uint32_t mine = next_ticket.fetch_add(1, std::memory_order_relaxed);
      turn.in_line();
      // acquire: what the previous holder wrote before it served the next number is seen here.
      while (now_serving.load(std::memory_order_acquire) != mine)
        hazardlab::spin_pause(); // lets the holder run (on 2 cores it may need this CPU to finish)
    }
    void unlock() { now_serving.fetch_add(1, std::memory_order_release); }
  };
};

} // namespace starvation
