#pragma once
// What the labs use to arrange and to measure, written once.
//
// None of it is synchronization, and none of it is a scheduling point. The counters it keeps are
// the kit's bookkeeping and are relaxed on purpose: a relaxed atomic (like a yield, or the
// scheduler's hand-over) orders nothing, so a lab's racy accesses stay unordered, and
// ThreadSanitizer and Helgrind still see its race. A lock or a seq_cst fence here would be a
// happens-before edge that hides the very race the lab shows.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace hazardlab {

// Nanoseconds on CLOCK_MONOTONIC (std::chrono::steady_clock): one clock for every process of the
// machine, so a time stamped by one worker compares with one stamped by another, in either form.
inline std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Busy work for `length`: a stand-in for a critical section's or a worker's own work. It spins on
// the clock rather than sleeping, so that the worker keeps its CPU, as real work would.
inline void spin_for(std::chrono::nanoseconds length) noexcept {
  const auto until = std::chrono::steady_clock::now() + length;
  while (std::chrono::steady_clock::now() < until) {
  }
}

// Raises `peak` to `value` if it is lower: the most ever seen of a count ("most workers inside at
// once", "highest occupancy"), kept by several workers at once without a lock.
template <class T>
void raise_to(std::atomic<T>& peak, T value) noexcept {
  for (T seen = peak.load(std::memory_order_relaxed);
       value > seen && !peak.compare_exchange_weak(seen, value, std::memory_order_relaxed);) {
  }
}

} // namespace hazardlab
