#pragma once
// Lab 05 — producer-consumer: the contract your exercise works with.
//
// P producers and C consumers share a ring of `capacity` slots and move `items` items through it
// with the classic three, all in State:
//   empty_slots   a semaphore counting free slots: a producer takes one before it puts
//   filled_slots  a semaphore counting filled slots: a consumer takes one before it takes
//   mutex         around the ring's two indices, `in` (next slot to fill) and `out` (next to empty)
// They are traced (common/include/hazardlab/traced_lock.hpp), so a stuck run reports who holds
// the mutex and who waits for what, and they are right for both forms (ThreadForm or ProcessForm,
// see common/include/hazardlab/forms.hpp). A std::mutex of your own is right for neither.
//
// A variant is a class template over the form with three functions:
//   static void put(State<Form>&, Item, Worker&)            a producer puts one item
//   static std::optional<Item> take(State<Form>&, Worker&)  a consumer takes the next item, or
//                                                           nothing once production has ended
//   static void close(State<Form>&, Worker&)                the last producer, after its last
//                                                           item: production has ended
// and optionally `static constexpr const char* why_it_fails`, a line added to a failed run.
//
// worker.hazard_point("read in", slot) marks the window between reading an index and writing it
// back. Under --schedule forced and explore the kit's scheduler may run another worker there (and
// at every operation on the semaphores, the mutex and the condition variables); in a natural run
// it costs nothing. A correct buffer survives anything happening at it.
//
// The invariant: every item a producer makes is consumed exactly once (each carries its producer
// and sequence number, p1#4173, and the consumers report every item they get); the ring is never
// asked to hold more than `capacity` items; and every worker finishes: the consumers stop once
// production has ended, and nobody sleeps forever on a semaphore or the mutex.
//
// How a run is driven and judged (run.hpp, judge.hpp, and the ring's witness in witness.hpp) is
// not yours to read or change: only exercise.hpp is collected and graded.
#include "witness.hpp"

#include "hazardlab/traced_lock.hpp"
#include "hazardlab/workers.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <vector>

namespace prodcons {

inline constexpr int kMaxCapacity = 4096;

struct Item {
  static constexpr std::int32_t kNothing = -1;         // a slot nobody has filled yet
  static constexpr std::int32_t kEndOfProduction = -2; // a poison pill: "no more items"

  std::int32_t producer = kNothing;
  std::uint32_t sequence = 0; // 0, 1, 2 … for each producer

  static constexpr Item end_of_production() noexcept { return {kEndOfProduction, 0}; }
  bool is_end_of_production() const noexcept { return producer == kEndOfProduction; }
};

// The ring of slots. put_at and take_from are one step each; push and pop do a whole put or take.
struct Ring {
  explicit Ring(int capacity) : capacity(capacity) {}

  const int capacity;
  int in = 0;  // the next slot to fill
  int out = 0; // the next slot to empty

  // slots[slot] = item
  void put_at(int slot, Item item) {
    witness.filling(slot, slots[slot]);
    slots[slot] = item;
  }
  // the item in slots[slot], which is now free again
  Item take_from(int slot) {
    const Item item = slots[slot];
    witness.emptied(slot);
    return item;
  }
  // Both steps at once: fill the slot at `in` and move `in` on; empty the slot at `out` and move
  // `out` on. Nobody else may touch the indices meanwhile: the caller holds the mutex.
  void push(Item item) {
    put_at(in, item);
    in = (in + 1) % capacity;
  }
  Item pop() {
    const Item item = take_from(out);
    out = (out + 1) % capacity;
    return item;
  }

  std::array<Item, kMaxCapacity> slots{};

  // The judge's eyes on every slot (witness.hpp): it watches, and orders nothing.
  SlotWitness<Item, kMaxCapacity> witness;
};

template <class Form>
struct State {
  using Traced = hazardlab::TracedLocks<Form>;

  // The workers by id, producers and consumers: who gives each semaphore, for a stuck run's report.
  State(int capacity, const std::vector<int>& producer_ids, const std::vector<int>& consumer_ids)
      : sync("ring mutex", 1,
             {{"an empty slot", static_cast<unsigned>(capacity), consumer_ids}, {"a filled slot", 0, producer_ids}}),
        consumers(static_cast<int>(consumer_ids.size())), ring(capacity),
        producers_left(static_cast<int>(producer_ids.size())) {}

  // The classic three.
  Traced sync;
  typename Traced::Lock mutex = sync[0];
  typename Traced::Semaphore empty_slots = sync.semaphore(0);  // given back by the consumers
  typename Traced::Semaphore filled_slots = sync.semaphore(1); // given by the producers
  const int consumers;                                         // how many need telling that it ended

  Ring ring;

  // fixed-condvar's buffer: the same ring under a mutex and two condition variables.
  typename Form::Mutex condvar_mutex;
  typename Form::ConditionVariable not_full;
  typename Form::ConditionVariable not_empty;
  int count = 0;
  bool closed = false;

  // The kit's: the producer that takes producers_left to 0 calls close(); phantoms counts the
  // "items" that no producer made (an empty slot), for the judge.
  std::atomic<int> producers_left;
  std::atomic<std::uint64_t> phantoms{0};
};

// How most variants end production: the last producer puts one poison pill per consumer, and
// each consumer stops at the first pill it takes. Items put before the pills are taken first.
template <class Variant, class Form>
void send_one_pill_per_consumer(State<Form>& s, hazardlab::Worker& worker) {
  for (int c = 0; c < s.consumers; ++c)
    Variant::put(s, Item::end_of_production(), worker);
}

// What take() returns for what it took: the item, or nothing for a poison pill.
inline std::optional<Item> unless_end_of_production(Item item) {
  if (item.is_end_of_production()) return std::nullopt;
  return item;
}

} // namespace prodcons
