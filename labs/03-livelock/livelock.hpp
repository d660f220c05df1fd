#pragma once
// Lab 03 — livelock.
//
// Worker w needs two resources for each unit of work: resource w (its first) and resource w + 1
// (its second, round a ring; with two workers, each one's second is the other's first). It is
// polite about it: it takes its first, only *tries* its second, and if that is busy it gives the
// first back, pauses, and tries again. Nobody ever waits while holding, so the run cannot
// deadlock; but when everybody takes its first at the same moment, everybody finds its second
// busy, everybody gives way, everybody pauses just as long, and it all happens again. The workers
// are busy, burn CPU and count attempts, and not one unit of work gets done: a livelock.
//
// A variant is a class template over the form with one function that takes both resources for
// one unit of work and calls work() holding both:
//   template <class Work>
//   static void with_both(State<Form>&, int first, int second, Worker&, std::mt19937_64& random,
//                         Work work)
// `random` is the worker's own generator, seeded from --seed.
#include "hazardlab/cli.hpp"
#include "hazardlab/traced_lock.hpp"
#include "hazardlab/workers.hpp"

#include <fmt/format.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <mutex>
#include <random>
#include <thread>

namespace livelock {

struct Params {
  std::uint64_t units = 1'000;         // per worker
  std::chrono::microseconds pause{50}; // the polite pause after a failed try
};

// Under --schedule forced the polite protocol runs on a virtual clock instead of the wall clock.
// Each attempt takes one tick and a pause takes its length in ticks (µs). A worker goes on only
// when no other worker has anything left to do at an earlier instant, and the attempts that start
// at the same instant go in step: every one of them takes its first resource, then every one
// tries its second, then every one lets go. Pauses of one fixed length keep the workers at the
// same instants forever, on any number of cores: the worst a real machine can do, every time.
// Pauses of different lengths put one worker ahead, alone, and it gets both resources.
// Under --schedule natural the clock is the wall clock: pause() spins for the pause, nothing waits.
template <class Form>
class RetryClock {
public:
  RetryClock(bool forced, int workers, const hazardlab::TracedLocks<Form>& resources)
      : forced_(forced), workers_(workers), resources_(&resources) {
    for (auto& wanted : wants_)
      wanted.store(-1, std::memory_order_relaxed);
  }

  // The three steps of an attempt, in order.
  void taking_first(hazardlab::Worker& worker, int resource) {
    if (!forced_) return;
    wants_[worker.id()].store(resource, std::memory_order_relaxed);
    const std::uint64_t next_instant = position_[worker.id()].load(std::memory_order_relaxed) / kSteps + 1;
    wait_for_all_at(worker, next_instant * kSteps + kTakingFirst);
  }
  void holding_first(hazardlab::Worker& worker) { step(worker, kHoldingFirst); }
  void tried_second(hazardlab::Worker& worker) { step(worker, kTriedSecond); }

  void pause(hazardlab::Worker& worker, std::chrono::microseconds length) {
    if (forced_) {
      auto& mine = position_[worker.id()];
      mine.store(mine.load(std::memory_order_relaxed) + static_cast<std::uint64_t>(length.count()) * kSteps,
                 std::memory_order_relaxed);
      return;
    }
    // A spin, not a sleep: the polite pause of lock-free retry loops, and why a livelock burns CPU.
    const auto until = std::chrono::steady_clock::now() + length;
    while (std::chrono::steady_clock::now() < until) {
      worker.stop_if_requested();
      std::this_thread::yield();
    }
  }

  // The worker has done all its units: nobody waits for it any more.
  void leave(hazardlab::Worker& worker) { position_[worker.id()].store(kGone, std::memory_order_relaxed); }

private:
  static constexpr std::uint64_t kTakingFirst = 0, kHoldingFirst = 1, kTriedSecond = 2, kSteps = 4;
  static constexpr std::uint64_t kGone = std::numeric_limits<std::uint64_t>::max();

  void step(hazardlab::Worker& worker, std::uint64_t step) {
    if (!forced_) return;
    const std::uint64_t instant = position_[worker.id()].load(std::memory_order_relaxed) / kSteps;
    wait_for_all_at(worker, instant * kSteps + step);
  }

