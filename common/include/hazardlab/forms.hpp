#pragma once
// The two forms a lab runs in. A lab's code is written once as a template over Form and takes
// everything form-specific from here: the primitive types and where shared state is placed.
// Spawning workers is run_workers<Form>() in workers.hpp.
//
// The primitives are the kit's own thin types over the standard ones (sync.hpp, semaphore.hpp):
// the same interface and the same primitive underneath, plus the scheduling points that let a
// controlled run (--schedule forced, --schedule explore) decide who runs. Atomic<T> is std::atomic
// with a scheduling point before each operation (atomic.hpp): lock-free code written with it is
// explored between its loads and its stores.
#include "hazardlab/atomic.hpp"
#include "hazardlab/semaphore.hpp"
#include "hazardlab/shared.hpp"
#include "hazardlab/sync.hpp"

#include <boost/interprocess/sync/interprocess_condition.hpp>
#include <boost/interprocess/sync/interprocess_mutex.hpp>
#include <boost/interprocess/sync/interprocess_sharable_mutex.hpp>

#include <condition_variable>
#include <mutex>
#include <shared_mutex>
#include <string_view>

namespace hazardlab {

enum class FormKind { thread, process };

constexpr std::string_view to_string(FormKind form) noexcept { return form == FormKind::thread ? "thread" : "process"; }

// Workers are std::jthreads in one process; shared state is on the heap.
struct ThreadForm {
  static constexpr FormKind kind = FormKind::thread;
  using Mutex = hazardlab::Mutex<std::mutex>;
  using Lock = std::unique_lock<Mutex>;
  using ConditionVariable = hazardlab::ConditionVariable<std::condition_variable, std::mutex>;
  using SharedMutex = hazardlab::SharedMutex<std::shared_mutex>;
  using Semaphore = PosixSemaphore<Sharing::thread>;
  template <class T>
  using Atomic = hazardlab::Atomic<T>;
  template <class T>
  using Shared = HeapShared<T>;
  template <class T>
  using SharedArray = HeapSharedArray<T>;
};

// Workers are fork()ed children; shared state is in an anonymous shared mapping. Every
// primitive here is process-shared (PTHREAD_PROCESS_SHARED / pshared sem_t): a std::mutex is
// not, which lab 01's broken-private-mutex variant shows.
struct ProcessForm {
  static constexpr FormKind kind = FormKind::process;
  using Mutex = hazardlab::Mutex<boost::interprocess::interprocess_mutex>;
  using Lock = std::unique_lock<Mutex>;
  using ConditionVariable = hazardlab::ConditionVariable<boost::interprocess::interprocess_condition,
                                                         boost::interprocess::interprocess_mutex>;
  using SharedMutex = hazardlab::SharedMutex<boost::interprocess::interprocess_sharable_mutex>;
  using Semaphore = PosixSemaphore<Sharing::process>;
  template <class T>
  using Atomic = hazardlab::Atomic<T>;
  template <class T>
  using Shared = MappedShared<T>;
  template <class T>
  using SharedArray = MappedSharedArray<T>;
};

// Constructs a T where all of the form's workers can reach it. For the process form, call it
// before the workers are spawned: children see only what was mapped before fork().
template <class Form, class T, class... Args>
typename Form::template Shared<T> place(Args&&... args) {
  return typename Form::template Shared<T>(std::forward<Args>(args)...);
}

// `size` value-initialized Ts, placed as place() places one.
template <class Form, class T>
typename Form::template SharedArray<T> place_array(std::size_t size) {
  return typename Form::template SharedArray<T>(size);
}

} // namespace hazardlab
