#pragma once
// Lab 05 — producer-consumer: a bounded buffer with semaphores.
//
// P producers and C consumers share a ring of `capacity` slots and move `items` items through
// it with the classic three:
//   empty_slots   a semaphore counting free slots: a producer takes one before it puts
//   filled_slots  a semaphore counting filled slots: a consumer takes one before it takes
//   mutex         around the ring's two indices, `in` (next slot to fill) and `out` (next to empty)
// Every item carries its producer and sequence number (p1#4173), and the consumers report every
// item they get, so the lab accounts for each one: it must be consumed exactly once.
//
// A variant is a class template over the form with three functions:
//   static void put(State<Form>&, Item, Worker&)            a producer puts one item
//   static std::optional<Item> take(State<Form>&, Worker&)  a consumer takes the next item, or
//                                                           nothing once production has ended
//   static void close(State<Form>&, Worker&)                the last producer, after its last
//                                                           item: production has ended
// and optionally `static constexpr const char* why_it_fails`, a line added to a failed run.
#include "hazardlab/cli.hpp"
#include "hazardlab/control.hpp"
#include "hazardlab/traced_lock.hpp"
#include "hazardlab/workers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace prodcons {

inline constexpr int kMaxCapacity = 4096;
inline constexpr std::uint64_t kMaxItems = 10'000'000;

struct Params {
  int producers = 2;
  int consumers = 2;
  int capacity = 8;
  std::uint64_t items = 10'000; // in all, shared out among the producers
};

struct Item {
  static constexpr std::int32_t kNothing = -1;         // a slot nobody has filled yet
  static constexpr std::int32_t kEndOfProduction = -2; // a poison pill: "no more items"

  std::int32_t producer = kNothing;
  std::uint32_t sequence = 0; // 0, 1, 2 … for each producer

  static constexpr Item end_of_production() noexcept { return {kEndOfProduction, 0}; }
  bool is_end_of_production() const noexcept { return producer == kEndOfProduction; }
};

// "p1#4173"
inline std::string name_of(Item item) {
  if (item.producer == Item::kNothing) return "an empty slot";
  if (item.is_end_of_production()) return "an end-of-production pill";
  return fmt::format("p{}#{}", item.producer, item.sequence);
}

// How many items producer p makes, and the number of its first item among all of them.
inline std::uint64_t share_of(const Params& params, int p) {
  const auto producers = static_cast<std::uint64_t>(params.producers);
  return params.items / producers + (static_cast<std::uint64_t>(p) < params.items % producers ? 1 : 0);
}
// Whether a producer made this item: not an empty slot, a pill, or a torn read.
inline bool made_by_a_producer(const Params& params, Item item) {
  return item.producer >= 0 && item.producer < params.producers && item.sequence < share_of(params, item.producer);
}
inline std::uint64_t first_of(const Params& params, int p) {
  std::uint64_t first = 0;
  for (int q = 0; q < p; ++q)
    first += share_of(params, q);
  return first;
}

// The ring of slots, with a witness that watches every slot written and read. The witness is
// not part of the lesson: relaxed atomics that order nothing (so the tools still see a broken
// variant's races), there only to say what went wrong.
struct Ring {
  explicit Ring(int capacity) : capacity(capacity) {}

  const int capacity;
  int in = 0;  // the next slot to fill
  int out = 0; // the next slot to empty