  // Publishes where this worker is and waits until every other worker is there or further on.
  // A worker still taking its first resource while someone else holds it (a fix that orders the
  // resources can ask for a first that another worker holds) cannot come: it is not waited for.
  // Relaxed atomics: the clock schedules, it does not synchronize (the locks do that).
  void wait_for_all_at(hazardlab::Worker& worker, std::uint64_t position) {
    position_[worker.id()].store(position, std::memory_order_relaxed);
    for (int other = 0; other < workers_; ++other) {
      while (other != worker.id() && position_[other].load(std::memory_order_relaxed) < position &&
             !blocked_at(other, position)) {
        worker.stop_if_requested();
        std::this_thread::yield();
      }
    }
  }
  bool blocked_at(int other, std::uint64_t position) const {
    if (position % kSteps == kTakingFirst) return false;
    if (position_[other].load(std::memory_order_relaxed) != position - position % kSteps + kTakingFirst) return false;
    const int wanted = wants_[other].load(std::memory_order_relaxed);
    const int holder = wanted < 0 ? -1 : resources_->holder(wanted);
    return holder >= 0 && holder != other;
  }

  bool forced_;
  int workers_;
  const hazardlab::TracedLocks<Form>* resources_;
  // Per worker: instant × kSteps + step (0 before its first attempt), kGone once it has left.
  std::array<std::atomic<std::uint64_t>, hazardlab::kMaxWorkers> position_{};
  std::array<std::atomic<int>, hazardlab::kMaxWorkers> wants_; // per worker: its first resource
};

template <class Form>
struct State {
  State(int workers, const Params& params, bool forced)
      : resources("resource", workers), clock(forced, workers, resources), pause(params.pause) {}

