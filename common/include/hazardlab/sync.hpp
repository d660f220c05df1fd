#pragma once
// The forms' mutex, shared mutex and condition variable: the standard library's (thread form) or
// Boost.Interprocess's (process form) primitive, with the same interface, and a scheduling point
// in front of each operation that can block or wake a waiter (control.hpp). When nobody controls
// the run, each operation is the primitive's own behind one predictable branch.
//
// Under control a lock is taken with the primitive's own try_lock (the scheduler lets exactly one
// worker run, so nobody else can be taking it at that moment): when it is held, the worker is
// marked blocked on it, another worker runs, and the unlock makes it runnable again. So
// ThreadSanitizer and Helgrind see the primitive's real lock and unlock, and nothing else.
#include "hazardlab/control.hpp"

#include <boost/interprocess/sync/scoped_lock.hpp>

#include <condition_variable>
#include <mutex>
#include <type_traits>

namespace hazardlab {

template <class NativeCV, class NativeMutex>
class ConditionVariable;

template <class Native>
class Mutex {
public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() {
    if (control::active() && control::take(Point::lock, this, [this] { return native_.try_lock(); })) return;
    native_.lock();
  }
  bool try_lock() {
    if (control::active()) control::point(Point::try_lock, this);
    return native_.try_lock();
  }
  void unlock() {
    if (control::active() && control::point(Point::unlock, this, 0, /*may_stop=*/false)) {
      let_go();
      return;
    }
    native_.unlock();
  }

protected:
  template <class, class>
  friend class ConditionVariable;

  // Unlocks and makes the workers blocked on it runnable, without a scheduling point of its own
  // (unlock(), and a condition variable's wait, have had theirs).
  void let_go() {
    native_.unlock();
    control::wake(this);
  }

  Native native_;
};

// A readers-writer lock: the mutex's lock, try_lock and unlock for a writer, and lock_shared,
// try_lock_shared and unlock_shared for readers.
template <class Native>
class SharedMutex : public Mutex<Native> {
public:
  void lock_shared() {
    if (control::active() && control::take(Point::lock, this, [this] { return try_shared(); })) return;
    if constexpr (requires { native().lock_shared(); })
      native().lock_shared();
    else
      native().lock_sharable();
  }
  bool try_lock_shared() {
    if (control::active()) control::point(Point::try_lock, this);
    return try_shared();
  }
  void unlock_shared() {
    const bool controlled = control::active() && control::point(Point::unlock, this, 0, /*may_stop=*/false);
    if constexpr (requires { native().unlock_shared(); })
      native().unlock_shared();
    else
      native().unlock_sharable();
    if (controlled) control::wake(this);
  }

private:
  Native& native() noexcept { return this->native_; }
  bool try_shared() {
    if constexpr (requires { native().try_lock_shared(); })
      return native().try_lock_shared();
    else
      return native().try_lock_sharable();
  }
};

// Waits with a std::unique_lock of the form's Mutex, like std::condition_variable.
template <class NativeCV, class NativeMutex>
class ConditionVariable {
public:
  using Lock = std::unique_lock<Mutex<NativeMutex>>;

  ConditionVariable() = default;
  ConditionVariable(const ConditionVariable&) = delete;
  ConditionVariable& operator=(const ConditionVariable&) = delete;

  void wait(Lock& lock) {
    if (control::active() && wait_under_control(lock)) return;
    native_wait(lock);
  }
  template <class Predicate>
  void wait(Lock& lock, Predicate ready) {
    while (!ready())
      wait(lock);
  }
  void notify_one() {
    if (control::active() && control::point(Point::notify, this, 0, /*may_stop=*/false)) {
      control::wake(this, /*all=*/false); // the worker that has waited longest
      return;
    }
    native_.notify_one();
  }
  void notify_all() {
    if (control::active() && control::point(Point::notify, this, 0, /*may_stop=*/false)) {
      control::wake(this);
      return;
    }
    native_.notify_all();
  }

private:
  // Marked waiting before the mutex is let go, so that nobody can slip a notify in between; woken
  // by a notify, it takes the mutex again (a wake-up without one, when control is given up or the
  // run ends, is a spurious wake-up: the caller's predicate loop looks again).
  bool wait_under_control(Lock& lock) {
    if (!control::point(Point::wait, this)) return false;
    if (!control::begin_block(Point::wait, this)) return false;
    Mutex<NativeMutex>& mutex = *lock.mutex();
    mutex.let_go();
    try {
      control::park_blocked();
    } catch (const WorkerStopped&) {
      // The run is ending: leave holding the mutex if it is free, as a wait returns; otherwise the
      // lock must not unlock what it no longer holds.
      if (!mutex.native_.try_lock()) (void)lock.release();
      throw;
    }
    mutex.lock();
    return true;
  }
  void native_wait(Lock& lock) {
    NativeMutex& native_mutex = lock.mutex()->native_;
    if constexpr (std::is_same_v<NativeCV, std::condition_variable>) {
      std::unique_lock<NativeMutex> native(native_mutex, std::adopt_lock);
      native_.wait(native);
      (void)native.release();
    } else {
      boost::interprocess::scoped_lock<NativeMutex> native(native_mutex, boost::interprocess::accept_ownership);
      native_.wait(native);
      (void)native.release();
    }
  }

  NativeCV native_;
};

} // namespace hazardlab
