#pragma once
// A counting semaphore for both forms: a POSIX sem_t, process-shared or not.
//
// Why not std::counting_semaphore: libstdc++ builds it on an atomic counter and a process-private
// futex, so it cannot work across processes, and Helgrind cannot see its happens-before edges
// (it reports races by the thousand on correct code). ThreadSanitizer and Helgrind both
// understand sem_post/sem_wait. Boost's interprocess_semaphore is this same sem_t with
// pshared = 1 on Linux.
//
// Under a controlled run (control.hpp) a worker that finds no permit is marked blocked on the
// semaphore until a release(), and one that finds one takes it with sem_wait, which then returns at
// once: so the tools see sem_post and sem_wait as ever. (Not sem_trywait: Helgrind does not see
// the ordering of a sem_trywait that succeeds.) Whether there is a permit the semaphore counts
// itself: under control every operation goes through here, one worker at a time (operations on it
// during a controlled run must come from its workers).
#include "hazardlab/control.hpp"

#include <semaphore.h>
#include <valgrind/helgrind.h>

#include <atomic>

#include <cerrno>
#include <system_error>

namespace hazardlab {

enum class Sharing { thread, process };

template <Sharing S>
class PosixSemaphore {
public:
  explicit PosixSemaphore(unsigned initial) : permits_(static_cast<int>(initial)) {
    VALGRIND_HG_DISABLE_CHECKING(&permits_, sizeof permits_); // the scheduler's, not the lab's: see has_permit
    if (::sem_init(&sem_, S == Sharing::process ? 1 : 0, initial) != 0)
      throw std::system_error(errno, std::generic_category(), "sem_init");
  }
  PosixSemaphore(const PosixSemaphore&) = delete;
  PosixSemaphore& operator=(const PosixSemaphore&) = delete;
  ~PosixSemaphore() { ::sem_destroy(&sem_); }

  void acquire() {
    if (control::active() && control::take(
                                 Point::acquire, this, [this] { return take_if_there(); }, &has_permit))
      return;
    wait();
  }
  bool try_acquire() {
    if (control::active() && control::point(Point::try_acquire, this)) return take_if_there();
    return ::sem_trywait(&sem_) == 0;
  }
  void release() {
    const bool controlled = control::active() && control::point(Point::release, this, 0, /*may_stop=*/false);
    if (::sem_post(&sem_) != 0) throw std::system_error(errno, std::generic_category(), "sem_post");
    if (controlled) {
      permits_.fetch_add(1, std::memory_order_relaxed);
      control::wake(this, /*all=*/false); // one permit: the worker that has waited longest
    }
  }
  int value() const noexcept {
    int v = 0;
    ::sem_getvalue(const_cast<sem_t*>(&sem_), &v); // reads only; the C API just is not const
    return v;
  }

private:
  void wait() {
    while (::sem_wait(&sem_) != 0) {
      if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "sem_wait");
    }
  }
  // Under control: takes a permit if there is one (sem_wait then returns at once).
  bool take_if_there() {
    if (!has_permit(this)) return false;
    wait();
    permits_.fetch_sub(1, std::memory_order_relaxed);
    return true;
  }
  // Whether a permit is there, as a controlled run counts them (also asked by the scheduler about a
  // woken waiter). Not sem_getvalue: ThreadSanitizer takes that for an acquire, an ordering the
  // scheduler must not add.
  static bool has_permit(const void* self) {
    return static_cast<const PosixSemaphore*>(self)->permits_.load(std::memory_order_relaxed) > 0;
  }

  sem_t sem_;
  std::atomic<int> permits_; // the count, as controlled runs see it (see has_permit)
};

} // namespace hazardlab
