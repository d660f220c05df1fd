#pragma once
// The reports a lab prints (private to common/): the variant list, one run or a set of trials,
// and an exploration, each as text for a student or as one JSON object for scripts. cli.cpp parses
// the command line and runs the trials; this renders what they gave.
#include "hazardlab/cli.hpp"
#include "hazardlab/explore.hpp"
#include "hazardlab/outcome.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace hazardlab {

// The options every lab shares, as parsed (the reports print them back).
struct CommonOptions {
  std::string form = "thread";
  std::string variant;
  int workers = 4;
  std::string schedule = "natural";
  int trials = 1;
  int timeout_ms = 10'000;
  std::int64_t seed = 0; // signed: CLI11 would wrap "-1" into a huge unsigned value
  bool json = false;
  std::string log_level = "warn";
  bool list = false;
  int preemptions = 2;
  std::uint64_t max_schedules = 10'000;
  bool first_failure = false;
};

// "thread, process": the forms a variant applies to.
std::string forms_of(const VariantSpec& v);
// --list: the variants, their forms and what each shows.
void print_list(const LabSpec& lab, bool json);
// A run or a set of trials: the outcome, its counts, and the replay of a controlled run.
void print_human(const LabSpec& lab, const CommonOptions& o, const TrialStats& stats);
void print_json(const LabSpec& lab, const CommonOptions& o, std::uint64_t base_seed, const TrialStats& stats);
// An exploration. `sizes`: the options explore added ({"--workers", "2", "--iterations", "2"}),
// printed in the replay; `timeout_ms`: one run's deadline as explore applied it.
void print_explore_human(const LabSpec& lab, const CommonOptions& o, const std::vector<std::string>& sizes,
                         const Exploration& e);
void print_explore_json(const LabSpec& lab, const CommonOptions& o, std::uint64_t seed, std::int64_t timeout_ms,
                        const std::vector<std::string>& sizes, const Exploration& e);

} // namespace hazardlab
