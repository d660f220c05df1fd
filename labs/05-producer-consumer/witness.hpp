#pragma once
// Lab 05's witness: what the judge learns about every slot of the ring as the workers fill and
// empty it. It is not part of the lesson: it only watches, with relaxed atomics that order nothing
// (hazardlab/toolkit.hpp says why that matters), there only to say what went wrong.
//
// It lives in its own header because the Ring (prodcons.hpp) holds one, so it must be complete
// before the Ring is; it is a template over the Ring's Item for the same reason.
#include "hazardlab/toolkit.hpp"

#include <array>
#include <atomic>
#include <cstdint>

namespace prodcons {

template <class Item, int kSlots>
struct SlotWitness {
  static constexpr int kNamed = 3; // overwritten items the report names

  // A slot is about to be filled; `held` is what it holds now, read only if nobody took it.
  void filling(int slot, const Item& held) {
    if (holds_unconsumed[slot].exchange(true, std::memory_order_relaxed)) note_overwritten(held);
    hazardlab::raise_to(max_occupancy, occupancy.fetch_add(1, std::memory_order_relaxed) + 1);
  }
  // A slot has just been emptied.
  void emptied(int slot) {
    if (!holds_unconsumed[slot].exchange(false, std::memory_order_relaxed))
      stale_reads.fetch_add(1, std::memory_order_relaxed);
    occupancy.fetch_sub(1, std::memory_order_relaxed);
  }

  std::array<std::atomic<bool>, kSlots> holds_unconsumed{};
  std::atomic<int> occupancy{0};     // items put minus items taken
  std::atomic<int> max_occupancy{0}; // above capacity: items were put into slots still full
  std::atomic<std::uint64_t> overwritten{0};
  std::atomic<std::uint64_t> stale_reads{0}; // takes from a slot that held nothing new
  std::array<std::atomic<Item>, kNamed> first_overwritten{};

private:
  void note_overwritten(Item victim) {
    const auto n = overwritten.fetch_add(1, std::memory_order_relaxed);
    if (n < kNamed) first_overwritten[n].store(victim, std::memory_order_relaxed);
  }
};

} // namespace prodcons
