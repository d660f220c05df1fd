#pragma once
// Lab 02's run: the bank's and the philosophers' workers, the forced schedule's script, and
// run<Form, Variant>().
#include "deadlock.hpp"
#include "judge.hpp"

#include "hazardlab/cli.hpp"
#include "hazardlab/control.hpp"
#include "hazardlab/workers.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace deadlock {

enum class Scenario { bank, philosophers };

struct Params {
  Scenario scenario = Scenario::bank;
  int accounts = 10;              // bank
  std::uint64_t transfers = 1000; // bank: per worker
  std::uint64_t meals = 1000;     // philosophers: per philosopher
};

// --schedule forced: the script that decides who runs (hazardlab/control.hpp).
//  1. The ring. At each worker's first hazard point the next worker runs: every worker takes the
//     first lock of its first unit before any takes its second, and the cycle closes. Broken code
//     is then stuck at once: every worker blocked, each waiting for the next.
//  2. Then two workers whose locks do not overlap are made to be inside the work at the same
//     moment, so that a fix that lets them work together shows most_at_once >= 2 on every run, not
//     only when timing happens to overlap two short units (bank: workers 0 and 1 on accounts 0–1
//     and 2–3; philosophers 0 and 2, who are not neighbours). Before its second unit (the
//     scheduling point kBeforeSecondUnit) a worker of the pair is held back until every worker has
//     done its first unit (the ring's stragglers then hold no lock the pair needs), and every
//     other worker until the pair has met. Inside its second unit (kInsideSecondUnit) one of the
//     pair lets the other one run, which takes its own two locks and comes in too.
// A hold never waits for time: when only held workers can run, the arrangement gives way, which
// is how a fix that serializes everything (one lock for all) gets through it, correct, with
// most_at_once 1.
enum SchedulingTag : int { kBeforeSecondUnit = 1, kInsideSecondUnit = 2 };

template <class Form>
hazardlab::Script forced_script(const RunState<Form>* s, int workers, hazardlab::WorkerSet pair, bool meeting) {
  using hazardlab::Decision;
  using hazardlab::Point;
  return [s, workers, pair, meeting](const Decision& d) {
    const int me = d.worker();
    if (d.point() == Point::hazard && d.hazard_points(me) == 1) return d.next_after(me); // 1. the ring
    if (!meeting) return hazardlab::default_choice(d);
    if (d.point() == Point::tagged && d.tag() == kInsideSecondUnit) { // 2. inside: the other of the pair
      if (const int other = d.next_after(me, pair & ~hazardlab::only(me)); other >= 0) return other;
    }
    const bool first_units_done = s->first_units_done.load(std::memory_order_relaxed) >= workers;
    const bool met = s->most_at_once.load(std::memory_order_relaxed) >= 2;
    hazardlab::WorkerSet free = 0;
    for (int w = 0; w < d.workers(); ++w) {
      const bool in_pair = (pair >> w & 1) != 0;
      const bool held =
          d.at(w) == Point::tagged && d.tag_of(w) == kBeforeSecondUnit && (in_pair ? !first_units_done : !met);
      if (d.eligible(w) && !held) free |= hazardlab::only(w);
    }
    if (free == 0) return hazardlab::default_choice(d); // only held workers can run: the arrangement gives way
    return (free >> me & 1) != 0 ? me : d.next_after(me, free);
  };
}

// Bank: random transfers between two different accounts. Under the forced schedule each worker's
// first transfer goes round a ring of R = min(workers, accounts) accounts (worker w: account
// w mod R → account (w + 1) mod R): once every worker holds its source, each waits for the next
// one's, and the last for the first's. Its second transfer is between accounts 2w and 2w + 1 (mod
// accounts): workers 0 and 1 then share no account when there are 4 accounts or more (all workers
// none, with 2 × workers or more), and they meet inside it (SecondUnitMeeting).
template <class Form, class Variant>
hazardlab::WorkerBody bank_worker(RunState<Form>* s, const Params& params, const hazardlab::RunContext& context) {
  return
      [s, transfers = params.transfers, accounts = params.accounts, ring = std::min(context.workers, params.accounts),
       forced = context.controlled(), seed = context.seed](hazardlab::Worker& worker) {
        std::mt19937_64 random(seed + 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(worker.id() + 1));
        std::uniform_int_distribution<int> account(0, accounts - 1);
        std::uniform_int_distribution<std::int64_t> amount(1, 100);
        for (std::uint64_t t = 0; t < transfers; ++t) {
          int from = account(random);
          int to = account(random);
          while (to == from)
            to = account(random);
          if (forced && t == 0 && ring >= 2) { // a ring needs two: alone, a worker waits for nobody
            from = worker.id() % ring;
            to = (worker.id() + 1) % ring;
          }
          if (forced && t == 1) {
            from = (2 * worker.id()) % accounts;
            to = (2 * worker.id() + 1) % accounts;
            worker.scheduling_point(kBeforeSecondUnit, "start transfer 2");
          }
          const std::int64_t sum = amount(random);
          Variant::with_both(*s, from, to, worker, [&] {
            const Inside<Form> inside(*s);
            if (t == 1) worker.scheduling_point(kInsideSecondUnit, "move the money of transfer 2");
            s->balance[from] -= sum;
            s->balance[to] += sum;
          });
          worker.progressed();
          if (forced && t == 0) s->first_units_done.fetch_add(1, std::memory_order_relaxed);
        }
      };
}