  // slots[slot] = item
  void put_at(int slot, Item item) {
    if (holds_unconsumed[slot].exchange(true, std::memory_order_relaxed)) note_overwritten(slots[slot]);
    slots[slot] = item;
    const int now = occupancy.fetch_add(1, std::memory_order_relaxed) + 1;
    for (int peak = max_occupancy.load(std::memory_order_relaxed);
         now > peak && !max_occupancy.compare_exchange_weak(peak, now, std::memory_order_relaxed);) {
    }
  }
  // the item in slots[slot], which is now free again
  Item take_from(int slot) {
    const Item item = slots[slot];
    if (!holds_unconsumed[slot].exchange(false, std::memory_order_relaxed))
      stale_reads.fetch_add(1, std::memory_order_relaxed);
    occupancy.fetch_sub(1, std::memory_order_relaxed);
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

  // The witness.
  static constexpr int kNamed = 3;
  std::array<std::atomic<bool>, kMaxCapacity> holds_unconsumed{};
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

template <class Form>
struct State {
  using Traced = hazardlab::TracedLocks<Form>;

  State(const Params& params, const std::vector<int>& producers, const std::vector<int>& consumers)
      : sync("ring mutex", 1,
             {{"an empty slot", static_cast<unsigned>(params.capacity), consumers}, {"a filled slot", 0, producers}}),
        consumers(params.consumers), ring(params.capacity), producers_left(params.producers) {}

  // The classic three, traced: a stuck run reports who holds the mutex and who waits for what.
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

  std::atomic<int> producers_left;        // the producer that takes it to 0 calls close()
  std::atomic<std::uint64_t> phantoms{0}; // "items" that no producer made (an empty slot)
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

// What the consumers got, against what the producers made.
struct Accounting {
  std::uint64_t exactly_once = 0;
  std::uint64_t never = 0;        // produced (or due) but never consumed
  std::uint64_t duplicates = 0;   // extra copies consumed
  std::vector<std::string> named; // the first few items that went wrong, by name
};

inline Accounting account(const Params& params, const std::atomic<std::uint32_t>* times_consumed) {
  constexpr std::size_t kNamed = 3;
  Accounting a;
  std::vector<std::string> never_named;
  std::uint64_t index = 0;
  for (int p = 0; p < params.producers; ++p) {
    for (std::uint64_t seq = 0; seq < share_of(params, p); ++seq, ++index) {
      const auto times = times_consumed[index].load(std::memory_order_relaxed);
      const Item item{p, static_cast<std::uint32_t>(seq)};
      if (times == 1) {
        ++a.exactly_once;
      } else if (times == 0) {
        if (a.never++ < kNamed) never_named.push_back(fmt::format("item {} never consumed", name_of(item)));
      } else {
        a.duplicates += times - 1;
        if (a.named.size() < kNamed)
          a.named.push_back(
              fmt::format("item {} consumed {}", name_of(item), times == 2 ? "twice" : fmt::format("{} times", times)));
      }
    }
  }
  a.named.insert(a.named.end(), never_named.begin(), never_named.end());
  return a;
}

// The invariants: every item consumed exactly once, the ring never asked to hold more than its
// capacity, and every worker done. Damage outranks a freeze (broken-no-mutex can lose a poison
// pill with the items, and then freezes too); a freeze without damage is explained with the
// wait-for graph.
template <class Form>
hazardlab::RunResult judge(const Params& params, const State<Form>& s, const std::atomic<std::uint32_t>* times_consumed,
                           const hazardlab::WorkersReport& report, hazardlab::WaitForGraph graph,
                           const std::vector<std::string>& names) {
  using hazardlab::counted;
  using hazardlab::grouped;
  const Ring& ring = s.ring;
  const auto unfinished = hazardlab::unfinished_run(report, names);
  if (unfinished && unfinished->verdict == hazardlab::Verdict::crashed) return *unfinished;

  // Everything read here is atomic: safe even beside the abandoned threads of a stuck run.
  const Accounting a = account(params, times_consumed);
  const std::uint64_t overwritten = ring.overwritten.load(std::memory_order_relaxed);
  const std::uint64_t stale = ring.stale_reads.load(std::memory_order_relaxed);
  const std::uint64_t phantoms = s.phantoms.load(std::memory_order_relaxed);
  const auto peak = static_cast<std::uint64_t>(ring.max_occupancy.load(std::memory_order_relaxed));
  const auto capacity = static_cast<std::uint64_t>(params.capacity);
  std::uint64_t produced = 0;
  std::uint64_t consumed = 0;
  for (int w = 0; w < std::ssize(report.progress); ++w)
    (w < params.producers ? produced : consumed) += report.progress[w];
  // Once production has ended, an item not consumed is lost (a frozen run leaves it in the ring);
  // before that it may just be late.
  const bool production_ended = s.producers_left.load(std::memory_order_relaxed) == 0;
  const std::uint64_t lost = production_ended ? a.never : 0;

  hazardlab::RunResult result;
  result.elapsed_ms = report.elapsed_ms;
  result.metrics["items"] = params.items;
  result.metrics["produced"] = produced;
  result.metrics["consumed"] = consumed;
  result.metrics["exactly_once"] = a.exactly_once;
  result.metrics["lost"] = lost;
  result.metrics["duplicated"] = a.duplicates;
  result.metrics["overwritten"] = overwritten;
  result.metrics["stale_reads"] = stale;
  result.metrics["phantoms"] = phantoms;
  result.metrics["max_occupancy"] = peak; // pills included: they take slots too
  result.metrics["capacity"] = capacity;

  const bool damaged = a.duplicates + overwritten + stale + phantoms > 0 || (!unfinished && lost > 0);
  if (damaged) {
    result.verdict = hazardlab::Verdict::hazard;
    if (peak > capacity) {
      result.kind = "overwritten";
      result.summary = fmt::format("{} overwritten before anyone consumed them: the producers put up to {} into {}",
                                   counted(overwritten, "item", "items"), counted(peak, "item", "items"),
                                   counted(capacity, "slot", "slots"));
    } else {
      result.kind = "lost-and-duplicated";
      result.summary = fmt::format("{} {} and {} consumed more than once (of {}), though the ring never held more "
                                   "than {} of {}",
                                   counted(production_ended ? lost : overwritten, "item", "items"),
                                   production_ended ? "lost" : "overwritten", grouped(a.duplicates),
                                   grouped(params.items), grouped(peak), grouped(capacity));
    }
    // Name the overwritten items that were never consumed (a victim read in passing may be an
    // old item, already consumed, or nothing at all when two producers filled the slot at once).
    for (int i = 0; i < Ring::kNamed && static_cast<std::uint64_t>(i) < overwritten; ++i) {
      const Item victim = ring.first_overwritten[i].load(std::memory_order_relaxed);
      if (made_by_a_producer(params, victim) &&
          times_consumed[first_of(params, victim.producer) + victim.sequence].load(std::memory_order_relaxed) == 0)
        result.details.push_back(fmt::format("item {} overwritten before anyone consumed it", name_of(victim)));
    }
    result.details.insert(result.details.end(), a.named.begin(), a.named.end());
    if (stale > 0)
      result.details.push_back(fmt::format("{} found a slot with nothing new in it", counted(stale, "take", "takes")));
    if (phantoms > 0)
      result.details.push_back(fmt::format("{} handed a consumer something no producer made (an empty slot)",
                                           counted(phantoms, "take", "takes")));
    if (unfinished) result.details.push_back("and then the run froze: " + report.what);
    return result;
  }

  if (unfinished) {
    auto stuck = *unfinished;
    stuck.metrics.update(result.metrics);
    hazardlab::explain_stuck(stuck, graph);
    if (stuck.kind != "timeout" && stuck.kind != "frozen") return stuck; // a deadlock, or only too slow
    // Production over, and every worker still there is a consumer asleep on "a filled slot".
    bool at_shutdown = production_ended;
    std::uint64_t waiting = 0;
    for (int w = 0; w < graph.workers(); ++w) {
      if (report.finished[w]) continue;
      ++waiting;
      at_shutdown = at_shutdown && w >= params.producers && graph.awaited(w) == hazardlab::kAwaitsSemaphore + 1;
    }
    if (at_shutdown) {
      stuck.kind = "at-shutdown";
      stuck.summary = fmt::format("stuck at shutdown: production ended and {} of {} items were consumed, but {} "
                                  "still {} for a filled slot that no producer will ever give",
                                  grouped(a.exactly_once), grouped(params.items),
                                  counted(waiting, "consumer", "consumers"), waiting == 1 ? "waits" : "wait");
    }
    return stuck;
  }

  const double seconds = report.elapsed_ms / 1000.0;
  const double rate = seconds > 0 ? static_cast<double>(consumed) / seconds : 0.0;
  result.metrics["items_per_s"] = rate;
  result.summary = fmt::format("{}, each consumed exactly once; the ring held at most {} of {}; {} items/s",
                               counted(params.items, "item", "items"), grouped(peak), grouped(capacity),
                               grouped(static_cast<std::uint64_t>(std::llround(rate))));
  return result;
}

// --schedule forced: the script that decides who runs (hazardlab/control.hpp).
//  - Each worker's first hazard point in lockstep: there the next worker runs, so two producers
//    read the same `in` before either writes it back (broken-no-mutex loses an item), and two
//    consumers the same `out` (an item taken twice).
//  - The producers get a head start: while the ring has never been full and production has not
//    ended, a consumer runs only when no producer can. So the ring is full when the first consumer
//    comes, on every run: broken-mutex-first's producer is then asleep on an empty slot holding the
//    mutex, broken-no-empty-count's producers have already written over items.
//  - Otherwise each worker runs until it blocks: a producer fills the ring, a consumer empties it
//    (about two switches for every `capacity` items).
// A run that freezes (every unfinished worker blocked) is stuck at once: the mutex-first deadlock,
// and broken-no-shutdown's consumers waiting for items that no producer will make.
template <class Form>
hazardlab::Script forced_script(const State<Form>* s, int producers) {
  return [s, producers](const hazardlab::Decision& d) {
    const hazardlab::WorkerSet producer_set = (hazardlab::WorkerSet{1} << producers) - 1; // producers <= 63
    hazardlab::WorkerSet candidates = d.eligible();
    const bool head_start = s->ring.max_occupancy.load(std::memory_order_relaxed) < s->ring.capacity &&
                            s->producers_left.load(std::memory_order_relaxed) > 0;
    if (head_start && (candidates & producer_set) != 0) candidates &= producer_set;
    const int me = d.worker();
    if (d.point() == hazardlab::Point::hazard && d.hazard_points(me) == 1)
      if (const int next = d.next_after(me, candidates); next >= 0) return next;
    return (candidates >> me & 1) != 0 ? me : d.next_after(me, candidates);
  };
}

// The workers by role: producers first, then consumers ("producer 0", …, "consumer 0", …).
inline std::vector<std::string> worker_names(const Params& params, int workers) {
  std::vector<std::string> names;
  for (int w = 0; w < workers; ++w)
    names.push_back(w < params.producers ? fmt::format("producer {}", w)
                                         : fmt::format("consumer {}", w - params.producers));
  return names;
}

template <class Form, class Variant>
hazardlab::RunResult run(const Params& params, const hazardlab::RunContext& context) {
  const int workers = params.producers + params.consumers;
  std::vector<int> producer_ids, consumer_ids;
  for (int w = 0; w < workers; ++w)
    (w < params.producers ? producer_ids : consumer_ids).push_back(w);
  const std::vector<std::string> names = worker_names(params, workers);
  auto state = hazardlab::place<Form, State<Form>>(params, producer_ids, consumer_ids);
  // What an explored schedule's table calls fixed-condvar's primitives (the traced ones name
  // themselves).
  hazardlab::name_object(&state->condvar_mutex, "buffer mutex");
  hazardlab::name_object(&state->not_full, "not full");
  hazardlab::name_object(&state->not_empty, "not empty");
  auto times_consumed = hazardlab::place_array<Form, std::atomic<std::uint32_t>>(params.items);

  std::array<std::uint64_t, hazardlab::kMaxWorkers> first{}; // the tally's index of each producer's item 0
  for (int p = 0; p < params.producers; ++p)
    first[p] = first_of(params, p);

  const auto body = [s = state.get(), tally = times_consumed.data(), params, first](hazardlab::Worker& worker) {
    if (worker.id() < params.producers) {
      const int me = worker.id();
      for (std::uint64_t seq = 0; seq < share_of(params, me); ++seq) {
        Variant::put(*s, Item{me, static_cast<std::uint32_t>(seq)}, worker);
        worker.progressed();
      }
      if (s->producers_left.fetch_sub(1, std::memory_order_acq_rel) == 1) Variant::close(*s, worker);
      return;
    }
    while (const std::optional<Item> item = Variant::take(*s, worker)) {
      if (!made_by_a_producer(params, *item))
        s->phantoms.fetch_add(1, std::memory_order_relaxed);
      else
        tally[first[item->producer] + item->sequence].fetch_add(1, std::memory_order_relaxed);
      worker.progressed();
    }
  };
  auto options = context.run_options(forced_script(state.get(), params.producers));
  // A natural run that freezes (broken-mutex-first's cycle, broken-no-shutdown's consumers waiting
  // for producers that have finished) is stuck as soon as that has stayed put a moment.
  options.frozen = [s = state.get(), workers, names](const std::vector<bool>& finished) {
    auto graph = s->sync.graph(workers);
    graph.name_workers(names);
    return graph.stuck_text(finished);
  };
  const auto report = hazardlab::run_workers<Form>(workers, context.timeout, body, options);
  auto graph = state->sync.graph(workers);
  graph.name_workers(names);
  auto result = judge(params, *state, times_consumed.data(), report, std::move(graph), names);
  if constexpr (requires { Variant::why_it_fails; }) {
    if (result.verdict != hazardlab::Verdict::correct) result.details.emplace_back(Variant::why_it_fails);
  }
  return result;
}

} // namespace prodcons
