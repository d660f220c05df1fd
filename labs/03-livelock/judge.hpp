#pragma once
// Lab 03's judge: what every unit of work is checked and counted for, and the verdict.
#include "livelock.hpp"

#include "hazardlab/cli.hpp"
#include "hazardlab/traced_lock.hpp"
#include "hazardlab/workers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <optional>

namespace livelock {

// The whole shared state of a run: the contract's State, which is all a variant sees, then the
// lab's own counts.
template <class Form>
struct RunState : State<Form> {
  using State<Form>::State;

  std::array<std::uint64_t, hazardlab::kMaxTracedLocks> uses{}; // uses[r] guarded by resources[r]
  std::atomic<std::uint64_t> units_without_both{0};             // must stay 0
};

// What a unit of work is judged by: it counts as done only if this worker really holds both of
// its resources, and each of them counts one more use.
template <class Form>
void count_unit(RunState<Form>& s, int first, int second, const hazardlab::Worker& worker) {
  if (s.resources.holder(first) != worker.id() || s.resources.holder(second) != worker.id())
    s.units_without_both.fetch_add(1, std::memory_order_relaxed);
  ++s.uses[first];
  ++s.uses[second];
}

template <class Form>
hazardlab::RunResult judge(std::uint64_t units_per_worker, const hazardlab::RunContext& context, RunState<Form>& s,
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
    const std::uint64_t expected = 2 * units_per_worker;
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

} // namespace livelock
