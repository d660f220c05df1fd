#pragma once
// A reusable barrier for both forms, from the form's mutex and condition variable.
// Why not std::barrier: libstdc++'s waits on a process-private futex, so it cannot line up
// processes. A mutex + condition variable pair is process-shared in the process form and is
// understood by both ThreadSanitizer and Helgrind.
#include <cstdint>

namespace hazardlab {

template <class Form>
class Barrier {
public:
  explicit Barrier(int parties) : parties_(parties) {}

  void arrive_and_wait() {
    typename Form::Lock lock(mutex_);
    const std::uint64_t my_generation = generation_;
    if (++arrived_ == parties_) {
      arrived_ = 0;
      ++generation_;
      released_.notify_all();
      return;
    }
    released_.wait(lock, [&] { return generation_ != my_generation; });
  }

private:
  typename Form::Mutex mutex_;
  typename Form::ConditionVariable released_;
  int parties_;
  int arrived_ = 0;
  std::uint64_t generation_ = 0; // tells a wake-up of this round from one of the next
};

} // namespace hazardlab
