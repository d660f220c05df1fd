#pragma once
// Lab 01 — the race condition.
//
// Every worker adds 1 to one shared counter, `iterations` times. With W workers the counter must
// end at W × iterations; every increment missing from it is an update lost to the race.
//
// A variant is a class template over the form (thread or process) with three members:
//   struct State                                  the shared state, placed once per run
//   static void increment(State&, Worker&)        one increment of the shared counter
//   static std::uint64_t count(const State&)      the counter's value after the run
// and, optionally, `static constexpr const char* why_it_fails`: a line added to a failed run.
#include "hazardlab/cli.hpp"
#include "hazardlab/workers.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <optional>

namespace race {

struct Params {
  std::uint64_t iterations = 100'000; // increments per worker
};

// The invariant: no update lost. `observed_count` is empty when the counter could not be read
// safely (see WorkersReport::all_stopped).
inline hazardlab::RunResult judge(std::uint64_t expected, std::optional<std::uint64_t> observed_count,
                                  const hazardlab::WorkersReport& report) {
  using hazardlab::grouped;
  hazardlab::RunResult result;
  if (auto unfinished = hazardlab::unfinished_run(report)) result = std::move(*unfinished);
  result.elapsed_ms = report.elapsed_ms;
  result.metrics["expected"] = expected;
  if (observed_count) result.metrics["observed"] = *observed_count;
  if (result.verdict != hazardlab::Verdict::correct) return result; // stuck or crashed: no count to judge

  const std::uint64_t observed = observed_count.value(); // every worker finished, so it was read
  const std::uint64_t lost = expected > observed ? expected - observed : 0;
  const double lost_percent = 100.0 * static_cast<double>(lost) / static_cast<double>(expected);
  result.metrics["lost"] = lost;
  result.metrics["lost_percent"] = lost_percent;
  if (observed == expected) {
    result.summary = fmt::format("all {} updates counted", grouped(expected));
  } else {
    result.verdict = hazardlab::Verdict::hazard;
    result.kind = "lost-updates";
    result.summary = fmt::format("lost {} of {} updates ({:.1f}%)", grouped(lost), grouped(expected), lost_percent);
  }
  return result;
}

template <class Form, class Variant>
hazardlab::RunResult run(const Params& params, const hazardlab::RunContext& context) {
  auto state = hazardlab::place<Form, typename Variant::State>();
  const auto report = hazardlab::run_workers<Form>(
      context.workers, context.timeout,
      [state = state.get(), iterations = params.iterations](hazardlab::Worker& worker) {
        for (std::uint64_t i = 0; i < iterations; ++i) {
          Variant::increment(*state, worker);
          worker.progressed();
        }
      },
      // --schedule forced: every worker's first hazard point in lockstep, so that every worker reads
      // the counter before any writes it back; then each runs its increments alone, in turn (a few
      // switches in all, whatever the sizes and the load).
      context.run_options(hazardlab::scripts::lockstep(1)));
  const std::uint64_t expected = static_cast<std::uint64_t>(context.workers) * params.iterations;
  std::optional<std::uint64_t> observed;
  if (report.all_stopped) observed = Variant::count(*state);
  auto result = judge(expected, observed, report);
  if constexpr (requires { Variant::why_it_fails; }) {
    if (result.verdict != hazardlab::Verdict::correct) result.details.emplace_back(Variant::why_it_fails);
  }
  return result;
}

} // namespace race