  hazardlab::TracedLocks<Form> resources; // resource w is worker w's first and worker w - 1's second
  RetryClock<Form> clock;                 // under --schedule forced, the instants the attempts happen at
  std::chrono::microseconds pause;        // the same fixed pause for everyone (--pause-us)
  std::array<std::uint64_t, hazardlab::kMaxTracedLocks> uses{}; // uses[r] guarded by resources[r]
  std::atomic<std::uint64_t> units_without_both{0};             // must stay 0
};

// One polite attempt: take the first resource, try the second; if it is busy, give the first back
// and return false. With both held, do the unit of work and return true.
template <class Form, class Work>
bool try_both_politely(State<Form>& s, int first, int second, hazardlab::Worker& worker, Work work) {
  auto first_resource = s.resources[first];
  auto second_resource = s.resources[second];
  worker.attempted();
  s.clock.taking_first(worker, first);
  std::unique_lock hold_first(first_resource);
  s.clock.holding_first(worker); // forced: everyone of this instant holds its first before anyone tries
  std::unique_lock hold_second(second_resource, std::try_to_lock);
  s.clock.tried_second(worker);   // forced: and everyone has tried before anyone lets go
  if (!hold_second) return false; // polite: hold_first gives the first back on the way out
  work();
  return true;
}

// One unit of work: it holds both resources for kUnitOfWork (a spin: work is CPU time), and it
// counts as done only if this worker really holds both.
inline constexpr std::chrono::microseconds kUnitOfWork{10};

template <class Form>
void use_both(State<Form>& s, int first, int second, const hazardlab::Worker& worker) {
  if (s.resources.holder(first) != worker.id() || s.resources.holder(second) != worker.id())
    s.units_without_both.fetch_add(1, std::memory_order_relaxed);
  ++s.uses[first];
  ++s.uses[second];
  const auto until = std::chrono::steady_clock::now() + kUnitOfWork;
  while (std::chrono::steady_clock::now() < until) {
  }
}

template <class Form, class Variant>
hazardlab::WorkerBody polite_worker(State<Form>* s, const Params& params, const hazardlab::RunContext& context) {
  // Each trial and each worker gets its own stream, and the same --seed gives the same streams.
  const std::uint64_t seed = context.seed + 0xbf58476d1ce4e5b9ULL * static_cast<std::uint64_t>(context.trial);
  return [s, units = params.units, workers = context.workers, seed](hazardlab::Worker& worker) {
    std::mt19937_64 random(seed + 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(worker.id() + 1));
    const int first = worker.id();
    const int second = (worker.id() + 1) % workers;
    for (std::uint64_t unit = 0; unit < units; ++unit) {
      Variant::with_both(*s, first, second, worker, random, [&] { use_both(*s, first, second, worker); });
      worker.progressed();
    }
    s->clock.leave(worker);
  };
}

template <class Form>
hazardlab::RunResult judge(const Params& params, const hazardlab::RunContext& context, State<Form>& s,
                           const hazardlab::WorkersReport& report) {
  using hazardlab::counted;
  using hazardlab::grouped;
  if (auto unfinished = hazardlab::unfinished_run(report)) {
    // A fix can turn the livelock into a deadlock (take the second without the try, in the same
    // order as before): then the graph names the cycle.
    hazardlab::explain_stuck(*unfinished, s.resources.graph(context.workers));
    return std::move(*unfinished);
  }
  hazardlab::RunResult result;
  result.elapsed_ms = report.elapsed_ms;
  std::uint64_t units = 0, attempts = 0;
  double cpu_ms = 0;
  auto& per_worker = result.metrics["workers"] = nlohmann::ordered_json::array();
  for (int w = 0; w < context.workers; ++w) {
    units += report.progress[w];
    attempts += report.attempts[w];
    cpu_ms += report.cpu_ms[w];
    per_worker.push_back(
        {{"worker", w}, {"units", report.progress[w]}, {"attempts", report.attempts[w]}, {"cpu_ms", report.cpu_ms[w]}});
    result.details.push_back(fmt::format(
        "worker {}: {} in {} ({:.3f} per unit), {:.1f} ms CPU of {:.1f} ms wall", w,
        counted(report.progress[w], "unit", "units"), counted(report.attempts[w], "attempt", "attempts"),
        static_cast<double>(report.attempts[w]) / static_cast<double>(std::max<std::uint64_t>(report.progress[w], 1)),
        report.cpu_ms[w], report.elapsed_ms));
  }
  const double per_unit = static_cast<double>(attempts) / static_cast<double>(std::max<std::uint64_t>(units, 1));
  result.metrics["units"] = units;
  result.metrics["attempts"] = attempts;
  result.metrics["attempts_per_unit"] = per_unit;
  result.metrics["cpu_ms"] = cpu_ms;

  // Each resource serves two workers (its owner's first, its neighbour's second) for every unit.
  std::uint64_t uses_missing = 0;
  for (int r = 0; r < context.workers; ++r) {
    const std::uint64_t expected = 2 * params.units;
    uses_missing += expected > s.uses[r] ? expected - s.uses[r] : s.uses[r] - expected;
  }
  const auto without_both = s.units_without_both.load();
  result.metrics["units_without_both"] = without_both;
  result.metrics["uses_miscounted"] = uses_missing;
  if (without_both > 0) {
    result.verdict = hazardlab::Verdict::hazard;
    result.kind = "not-held";
    result.summary =
        fmt::format("{} done without holding both resources", counted(without_both, "unit was", "units were"));
  } else if (uses_missing > 0) {
    result.verdict = hazardlab::Verdict::hazard;
    result.kind = "uses-lost";
    result.summary = fmt::format(
        "the units counted and the work done disagree: the resources' use counts are off by {}", grouped(uses_missing));
  } else {
    result.summary = fmt::format("{} done in {} ({:.3f} per unit) in {:.1f} ms", counted(units, "unit", "units"),
                                 counted(attempts, "attempt", "attempts"), per_unit, report.elapsed_ms);
  }
  return result;
}

template <class Form, class Variant>
hazardlab::RunResult run(const Params& params, const hazardlab::RunContext& context) {
  auto state =
      hazardlab::place<Form, State<Form>>(context.workers, params, context.schedule == hazardlab::Schedule::forced);
  const auto report = hazardlab::run_workers<Form>(
      context.workers, context.timeout, polite_worker<Form, Variant>(state.get(), params, context), context.schedule);
  return judge(params, context, *state, report);
}

} // namespace livelock