// Philosophers: philosopher i eats with fork i (left) and fork i + 1 (right). Under the forced
// schedule philosophers 0 and 2, who share no fork when there are 4 or more, meet inside their
// second meal (SecondUnitMeeting).
template <class Form, class Variant>
hazardlab::WorkerBody philosopher(RunState<Form>* s, const Params& params, const hazardlab::RunContext& context) {
  return [s, meals = params.meals, seats = context.workers, forced = context.controlled()](hazardlab::Worker& worker) {
    const int me = worker.id();
    const int left = me;
    const int right = (me + 1) % seats;
    for (std::uint64_t m = 0; m < meals; ++m) {
      if (m == 1) worker.scheduling_point(kBeforeSecondUnit, "sit down for meal 2");
      Variant::with_both(*s, left, right, worker, [&] {
        const Inside<Form> inside(*s);
        if (m == 1) worker.scheduling_point(kInsideSecondUnit, "eat meal 2");
        s->eating[me] = true;
        if (s->eating[(me + 1) % seats] || s->eating[(me + seats - 1) % seats]) ++s->neighbours_ate_together;
        s->eating[me] = false;
      });
      worker.progressed();
      if (forced && m == 0) s->first_units_done.fetch_add(1, std::memory_order_relaxed);
    }
  };
}

template <class Form, class Variant>
hazardlab::RunResult run(const Params& params, const hazardlab::RunContext& context) {
  const bool bank = params.scenario == Scenario::bank;
  auto state = hazardlab::place<Form, RunState<Form>>(
      bank ? "account" : "fork", bank ? params.accounts : context.workers, std::max(1, context.workers - 1));
  for (int i = 0; i < params.accounts; ++i)
    state->balance[i] = kOpeningBalance;
  const auto body = bank ? bank_worker<Form, Variant>(state.get(), params, context)
                         : philosopher<Form, Variant>(state.get(), params, context);
  // The pair that meets inside its second unit, where some two second units share no lock: bank
  // workers 0 and 1 (4 accounts or more), philosophers 0 and 2 (4 or more at the table).
  const hazardlab::WorkerSet pair =
      bank ? hazardlab::only(0) | hazardlab::only(1) : hazardlab::only(0) | hazardlab::only(2);
  const bool meeting = context.workers >= 2 && (bank ? params.accounts >= 4 && params.transfers >= 2
                                                     : context.workers >= 4 && params.meals >= 2);
  auto options = context.run_options(forced_script(state.get(), context.workers, pair, meeting));
  // A natural run that freezes is stuck as soon as its cycle has stayed put a moment.
  options.frozen = [s = state.get(), workers = context.workers](const std::vector<bool>& finished) {
    return s->locks.graph(workers).stuck_text(finished);
  };
  const auto report = hazardlab::run_workers<Form>(context.workers, context.timeout, body, options);
  if (auto unfinished = judge_unfinished(*state, context, report)) return std::move(*unfinished);
  return bank ? judge_bank(*state, params.accounts, report) : judge_philosophers(*state, report);
}

// The runner variant_of() instantiates for each variant and form (variants.hpp and
// exercise_variant.cpp): run<Form, Variant> with the lab's parameters.
inline auto runs_with(const Params& params) {
  return [&params]<class Form, class Variant>(const hazardlab::RunContext& context) {
    return run<Form, Variant>(params, context);
  };
}

} // namespace deadlock
