#pragma once
// A counting semaphore for both forms: a POSIX sem_t, process-shared or not.
//
// Why not std::counting_semaphore: libstdc++ builds it on an atomic counter and a process-private
// futex, so it cannot work across processes, and Helgrind cannot see its happens-before edges
// (it reports races by the thousand on correct code). ThreadSanitizer and Helgrind both
// understand sem_post/sem_wait. Boost's interprocess_semaphore is this same sem_t with
// pshared = 1 on Linux.
#include <semaphore.h>

#include <cerrno>
#include <system_error>

namespace hazardlab {

enum class Sharing { thread, process };

template <Sharing S>
class PosixSemaphore {
public:
  explicit PosixSemaphore(unsigned initial) {
    if (::sem_init(&sem_, S == Sharing::process ? 1 : 0, initial) != 0)
      throw std::system_error(errno, std::generic_category(), "sem_init");
  }
  PosixSemaphore(const PosixSemaphore&) = delete;
  PosixSemaphore& operator=(const PosixSemaphore&) = delete;
  ~PosixSemaphore() { ::sem_destroy(&sem_); }

  void acquire() {
    while (::sem_wait(&sem_) != 0) {
      if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "sem_wait");
    }
  }
  bool try_acquire() noexcept { return ::sem_trywait(&sem_) == 0; }
  void release() {
    if (::sem_post(&sem_) != 0) throw std::system_error(errno, std::generic_category(), "sem_post");
  }
  int value() const noexcept {
    int v = 0;
    ::sem_getvalue(const_cast<sem_t*>(&sem_), &v); // reads only; the C API just is not const
    return v;
  }

private:
  sem_t sem_;
};

} // namespace hazardlab
