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
#include "hazardlab/cli.hpp"
#include "hazardlab/traced_lock.hpp"
#include "hazardlab/workers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <random>

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
};

// Bank: random transfers between two different accounts. Under the forced schedule each worker's
// first transfer goes round a ring of R = min(workers, accounts) accounts (worker w: account
// w mod R → account (w + 1) mod R): once every worker holds its source, each waits for the next
// one's, and the last for the first's.
template <class Form, class Variant>
hazardlab::WorkerBody bank_worker(State<Form>* s, const Params& params, const hazardlab::RunContext& context) {
  return
      [s, transfers = params.transfers, accounts = params.accounts, ring = std::min(context.workers, params.accounts),
       forced = context.schedule == hazardlab::Schedule::forced, seed = context.seed](hazardlab::Worker& worker) {
        std::mt19937_64 random(seed + 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(worker.id() + 1));
        std::uniform_int_distribution<int> account(0, accounts - 1);
        std::uniform_int_distribution<std::int64_t> amount(1, 100);
        for (std::uint64_t t = 0; t < transfers; ++t) {
          int from = account(random);
          int to = account(random);
          while (to == from)
            to = account(random);
          if (forced && t == 0) {
            from = worker.id() % ring;
            to = (worker.id() + 1) % ring;
          }
          const std::int64_t sum = amount(random);
          Variant::with_both(*s, from, to, worker, [&] {
            s->balance[from] -= sum;
            s->balance[to] += sum;
          });
          worker.progressed();
        }
      };
}

// Philosophers: philosopher i eats with fork i (left) and fork i + 1 (right).
template <class Form, class Variant>
hazardlab::WorkerBody philosopher(State<Form>* s, const Params& params, const hazardlab::RunContext& context) {
  return [s, meals = params.meals, seats = context.workers](hazardlab::Worker& worker) {
    const int me = worker.id();
    const int left = me;
    const int right = (me + 1) % seats;
    for (std::uint64_t m = 0; m < meals; ++m) {
      Variant::with_both(*s, left, right, worker, [&] {
        s->eating[me] = true;
        if (s->eating[(me + 1) % seats] || s->eating[(me + seats - 1) % seats]) ++s->neighbours_ate_together;
        s->eating[me] = false;
      });
      worker.progressed();
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
  hazardlab::RunResult result;
  if (auto unfinished = hazardlab::unfinished_run(report)) {
    result = std::move(*unfinished);
    // The records are atomics, safe to read even beside abandoned threads.
    hazardlab::explain_stuck(result, s.locks.graph(context.workers));
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
    if (after == before) {
      result.summary = fmt::format("{} transfers done, total {} conserved", grouped(done), grouped(before));
    } else {
      result.verdict = hazardlab::Verdict::hazard;
      result.kind = "total-changed";
      result.summary = fmt::format("the total changed from {} to {}", before, after);
    }
  } else {
    const auto together = s.neighbours_ate_together.load();
    result.metrics["meals"] = done;
    result.metrics["neighbours_ate_together"] = together;
    if (together == 0) {
      result.summary = fmt::format("{} meals eaten, no two neighbours ever ate at once", grouped(done));
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
