#pragma once
// A grading fixture, not a model answer: a greedy lock that yields the CPU after unlocking, in the
// hope that a rival runs. On an idle machine it often does; but a yield promises nothing, and under
// the controlled schedule the greedy worker runs on past it and takes the lock straight back. The
// readers-writers lock is the reference's turnstile. The grading proofs check that it does not get
// full marks.
#include "starvation.hpp"

#include <thread>

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

    void lock(Turn& /*turn*/) { mutex.lock(); }
    void unlock() {
      mutex.unlock();
      std::this_thread::yield(); // let a rival have it
    }
  };
};

} // namespace starvation
