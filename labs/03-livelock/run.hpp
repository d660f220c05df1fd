#pragma once
// Lab 03's run: the polite workers, the forced schedule's script, and run<Form, Variant>().
#include "judge.hpp"
#include "livelock.hpp"

#include "hazardlab/cli.hpp"
#include "hazardlab/control.hpp"
#include "hazardlab/toolkit.hpp"
#include "hazardlab/workers.hpp"

#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

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

// One unit of work: it holds both resources for kUnitOfWork (a spin: work is CPU time).
inline constexpr std::chrono::microseconds kUnitOfWork{10};

template <class Form>
void use_both(RunState<Form>& s, int first, int second, const hazardlab::Worker& worker) {
  count_unit(s, first, second, worker);
  hazardlab::spin_for(kUnitOfWork);
}

template <class Form, class Variant>
hazardlab::WorkerBody polite_worker(RunState<Form>* s, const Params& params, const hazardlab::RunContext& context) {
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

template <class Form, class Variant>
hazardlab::RunResult run(const Params& params, const hazardlab::RunContext& context) {
  auto state = hazardlab::place<Form, RunState<Form>>(context.workers, params.pause, params.reach);
  auto options = context.run_options(forced_script());
  // A fix that deadlocks instead (natural): stuck as soon as its cycle has stayed put a moment.
  options.frozen = [s = state.get(), workers = context.workers](const std::vector<bool>& finished) {
    return s->resources.graph(workers).stuck_text(finished);
  };
  const auto report = hazardlab::run_workers<Form>(context.workers, context.timeout,
                                                   polite_worker<Form, Variant>(state.get(), params, context), options);
  return judge(params.units, context, *state, report);
}

// The runner variant_of() instantiates for each variant and form (variants.hpp and
// exercise_variant.cpp): run<Form, Variant> with the lab's parameters.
inline auto runs_with(const Params& params) {
  return [&params]<class Form, class Variant>(const hazardlab::RunContext& context) {
    return run<Form, Variant>(params, context);
  };
}

} // namespace livelock
