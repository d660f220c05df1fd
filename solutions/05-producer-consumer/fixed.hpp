#pragma once
// Lab 05 reference fixes.
#include "broken.hpp"
#include "prodcons.hpp"

#include <optional>

namespace prodcons {

// The classic solution: the buffer of BrokenNoShutdown (wait for a slot first, then hold the
// mutex only around the indices) plus the one thing it lacks, a poison pill per consumer.
//   empty_slots + filled_slots == capacity, give or take the items in flight: a producer never
//   finds the ring full, a consumer never finds it empty;
//   the mutex is never held while waiting on a semaphore, so nobody can sleep holding what the
//   worker who would wake them needs.
template <class Form>
struct Fixed {
  static void put(State<Form>& s, Item item, hazardlab::Worker& worker) {
    BrokenNoShutdown<Form>::put(s, item, worker);
  }
  static std::optional<Item> take(State<Form>& s, hazardlab::Worker& worker) {
    return unless_end_of_production(*BrokenNoShutdown<Form>::take(s, worker));
  }
  static void close(State<Form>& s, hazardlab::Worker& worker) { send_one_pill_per_consumer<Fixed>(s, worker); }
};

// The same ring with a mutex and two condition variables instead of the semaphores, and a closed
// flag under the mutex instead of the pills. Each wait re-checks its condition in a loop (the
// predicate form), because a wake-up is a hint, not a promise: another consumer may have taken
// the item first, and spurious wake-ups happen.
template <class Form>
struct FixedCondvar {
  static void put(State<Form>& s, Item item, hazardlab::Worker&) {
    typename Form::Lock lock(s.condvar_mutex);
    s.not_full.wait(lock, [&] { return s.count < s.ring.capacity; });
    s.ring.push(item);
    ++s.count;
    s.not_empty.notify_one();
  }
  static std::optional<Item> take(State<Form>& s, hazardlab::Worker&) {
    typename Form::Lock lock(s.condvar_mutex);
    s.not_empty.wait(lock, [&] { return s.count > 0 || s.closed; });
    if (s.count == 0) return std::nullopt; // closed, and every item taken
    const Item item = s.ring.pop();
    --s.count;
    s.not_full.notify_one();
    return item;
  }
  static void close(State<Form>& s, hazardlab::Worker&) {
    typename Form::Lock lock(s.condvar_mutex);
    s.closed = true;
    s.not_empty.notify_all(); // every consumer asleep must wake up to see it
  }
};

} // namespace prodcons
