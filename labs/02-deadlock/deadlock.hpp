#pragma once
// Lab 02 — deadlock.
//
// Every unit of work needs two locks at once:
//   bank          a transfer locks the source account, then the destination account;
//   philosophers  a philosopher picks up the left fork, then the right one, to eat.
// When each worker holds one lock and waits for a lock another one holds, round a cycle, nobody
// can ever go on: a deadlock. The watchdog then shows the wait-for graph and its cycle.
//
// A variant is a class template over the form with one function that says how to take the two
// locks:
//   template <class Work>
//   static void with_both(State<Form>&, int first, int second, Worker&, Work work)
// which takes locks[first] and locks[second] (asked in that order) and calls work() holding both.
//
// Besides its invariant, every run reports `most_at_once`: the most workers that were inside the
// work together (holding both of their locks). A fix that serializes everything (one lock for all)
// is correct, but only ever lets one worker in; a good fix lets in together the workers whose
// locks do not overlap.
#include "hazardlab/cli.hpp"
#include "hazardlab/traced_lock.hpp"
#include "hazardlab/workers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <thread>

namespace deadlock {

enum class Scenario { bank, philosophers };

struct Params {
  Scenario scenario = Scenario::bank;
  int accounts = 10;              // bank
  std::uint64_t transfers = 1000; // bank: per worker
  std::uint64_t meals = 1000;     // philosophers: per philosopher
};

inline constexpr std::int64_t kOpeningBalance = 1'000;

template <class Form>
struct State {
  State(const char* lock_name, int locks, int admitted) : locks(lock_name, locks), admission(admitted) {}

  hazardlab::TracedLocks<Form> locks; // accounts or forks; each records who holds and who waits
  typename Form::Semaphore admission; // how many may try at once (only fixed-waiter uses it)
  std::array<std::int64_t, hazardlab::kMaxTracedLocks> balance{}; // bank: balance[i] guarded by locks[i]
  std::array<std::atomic<bool>, hazardlab::kMaxWorkers> eating{}; // philosophers: who eats right now
  std::atomic<std::uint64_t> neighbours_ate_together{0};          // must stay 0: forks are shared
  std::atomic<int> inside{0};                                     // workers inside the work right now (see Inside)
  std::atomic<int> most_at_once{0};                               // … and the most there ever were
  // The forced schedule's meeting on the second unit of work (see SecondUnitMeeting).
  std::atomic<int> first_units_done{0};
  std::atomic<bool> arrangement_given_up{false};
};

// Counts a worker inside the work, holding both of its locks, for as long as it lives.
// Relaxed atomics are exact here: every change is a read-modify-write of the one counter, so each
// sees the count just before it; and a worker that takes a lock after another has let go of it is
// ordered after that one by the lock itself, so two workers that share a lock are never counted
// inside together. Relaxed also orders nothing else: the count adds no synchronization between
// the workers that could hide a fix's missing lock from ThreadSanitizer.
template <class Form>
class Inside {
public:
  explicit Inside(State<Form>& s) : s_(s) {
    const int now = s_.inside.fetch_add(1, std::memory_order_relaxed) + 1;
    int most = s_.most_at_once.load(std::memory_order_relaxed);
    while (now > most && !s_.most_at_once.compare_exchange_weak(most, now, std::memory_order_relaxed)) {
    }
  }
  ~Inside() { s_.inside.fetch_sub(1, std::memory_order_relaxed); }
  Inside(const Inside&) = delete;
  Inside& operator=(const Inside&) = delete;

private:
  State<Form>& s_;
};

// --schedule forced, each worker's second unit of work (the first is the deadlock ring): two
// workers whose locks do not overlap are made to be inside at the same moment, so that a fix that
// lets them work together shows most_at_once >= 2 on every run, not only when the timing happens
// to overlap two units. Left alone, units are short and a run may well never overlap two.
//  1. Every worker finishes its first unit and waits, holding nothing: the ring's stragglers then
//     hold no lock the pair needs.
//  2. The pair goes on to its second unit: bank, workers 0 and 1 on accounts 0, 1 and 2, 3;
//     philosophers 0 and 2, who are not neighbours. The others wait until the pair has met, so
//     that none of them takes (or waits holding) a lock the pair needs.
//  3. Each of the pair, once inside, waits until another worker is inside too.
// Every wait lasts at most kForcedMeetingPatience; one that runs out gives the arrangement up for
// the rest of the run. That is how a fix that serializes everything gets through it: the first of
// the pair waits inside in vain (the other one cannot get in), once, and the run goes on.
// Relaxed atomics and a yield loop, like the hazard point's meeting: the arrangement lines the
// workers up without ordering their accesses, so ThreadSanitizer still sees the races of broken
// code.
template <class Form>
class SecondUnitMeeting {
public:
  // `possible`: some two second units in this run have no lock in common (bank: 4 accounts or more;
  // philosophers: 4 or more, so that 0 and 2 are not neighbours), and there are second units.
  SecondUnitMeeting(State<Form>& s, hazardlab::Worker& worker, int workers, bool forced, bool possible, bool in_pair)
      : s_(s), worker_(worker), workers_(workers), active_(forced && possible && workers >= 2), in_pair_(in_pair) {}

