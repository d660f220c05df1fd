#pragma once
// Form::Atomic<T>: std::atomic<T> with a scheduling point before every operation, like loom's
// atomics. Lock-free code built from std::atomic has no scheduling point between a load and the
// store that follows it, so neither --schedule forced nor --schedule explore could ever run another
// worker in between; with this type they can, and a ticket drawn with a separate load and store is
// caught drawing the same ticket twice.
//
// Outside a controlled run each operation is the std::atomic one plus one thread-local test.
// Standard layout and lock-free for the types the labs use, so it works in shared memory (the
// process form) as std::atomic does.
#include "hazardlab/control.hpp"

#include <atomic>
#include <concepts>
#include <cstdint>
#include <type_traits>

namespace hazardlab {

template <class T>
class Atomic {
public:
  static_assert(std::atomic<T>::is_always_lock_free, "Form::Atomic must work across processes: lock-free types only");
  using value_type = T;

  constexpr Atomic() noexcept = default;
  constexpr Atomic(T value) noexcept : value_(value) {} // NOLINT: initialized like std::atomic
  Atomic(const Atomic&) = delete;
  Atomic& operator=(const Atomic&) = delete;

  T load(std::memory_order order = std::memory_order_seq_cst) const {
    step("load");
    return value_.load(order);
  }
  void store(T value, std::memory_order order = std::memory_order_seq_cst) {
    step("store", value);
    value_.store(value, order);
  }
  T exchange(T value, std::memory_order order = std::memory_order_seq_cst) {
    step("exchange", value);
    return value_.exchange(value, order);
  }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order order = std::memory_order_seq_cst) {
    step("compare_exchange", desired);
    return value_.compare_exchange_strong(expected, desired, order);
  }
  // No spurious failure under control: a failure a student's loop would retry is a choice the
  // exploration makes already (another worker running first).
  bool compare_exchange_weak(T& expected, T desired, std::memory_order order = std::memory_order_seq_cst) {
    step("compare_exchange", desired);
    return value_.compare_exchange_strong(expected, desired, order);
  }
  T fetch_add(T delta, std::memory_order order = std::memory_order_seq_cst) requires std::integral<T> {
    step("fetch_add", delta);
    return value_.fetch_add(delta, order);
  }
  T fetch_sub(T delta, std::memory_order order = std::memory_order_seq_cst) requires std::integral<T> {
    step("fetch_sub", delta);
    return value_.fetch_sub(delta, order);
  }

  operator T() const { return load(); } // NOLINT: reads like std::atomic
  T operator=(T value) {
    store(value);
    return value;
  }
  T operator++() requires std::integral<T> { return fetch_add(1) + 1; }
  T operator++(int) requires std::integral<T> { return fetch_add(1); }
  T operator--() requires std::integral<T> { return fetch_sub(1) - 1; }
  T operator--(int) requires std::integral<T> { return fetch_sub(1); }
  T operator+=(T delta) requires std::integral<T> { return fetch_add(delta) + delta; }
  T operator-=(T delta) requires std::integral<T> { return fetch_sub(delta) - delta; }

private:
  void step(const char* what) const {
    if (control::active()) control::point(Point::atomic, &value_, 0, true, {what});
  }
  void step(const char* what, T value) const {
    if (!control::active()) return;
    if constexpr (std::is_integral_v<T> || std::is_enum_v<T>)
      control::point(Point::atomic, &value_, 0, true, {what, static_cast<std::int64_t>(value), true});
    else
      control::point(Point::atomic, &value_, 0, true, {what});
  }

  std::atomic<T> value_{};
};

} // namespace hazardlab
