#pragma once
// The broken variants of lab 05: the classic bounded buffer with one thing missing or misplaced.
#include "prodcons.hpp"

#include <mutex>
#include <optional>

namespace prodcons {

// The semaphores, but no mutex. The semaphores count correctly; they do not stop two producers
// (or two consumers) from reading the same index before either writes it back.
template <class Form>
struct BrokenNoMutex {
  static void put(State<Form>& s, Item item, hazardlab::Worker& worker) {
    s.empty_slots.acquire();
    const int slot = s.ring.in;
    // Forced: every producer has read the same `in` before any writes it.
    worker.hazard_point("read in", slot);
    s.ring.put_at(slot, item);
    s.ring.in = (slot + 1) % s.ring.capacity;
    s.filled_slots.release();
  }
  static std::optional<Item> take(State<Form>& s, hazardlab::Worker& worker) {
    s.filled_slots.acquire();
    const int slot = s.ring.out;
    // Forced: every consumer has read the same `out` before any writes it.
    worker.hazard_point("read out", slot);
    const Item item = s.ring.take_from(slot);
    s.ring.out = (slot + 1) % s.ring.capacity;
    s.empty_slots.release();
    return unless_end_of_production(item);
  }
  static void close(State<Form>& s, hazardlab::Worker& worker) { send_one_pill_per_consumer<BrokenNoMutex>(s, worker); }
  static constexpr const char* why_it_fails =
      "two producers can read the same `in` and fill the same slot (an item lost), two consumers the same `out` "
      "and take the same item (an item twice): the indices need the mutex";
};

// The buffer is right, but nobody tells the consumers that production has ended: each takes its
// share of the items and then waits for a filled slot that will never come.
template <class Form>
struct BrokenNoShutdown {
  static void put(State<Form>& s, Item item, hazardlab::Worker&) {
    s.empty_slots.acquire(); // first the slot: a producer sleeps here holding nothing
    {
      std::lock_guard hold(s.mutex); // then the indices, for as short a time as possible
      s.ring.push(item);
    }
    s.filled_slots.release();
  }
  static std::optional<Item> take(State<Form>& s, hazardlab::Worker&) {
    s.filled_slots.acquire();
    Item item;
    {
      std::lock_guard hold(s.mutex);
      item = s.ring.pop();
    }
    s.empty_slots.release();
    return item; // every item is a real one: no consumer ever learns that production ended
  }
  static void close(State<Form>&, hazardlab::Worker&) {} // production ended, and nobody is told
  static constexpr const char* why_it_fails =
      "the consumers are never told that production ended: send one end-of-production pill per consumer (or set a "
      "closed flag under the mutex and wake them all)";
};

// The mutex taken before the wait for an empty slot. When the ring is full, a producer sleeps on
// empty_slots holding the mutex, and no consumer can get in to free a slot.
template <class Form>
struct BrokenMutexFirst {
  static void put(State<Form>& s, Item item, hazardlab::Worker&) {
    std::lock_guard hold(s.mutex);
    s.empty_slots.acquire(); // sleeps with the mutex held when the ring is full
    s.ring.push(item);
    s.filled_slots.release();
  }
  static std::optional<Item> take(State<Form>& s, hazardlab::Worker& worker) {
    return unless_end_of_production(*BrokenNoShutdown<Form>::take(s, worker));
  }
  static void close(State<Form>& s, hazardlab::Worker& worker) {
    send_one_pill_per_consumer<BrokenMutexFirst>(s, worker);
  }
  static constexpr const char* why_it_fails =
      "a producer waits for an empty slot while holding the mutex, and only a consumer, who needs that mutex, can "
      "free one: wait on the semaphore first, then take the mutex";
};

// No semaphore counting empty slots: nothing makes a producer wait when the ring is full, so it
// writes over items not yet consumed. The mutex is there, so there is no data race at all.
template <class Form>
struct BrokenNoEmptyCount {
  static void put(State<Form>& s, Item item, hazardlab::Worker&) {
    {
      std::lock_guard hold(s.mutex);
      s.ring.push(item);
    }
    s.filled_slots.release();
  }
  static std::optional<Item> take(State<Form>& s, hazardlab::Worker&) {
    s.filled_slots.acquire();
    std::lock_guard hold(s.mutex);
    return unless_end_of_production(s.ring.pop()); // and no empty slot is given back: nobody counts them
  }
  static void close(State<Form>& s, hazardlab::Worker& worker) {
    send_one_pill_per_consumer<BrokenNoEmptyCount>(s, worker);
  }
  static constexpr const char* why_it_fails =
      "nothing counts the empty slots, so nothing stops a producer when the ring is full: it writes over items no "
      "consumer has taken yet";
};

} // namespace prodcons
