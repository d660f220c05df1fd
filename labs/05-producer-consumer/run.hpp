#pragma once
// Lab 05's run: place the state, start the producers and consumers, force the interleaving when
// asked, tally every item a consumer gets, and judge.
#include "judge.hpp"
#include "prodcons.hpp"

#include "hazardlab/cli.hpp"
#include "hazardlab/control.hpp"
#include "hazardlab/workers.hpp"

#include <fmt/format.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace prodcons {

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
    const bool head_start = s->ring.witness.max_occupancy.load(std::memory_order_relaxed) < s->ring.capacity &&
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
  auto state = hazardlab::place<Form, State<Form>>(params.capacity, producer_ids, consumer_ids);
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

// The runner variant_of() instantiates for each variant and form (variants.hpp and
// exercise_variant.cpp): run<Form, Variant> with the lab's parameters.
inline auto runs_with(const Params& params) {
  return [&params]<class Form, class Variant>(const hazardlab::RunContext& context) {
    return run<Form, Variant>(params, context);
  };
}

} // namespace prodcons