  void first_unit_done() {
    if (active_) s_.first_units_done.fetch_add(1, std::memory_order_relaxed);
  }
  // Before asking for the second unit's locks (steps 1 and 2).
  void before_second_unit() {
    if (!active_) return;
    if (in_pair_)
      wait_or_give_up([this] { return s_.first_units_done.load(std::memory_order_relaxed) >= workers_; });
    else
      wait_or_give_up([] { return false; }); // until the pair has met (or the arrangement is given up)
  }
  // Inside the second unit, holding both locks (step 3).
  void inside_second_unit() {
    if (active_ && in_pair_) wait_or_give_up([] { return false; });
  }

private:
  bool met() const { return s_.most_at_once.load(std::memory_order_relaxed) >= 2; }
  // Waits (yielding) until ready(), the meeting has happened, or the arrangement is given up; gives
  // it up after kForcedMeetingPatience.
  template <class Ready>
  void wait_or_give_up(Ready ready) {
    const auto until = std::chrono::steady_clock::now() + hazardlab::kForcedMeetingPatience;
    while (!ready() && !met() && !s_.arrangement_given_up.load(std::memory_order_relaxed)) {
      if (std::chrono::steady_clock::now() > until) {
        s_.arrangement_given_up.store(true, std::memory_order_relaxed);
        return;
      }
      worker_.stop_if_requested();
      std::this_thread::yield();
    }
  }

