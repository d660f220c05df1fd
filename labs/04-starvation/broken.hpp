#pragma once
// The broken variants of lab 04: locks that let some workers in again and again while another
// waits.
#include "starvation.hpp"

namespace starvation {

// Readers-writers: the reader-preference lock of the classic semaphore solutions. The room is a
// semaphore (the last reader out releases what the first reader in took, which a mutex may not
// do); the lightswitch lets a reader in whenever another reader is inside. A writer must wait for
// an empty room, and if the readers overlap, the room never empties.
// Greedy: a plain mutex. Unlocking it hands it to nobody: whoever asks next gets it, and a worker
// that asks again at once, still running on its CPU, is always next.
template <class Form>
struct Broken {
  struct ReadersWriterLock {
    Lightswitch<Form> readers;
    typename Form::Semaphore room{1}; // 1: nobody inside

    void lock_shared(Turn& /*turn*/) { readers.enter(room); }
    void unlock_shared() { readers.leave(room); }
    void lock(Turn& /*turn*/) { room.acquire(); }
    void unlock() { room.release(); }
  };

  struct Lock {
    typename Form::Mutex mutex;

    void lock(Turn& /*turn*/) { mutex.lock(); }
    void unlock() { mutex.unlock(); }
  };
};

// Readers-writers with the standard library's own lock. glibc's pthread rwlock, under
// std::shared_mutex, prefers readers by default (PTHREAD_RWLOCK_PREFER_READER_NP): a reader gets
// in while other readers are inside even when a writer is waiting. A thread-form variant only:
// std::shared_mutex is not process-shared.
template <class Form>
struct BrokenSharedMutex {
  struct ReadersWriterLock {
    typename Form::SharedMutex mutex; // the thread form's: std::shared_mutex

    void lock_shared(Turn& /*turn*/) { mutex.lock_shared(); }
    void unlock_shared() { mutex.unlock_shared(); }
    void lock(Turn& /*turn*/) { mutex.lock(); }
    void unlock() { mutex.unlock(); }
  };
};

} // namespace starvation
