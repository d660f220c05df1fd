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
#include <mutex>
#include <random>

namespace livelock {

struct Params {
  std::uint64_t units = 1'000;         // per worker
  std::chrono::microseconds pause{50}; // the polite pause after a failed try
  // How long each step of a polite attempt takes (--reach-us): reaching for the second resource,
  // and seeing that it is busy. 0: no time at all. --schedule explore takes 1 µs, so that at those
  // steps the other worker runs as it would on a second core, without a preemption: a preemption
  // bound could never show an endless lockstep that needs one every round.
  std::chrono::microseconds reach{0};
};

// --schedule forced: the script that decides who runs (hazardlab/control.hpp). Until every worker
// has done a unit of work, at every scheduling point the next worker runs: the attempts go in
// lockstep, every worker takes its first resource, then every one tries its second, then every one
// lets go, then every one pauses. Pauses are on the run's virtual clock (Worker::pause_for), so
// pauses of one fixed length end together and it all happens again, on any machine: the worst a
// real machine can do, every time, and the scheduler calls it a livelock once every worker has
// tried kLivelockAttempts (100) times without a unit done. Pauses of different lengths put one
// worker ahead, alone, and it gets both resources. Once everybody has done a unit, each worker
// runs until it blocks or pauses, so a fix's run costs a few switches per unit.
inline hazardlab::Script forced_script() {
  return [](const hazardlab::Decision& d) {
    for (int w = 0; w < d.workers(); ++w)
      if (!d.finished(w) && d.progress(w) == 0) return d.next_after(d.worker());
    return hazardlab::default_choice(d);
  };
}

template <class Form>
struct State {
  State(int workers, const Params& params) : resources("resource", workers), pause(params.pause), reach(params.reach) {}

  hazardlab::TracedLocks<Form> resources; // resource w is worker w's first and worker w - 1's second
  std::chrono::microseconds pause;        // the same fixed pause for everyone (--pause-us)
  std::chrono::microseconds reach;        // each polite step's own time (--reach-us)
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
  std::unique_lock hold_first(first_resource);
  if (s.reach.count() > 0) worker.pause_for(s.reach); // reaching for the second takes a moment
  std::unique_lock hold_second(second_resource, std::try_to_lock);
  if (!hold_second) {
    if (s.reach.count() > 0) worker.pause_for(s.reach); // and so does seeing that it is busy
    return false;                                       // polite: hold_first gives the first back on the way out
  }
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
  // Each worker gets its own stream, and the same seed gives the same streams (each trial has its
  // own seed).
  return [s, units = params.units, workers = context.workers, seed = context.seed](hazardlab::Worker& worker) {
    std::mt19937_64 random(seed + 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(worker.id() + 1));
    const int first = worker.id();
    const int second = (worker.id() + 1) % workers;
    for (std::uint64_t unit = 0; unit < units; ++unit) {
      Variant::with_both(*s, first, second, worker, random, [&] { use_both(*s, first, second, worker); });
      worker.progressed();
    }
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
  auto state = hazardlab::place<Form, State<Form>>(context.workers, params);
  auto options = context.run_options(forced_script());
  // A fix that deadlocks instead (natural): stuck as soon as its cycle has stayed put a moment.
  options.frozen = [s = state.get(), workers = context.workers](const std::vector<bool>& finished) {
    return s->resources.graph(workers).stuck_text(finished);
  };
  const auto report = hazardlab::run_workers<Form>(context.workers, context.timeout,
                                                   polite_worker<Form, Variant>(state.get(), params, context), options);
  return judge(params, context, *state, report);
}

} // namespace livelock
