#pragma once
// Lab 05's judge: which items a run should move, what the consumers got against what the
// producers made, and the verdict.
#include "prodcons.hpp"

#include "hazardlab/cli.hpp"
#include "hazardlab/workers.hpp"

#include <fmt/format.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace prodcons {

inline constexpr std::uint64_t kMaxItems = 10'000'000;

// The sizes of a run. They are here, not in run.hpp, because the judge accounts against them.
struct Params {
  int producers = 2;
  int consumers = 2;
  int capacity = 8;
  std::uint64_t items = 10'000; // in all, shared out among the producers
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
  const auto& witness = s.ring.witness;
  const auto unfinished = hazardlab::unfinished_run(report, names);
  if (unfinished && unfinished->verdict == hazardlab::Verdict::crashed) return *unfinished;

  // Everything read here is atomic: safe even beside the abandoned threads of a stuck run.
  const Accounting a = account(params, times_consumed);
  const std::uint64_t overwritten = witness.overwritten.load(std::memory_order_relaxed);
  const std::uint64_t stale = witness.stale_reads.load(std::memory_order_relaxed);
  const std::uint64_t phantoms = s.phantoms.load(std::memory_order_relaxed);
  const auto peak = static_cast<std::uint64_t>(witness.max_occupancy.load(std::memory_order_relaxed));
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
    for (int i = 0; i < witness.kNamed && static_cast<std::uint64_t>(i) < overwritten; ++i) {
      const Item victim = witness.first_overwritten[i].load(std::memory_order_relaxed);
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
      at_shutdown = at_shutdown && w >= params.producers && graph.awaited_semaphore(w) == 1;
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

} // namespace prodcons
