#include "hazardlab/outcome.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

namespace hazardlab {

std::string_view to_string(Verdict verdict) noexcept {
  switch (verdict) {
  case Verdict::correct:
    return "correct";
  case Verdict::hazard:
    return "hazard";
  case Verdict::stuck:
    return "stuck";
  case Verdict::crashed:
    return "crashed";
  }
  return "?";
}

int exit_status(Verdict verdict) noexcept {
  switch (verdict) {
  case Verdict::correct:
    return kExitCorrect;
  case Verdict::hazard:
    return kExitHazard;
  case Verdict::stuck:
    return kExitStuck;
  case Verdict::crashed:
    return kExitOther;
  }
  return kExitOther;
}

std::string RunResult::outcome() const {
  return kind.empty() ? std::string(to_string(verdict)) : fmt::format("{}:{}", to_string(verdict), kind);
}

std::optional<RunResult> unfinished_run(const WorkersReport& report, const std::vector<std::string>& worker_names) {
  if (report.ending == WorkersReport::Ending::finished) return std::nullopt;
  RunResult result;
  result.elapsed_ms = report.elapsed_ms;
  if (report.ending == WorkersReport::Ending::crashed) {
    result.verdict = Verdict::crashed;
    result.summary = report.what;
    return result;
  }
  result.verdict = Verdict::stuck;
  if (report.ending == WorkersReport::Ending::frozen) {
    // Every unfinished worker blocked: a lab with traced locks names the cycle (explain_stuck).
    result.kind = "frozen";
    result.summary = fmt::format("stuck: {}", report.what);
  } else if (report.ending == WorkersReport::Ending::livelocked) {
    result.kind = "livelock";
    result.summary = fmt::format("livelock: {}", report.what);
  } else if (report.still_progressing) {
    result.kind = "too-slow";
    result.summary =
        fmt::format("too slow: {}, but they were still making progress (give it a longer --timeout)", report.what);
  } else if (report.still_attempting()) {
    // Busy, but getting nowhere: the workers kept trying and none of them got a unit done.
    result.kind = "livelock";
    result.summary =
        fmt::format("livelock: {}; they kept trying ({} in the last {} ms) but none made progress", report.what,
                    counted(report.attempts_during_look, "attempt", "attempts"), kDeadlineLook.count());
  } else {
    result.kind = "timeout";
    result.summary = fmt::format("stuck: {}", report.what);
  }
  auto& per_worker = result.metrics["workers"] = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < report.progress.size(); ++i) {
    const double cpu_ms = i < report.cpu_ms.size() ? report.cpu_ms[i] : 0.0;
    per_worker.push_back({{"worker", i},
                          {"finished", static_cast<bool>(report.finished[i])},
                          {"progress", report.progress[i]},
                          {"attempts", report.attempts[i]},
                          {"cpu_ms", cpu_ms}});
    std::string line =
        fmt::format("{}: {}, {} of work done", i < worker_names.size() ? worker_names[i] : fmt::format("worker {}", i),
                    report.finished[i] ? "finished" : "NOT finished", counted(report.progress[i], "unit", "units"));
    if (report.attempts[i] > 0) line += fmt::format(" in {}", counted(report.attempts[i], "attempt", "attempts"));
    // CPU against the wall: a frozen worker burns none, a spinning one as much as it gets.
    line += fmt::format(", {:.1f} ms CPU of {:.1f} ms wall", cpu_ms, report.elapsed_ms);
    result.details.push_back(std::move(line));
  }
  return result;
}

std::string counted(std::uint64_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", grouped(n), n == 1 ? one : many);
}

std::string grouped(std::uint64_t n) {
  std::string digits = std::to_string(n);
  for (auto i = static_cast<std::ptrdiff_t>(digits.size()) - 3; i > 0; i -= 3)
    digits.insert(static_cast<std::size_t>(i), ",");
  return digits;
}

int severity(Verdict verdict) noexcept {
  switch (verdict) {
  case Verdict::correct:
    return 0;
  case Verdict::hazard:
    return 1;
  case Verdict::stuck:
    return 2;
  case Verdict::crashed:
    return 3;
  }
  return 3;
}

void TrialStats::add(const RunResult& result) { results_.push_back(result); }

const RunResult& TrialStats::representative() const { return results_[representative_index()]; }

int TrialStats::representative_trial() const {
  return results_.empty() ? 0 : static_cast<int>(representative_index()) + 1;
}

// max_element gives the first of the most severe.
std::size_t TrialStats::representative_index() const {
  return static_cast<std::size_t>(
      std::ranges::max_element(results_, {}, [](const RunResult& r) { return severity(r.verdict); }) -
      results_.begin());
}

std::map<std::string, int> TrialStats::histogram() const {
  std::map<std::string, int> counts;
  for (const auto& result : results_)
    ++counts[result.outcome()];
  return counts;
}

nlohmann::ordered_json TrialStats::distribution() const {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  if (results_.empty()) return out;
  const auto& first_metrics = results_.front().metrics;
  for (auto metric = first_metrics.begin(); metric != first_metrics.end(); ++metric) {
    if (!metric->is_number()) continue;
    const std::string& name = metric.key();
    std::vector<double> values;
    for (const auto& result : results_) {
      if (auto it = result.metrics.find(name); it != result.metrics.end() && it->is_number())
        values.push_back(it->get<double>());
    }
    std::ranges::sort(values);
    const double mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
    out[name] = {{"min", values.front()}, {"p50", values[values.size() / 2]}, {"mean", mean}, {"max", values.back()}};
  }
  return out;
}

} // namespace hazardlab