  State<Form>& s_;
  hazardlab::Worker& worker_;
  int workers_;
  bool active_;
  bool in_pair_;
};

// Bank: random transfers between two different accounts. Under the forced schedule each worker's
// first transfer goes round a ring of R = min(workers, accounts) accounts (worker w: account
// w mod R → account (w + 1) mod R): once every worker holds its source, each waits for the next
// one's, and the last for the first's. Its second transfer is between accounts 2w and 2w + 1 (mod
// accounts): workers 0 and 1 then share no account when there are 4 accounts or more (all workers
// none, with 2 × workers or more), and they meet inside it (SecondUnitMeeting).
template <class Form, class Variant>
hazardlab::WorkerBody bank_worker(State<Form>* s, const Params& params, const hazardlab::RunContext& context) {
  return [s, transfers = params.transfers, accounts = params.accounts,
          ring = std::min(context.workers, params.accounts), workers = context.workers,
          forced = context.schedule == hazardlab::Schedule::forced, seed = context.seed](hazardlab::Worker& worker) {
    std::mt19937_64 random(seed + 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(worker.id() + 1));
    std::uniform_int_distribution<int> account(0, accounts - 1);
    std::uniform_int_distribution<std::int64_t> amount(1, 100);
    SecondUnitMeeting<Form> meeting(*s, worker, workers, forced, accounts >= 4 && transfers >= 2,
                                    worker.id() == 0 || worker.id() == 1);
    for (std::uint64_t t = 0; t < transfers; ++t) {
      int from = account(random);
      int to = account(random);
      while (to == from)
        to = account(random);
      if (forced && t == 0) {
        from = worker.id() % ring;
        to = (worker.id() + 1) % ring;
      }
      if (forced && t == 1) {
        from = (2 * worker.id()) % accounts;
        to = (2 * worker.id() + 1) % accounts;
        meeting.before_second_unit();
      }
      const std::int64_t sum = amount(random);
      Variant::with_both(*s, from, to, worker, [&] {
        const Inside<Form> inside(*s);
        if (t == 1) meeting.inside_second_unit();
        s->balance[from] -= sum;
        s->balance[to] += sum;
      });
      worker.progressed();
      if (t == 0) meeting.first_unit_done();
    }
  };
}

// Philosophers: philosopher i eats with fork i (left) and fork i + 1 (right). Under the forced
// schedule philosophers 0 and 2, who share no fork when there are 4 or more, meet inside their
// second meal (SecondUnitMeeting).
template <class Form, class Variant>
hazardlab::WorkerBody philosopher(State<Form>* s, const Params& params, const hazardlab::RunContext& context) {
  return [s, meals = params.meals, seats = context.workers,
          forced = context.schedule == hazardlab::Schedule::forced](hazardlab::Worker& worker) {
    const int me = worker.id();
    const int left = me;
    const int right = (me + 1) % seats;
    SecondUnitMeeting<Form> meeting(*s, worker, seats, forced, seats >= 4 && meals >= 2, me == 0 || me == 2);
    for (std::uint64_t m = 0; m < meals; ++m) {
      if (m == 1) meeting.before_second_unit();
      Variant::with_both(*s, left, right, worker, [&] {
        const Inside<Form> inside(*s);
        if (m == 1) meeting.inside_second_unit();
        s->eating[me] = true;
        if (s->eating[(me + 1) % seats] || s->eating[(me + seats - 1) % seats]) ++s->neighbours_ate_together;
        s->eating[me] = false;
      });
      worker.progressed();
      if (m == 0) meeting.first_unit_done();
    }
  };
}

template <class Form>
hazardlab::RunResult judge(const Params& params, const hazardlab::RunContext& context, State<Form>& s,
                           const hazardlab::WorkersReport& report) {
  using hazardlab::grouped;
  std::uint64_t done = 0;
  for (auto units : report.progress)
    done += units;
  const auto most_at_once = static_cast<std::uint64_t>(s.most_at_once.load());
  hazardlab::RunResult result;
  if (auto unfinished = hazardlab::unfinished_run(report)) {
    result = std::move(*unfinished);
    // The records are atomics, safe to read even beside abandoned threads.
    hazardlab::explain_stuck(result, s.locks.graph(context.workers));
    result.metrics["most_at_once"] = most_at_once; // an atomic: safe beside abandoned threads too
    return result;
  }
  result.elapsed_ms = report.elapsed_ms;
  if (params.scenario == Scenario::bank) {
    const std::int64_t before = kOpeningBalance * params.accounts;
    std::int64_t after = 0;
    for (int i = 0; i < params.accounts; ++i)
      after += s.balance[i];
    result.metrics["transfers"] = done;
    result.metrics["total_before"] = before;
    result.metrics["total_after"] = after;
    result.metrics["most_at_once"] = most_at_once;
    if (after == before) {
      result.summary = fmt::format("{} transfers done, total {} conserved, at most {} at once", grouped(done),
                                   grouped(before), hazardlab::counted(most_at_once, "transfer", "transfers"));
    } else {
      result.verdict = hazardlab::Verdict::hazard;
      result.kind = "total-changed";
      result.summary = fmt::format("the total changed from {} to {}", before, after);
    }
  } else {
    const auto together = s.neighbours_ate_together.load();
    result.metrics["meals"] = done;
    result.metrics["neighbours_ate_together"] = together;
    result.metrics["most_at_once"] = most_at_once;
    if (together == 0) {
      result.summary = fmt::format("{} meals eaten, no two neighbours ever ate at once, at most {} eating at once",
                                   grouped(done), hazardlab::counted(most_at_once, "philosopher", "philosophers"));
    } else {
      result.verdict = hazardlab::Verdict::hazard;
      result.kind = "fork-shared";
      result.summary = fmt::format("neighbours ate at the same time {} times", grouped(together));
    }
  }
  return result;
}

template <class Form, class Variant>
hazardlab::RunResult run(const Params& params, const hazardlab::RunContext& context) {
  const bool bank = params.scenario == Scenario::bank;
  auto state = hazardlab::place<Form, State<Form>>(bank ? "account" : "fork", bank ? params.accounts : context.workers,
                                                   std::max(1, context.workers - 1));
  for (int i = 0; i < params.accounts; ++i)
    state->balance[i] = kOpeningBalance;
  const auto body = bank ? bank_worker<Form, Variant>(state.get(), params, context)
                         : philosopher<Form, Variant>(state.get(), params, context);
  const auto report = hazardlab::run_workers<Form>(context.workers, context.timeout, body, context.schedule);
  return judge(params, context, *state, report);
}

} // namespace deadlock
