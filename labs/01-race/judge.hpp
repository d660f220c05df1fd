#pragma once
// Lab 01's judge: did the counter end at workers × iterations?
#include "hazardlab/cli.hpp"
#include "hazardlab/workers.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <optional>

namespace race {

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

} // namespace race
