#pragma once
// The outcome of a run, its exit status, and the statistics of many trials.
#include "hazardlab/workers.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hazardlab {

enum class Verdict { correct, hazard, stuck, crashed };

std::string_view to_string(Verdict verdict) noexcept;
// How bad a verdict is: correct 0 < hazard < stuck < crashed 3 (the worst one decides the exit status).
int severity(Verdict verdict) noexcept;

// Exit statuses every lab uses (2 is a usage error, raised before any run).
inline constexpr int kExitCorrect = 0;
inline constexpr int kExitOther = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitHazard = 3;
inline constexpr int kExitStuck = 4;

int exit_status(Verdict verdict) noexcept;

struct RunResult {
  Verdict verdict = Verdict::correct;
  std::string kind;                 // "lost-updates", "deadlock", ...; empty when correct
  std::string summary;              // the one line a student reads first
  std::vector<std::string> details; // further lines: a watchdog report, the first bad items
  nlohmann::ordered_json metrics = nlohmann::ordered_json::object(); // measured, named numbers
  double elapsed_ms = 0;
  // Filled in by the command line after the run: the run's seed, and for a controlled run the
  // scheduler's record (its choices, to replay it).
  std::uint64_t seed = 0;
  ControlRecord control;

  // "correct", "hazard:lost-updates", "stuck:deadlock", "crashed"
  std::string outcome() const;
};

// 1234567 -> "1,234,567": the numbers a student reads.
std::string grouped(std::uint64_t n);
// (1, "item", "items") -> "1 item"; (1204, ...) -> "1,204 items"
std::string counted(std::uint64_t n, std::string_view one, std::string_view many);

// A run whose workers did not all finish: stuck (the watchdog's deadline, or the scheduler's
// verdict) or crashed, with the watchdog's per-worker report. Empty when they finished and the lab
// should check its invariant. The kind is "frozen" when every unfinished worker was blocked
// (explain_stuck then finds the deadlock's cycle), "livelock" when they kept trying in vain,
// "timeout" when nothing moved at the deadline (explain_stuck may still find a cycle), "too-slow"
// when the workers were still making progress. `worker_names` (optional)
// calls the workers by their roles: "producer 0" rather than "worker 0".
std::optional<RunResult> unfinished_run(const WorkersReport& report, const std::vector<std::string>& worker_names = {});

// Outcomes of K trials, jcstress-style: which outcomes and how often, and the spread of every
// numeric metric.
class TrialStats {
public:
  void add(const RunResult& result);
  int trials() const noexcept { return static_cast<int>(results_.size()); }
  // The most severe outcome seen (crashed > stuck > hazard > correct) and its first run.
  const RunResult& representative() const;
  // Which trial that was, counted from 1 (0 before any trial was added).
  int representative_trial() const;
  std::map<std::string, int> histogram() const;
  nlohmann::ordered_json distribution() const; // metric -> {min, p50, mean, max}

private:
  std::size_t representative_index() const;
  std::vector<RunResult> results_;
};

} // namespace hazardlab
