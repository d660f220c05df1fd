#pragma once
// --schedule explore: every interleaving within a preemption bound, depth-first.
//
// A controlled run is a sequence of choices (control.hpp). The exploration runs the variant again
// and again; each run follows the choices of the one before up to the deepest choice point that
// still has a worker not yet tried there, tries that worker, and goes on by the default rule (the
// same worker as long as it can go on). A switch away from a worker that could have gone on is a
// preemption; schedules with more than `preemptions` of them are not run (CHESS found that most
// concurrency bugs need two at most). When no choice point is left to try, every schedule within
// the bound has run: the space is exhausted.
#include "hazardlab/cli.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hazardlab {

struct ExploreOptions {
  int preemptions = 2;
  std::uint64_t max_schedules = 10'000;
  // Stop at the first failing schedule: enough to fail a fix, and a broken livelock's every
  // schedule is thousands of steps long.
  bool stop_at_first_failure = false;
};

struct Exploration {
  std::uint64_t schedules = 0;
  bool exhausted = false; // every schedule within the bound ran
  std::map<std::string, std::uint64_t> histogram;
  Verdict worst = Verdict::correct;
  // The failing schedule with the fewest steps (the first of them), and which schedule it was
  // (from 1); otherwise the first schedule's run.
  RunResult reported;
  std::uint64_t reported_schedule = 0;
  bool found_failure = false;
  bool stopped_at_failure = false; // ExploreOptions::stop_at_first_failure ended it
  std::uint64_t given_up = 0;      // runs in which the guard gave control up (their schedules are not exact)
  std::uint64_t incomplete = 0;    // runs longer than the record holds (not explored past it)
  double elapsed_ms = 0;
};

// Runs the exploration. `context` carries the run's sizes and seed; each run gets Schedule::explore
// and its choices. Throws ScheduleMismatch when a run does not repeat the choices of the one before
// (the variant is not deterministic under control).
Exploration explore(const RunFunction& run, RunContext context, const ExploreOptions& options);

// The schedule's steps, one row each, one column per worker:
//    step  worker 0              worker 1
//       1  read counter = 0
//       2                        read counter = 0
// `worker_names` (optional) heads the columns with roles ("producer 0").
std::string schedule_table(const ControlRecord& record, int workers, const std::vector<std::string>& worker_names = {});
// The same steps as JSON: [{"step": 1, "worker": 0, "does": "read counter = 0"}, ...]
nlohmann::ordered_json schedule_steps_json(const ControlRecord& record);

} // namespace hazardlab
