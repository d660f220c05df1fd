#pragma once
// A grading fixture, not a model answer: a correct starvation fix the kit had never seen. The
// readers-writers lock is the reference's turnstile; the greedy lock is a FIFO lock built from the
// form's mutex, condition variable and two counters. Its readers are not promised a fair share
// (neither are the reference's), and the grading proofs check that it scores full marks.
#include "starvation.hpp"

#include <cstdint>
#include <mutex>

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
    typename Form::Mutex mutex;
    typename Form::ConditionVariable served;
    std::uint64_t next_ticket = 0; // guarded by mutex
    std::uint64_t now_serving = 0; // guarded by mutex

    void lock(Turn& turn) {
      std::unique_lock hold(mutex);
      const std::uint64_t mine = next_ticket++;
      turn.in_line();
      served.wait(hold, [&] { return now_serving == mine; });
    }
    void unlock() {
      {
        std::lock_guard hold(mutex);
        ++now_serving;
      }
      served.notify_all();
    }
  };
};

} // namespace starvation
