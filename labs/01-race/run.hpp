#pragma once
// Lab 01's run: place the state, start the workers, force the interleaving when asked, judge.
#include "judge.hpp"
#include "race.hpp"

#include "hazardlab/cli.hpp"
#include "hazardlab/workers.hpp"

#include <cstdint>
#include <optional>

namespace race {

struct Params {
  std::uint64_t iterations = 100'000; // increments per worker
};

template <class Form, class Variant>
hazardlab::RunResult run(const Params& params, const hazardlab::RunContext& context) {
  auto state = hazardlab::place<Form, typename Variant::State>();
  // --schedule forced: every worker's first hazard point in lockstep, so that every worker reads
  // the counter before any writes it back; then each runs its increments alone, in turn (a few
  // switches in all, whatever the sizes and the load).
  hazardlab::RunOptions options = context.run_options(hazardlab::scripts::lockstep(1));
  // On the timeline (--timeline, --trace): from the hazard point, just after the read, to the
  // progress reported after the write.
  options.timeline_window = "between read and write";
  const auto report = hazardlab::run_workers<Form>(
      context.workers, context.timeout,
      [state = state.get(), iterations = params.iterations](hazardlab::Worker& worker) {
        for (std::uint64_t i = 0; i < iterations; ++i) {
          Variant::increment(*state, worker);
          worker.progressed();
        }
      },
      options);
  const std::uint64_t expected = static_cast<std::uint64_t>(context.workers) * params.iterations;
  std::optional<std::uint64_t> observed;
  if (report.all_stopped) observed = Variant::count(*state);
  auto result = judge(expected, observed, report);
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

} // namespace race
