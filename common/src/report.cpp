#include "report.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

namespace hazardlab {

namespace {

using Json = nlohmann::ordered_json;

// "--seed 42 --schedule 'replay:+1,1,2,3,0,+399995'": what repeats a controlled run exactly.

std::string replay_arguments(const RunResult& r) {
  return fmt::format("--seed {} --schedule 'replay:{}'", r.seed, r.control.choices);
}

// An explored schedule's replay also needs the small sizes explore chose: "--workers 2 --iterations 2 ".

std::string sized_replay_arguments(const std::vector<std::string>& sizes, const RunResult& r) {
  return fmt::format("{}{}{}", fmt::join(sizes, " "), sizes.empty() ? "" : " ", replay_arguments(r));
}

Json result_json(const RunResult& r) {
  return {{"outcome", r.outcome()},
          {"verdict", to_string(r.verdict)},
          {"kind", r.kind},
          {"summary", r.summary},
          {"details", r.details},
          {"metrics", r.metrics},
          {"elapsed_ms", r.elapsed_ms}};
}

std::string metric_text(const Json& value) {
  if (value.is_number_unsigned()) return grouped(value.get<std::uint64_t>());
  if (value.is_number_float()) {
    const double v = value.get<double>();
    // Large or whole values read best grouped; small fractions (a percentage) keep two places.
    if (v >= 1000 || (v >= 0 && v == static_cast<double>(static_cast<std::uint64_t>(v))))
      return grouped(static_cast<std::uint64_t>(v + 0.5));
    return fmt::format("{:.2f}", v);
  }
  return value.dump();
}

} // namespace

std::string forms_of(const VariantSpec& v) {
  if (v.thread && v.process) return "thread, process";
  return v.thread ? "thread" : "process";
}

void print_list(const LabSpec& lab, bool json) {
  if (json) {
    Json out = Json::array();
    for (const auto& v : lab.variants) {
      Json forms = Json::array();
      if (v.thread) forms.push_back("thread");
      if (v.process) forms.push_back("process");
      out.push_back({{"variant", v.name}, {"forms", forms}, {"shows", v.shows}, {"needs", v.needs}});
    }
    fmt::print("{}\n", out.dump());
    return;
  }
  fmt::print("{} variants:\n", lab.name);
  for (const auto& v : lab.variants) {
    const std::string needs = v.needs.empty() ? "" : fmt::format(" (needs {})", fmt::join(v.needs, " "));
    fmt::print("  {:<22} {:<16} {}{}\n", v.name, forms_of(v), v.shows, needs);
  }
}

void print_json(const LabSpec& lab, const CommonOptions& o, std::uint64_t base_seed, const TrialStats& stats) {
  Json out = {{"lab", lab.name},        {"form", o.form},       {"variant", o.variant},
              {"schedule", o.schedule}, {"workers", o.workers}, {"timeout_ms", o.timeout_ms},
              {"seed", base_seed}};
  out.update(result_json(stats.representative()));
  out["trial"] = stats.representative_trial(); // the reported run's trial, from 1
  if (const ControlRecord& control = stats.representative().control; control.controlled) {
    // The reported run's choices, and how to make them again.
    out["choices"] = control.choices;
    out["control"] = {{"steps", control.steps},
                      {"switches", control.switches},
                      {"choices_complete", control.choices_complete},
                      {"given_up", control.given_up}};
    out["replay"] = replay_arguments(stats.representative());
  }
  out["trials"] = o.trials;
  if (o.trials > 1) {
    out["trials_run"] = stats.trials();
    out["histogram"] = stats.histogram();
    out["distribution"] = stats.distribution();
  }
  fmt::print("{}\n", out.dump());
}

void print_human(const LabSpec& lab, const CommonOptions& o, const TrialStats& stats) {
  const RunResult& r = stats.representative();
  fmt::print("{} · {} form · variant {} · {} workers · {} schedule\n", lab.name, o.form, o.variant, o.workers,
             o.schedule);
  fmt::print("outcome   {}\n", r.outcome());
  // With trials, the report is of the first run with the most severe outcome: say which one.
  if (stats.trials() > 1 && r.verdict != Verdict::correct)
    fmt::print("          first seen in trial {} of {}; the lines below are that trial's\n",
               stats.representative_trial(), stats.trials());
  fmt::print("          {}\n", r.summary);
  for (const auto& line : r.details)
    fmt::print("          {}\n", line);
  std::vector<std::string> scalars;
  for (auto it = r.metrics.begin(); it != r.metrics.end(); ++it)
    if (it->is_primitive()) scalars.push_back(fmt::format("{}={}", it.key(), metric_text(*it)));
  if (!scalars.empty()) fmt::print("metrics   {}\n", fmt::join(scalars, "  "));
  fmt::print("elapsed   {:.1f} ms\n", r.elapsed_ms);
  if (const ControlRecord& control = r.control; control.controlled) {
    // A controlled run is its choices: print them, so that the student can make them again.
    constexpr std::size_t kShown = 160;
    const std::string& choices = control.choices;
    fmt::print("choices   {}{} ({} at {} scheduling points, {})\n", choices.substr(0, kShown),
               choices.size() > kShown ? fmt::format(" … ({} characters; --json has them all)", choices.size()) : "",
               counted(control.switches, "switch", "switches"), grouped(control.steps),
               control.choices_complete ? "replay with the arguments below" : "only the first ones were recorded");
    if (choices.size() <= kShown && control.choices_complete) fmt::print("replay    {}\n", replay_arguments(r));
    if (!control.given_up.empty()) fmt::print("control   given up, the rest ran unscheduled: {}\n", control.given_up);
  }
  const bool stopped_early = stats.trials() < o.trials; // only a stuck thread-form run stops the trials
  if (stopped_early && stats.trials() == 1)
    fmt::print("\nstopped after trial 1 of {}: the threads of a stuck run cannot be taken back, so no trial can "
               "follow it in this process\n",
               o.trials);
  if (stats.trials() <= 1) return;

  fmt::print("\n{} trials{}: how often each outcome happened\n", stats.trials(),
             stopped_early
                 ? fmt::format(" (stopped early, of {} asked: the last one was stuck, and a stuck thread-form "
                               "run's threads cannot be taken back)",
                               o.trials)
                 : "");
  for (const auto& [outcome, count] : stats.histogram()) {
    const int bar = (count * 40 + stats.trials() - 1) / stats.trials();
    fmt::print("  {:<28} {:>6}  {:5.1f}%  {}\n", outcome, count, 100.0 * count / stats.trials(),
               std::string(static_cast<std::size_t>(bar), '#'));
  }
  const Json spread = stats.distribution();
  if (spread.empty()) return; // every trial stuck: no numbers to spread
  fmt::print("spread over the trials (min · p50 · mean · max):\n");
  for (auto it = spread.begin(); it != spread.end(); ++it)
    fmt::print("  {:<28} {} · {} · {} · {}\n", it.key(), metric_text((*it)["min"]), metric_text((*it)["p50"]),
               metric_text((*it)["mean"]), metric_text((*it)["max"]));
}

void print_explore_human(const LabSpec& lab, const CommonOptions& o, const std::vector<std::string>& sizes,
                         const Exploration& e) {
  const RunResult& r = e.reported;
  fmt::print("{} · {} form · variant {} · {} workers · explore schedule\n", lab.name, o.form, o.variant, o.workers);
  fmt::print("explored  {} with at most {}: {} ({:.1f} ms)\n", counted(e.schedules, "schedule", "schedules"),
             counted(static_cast<std::uint64_t>(o.preemptions), "preemption", "preemptions"),
             e.exhausted            ? "the space is exhausted, every such schedule ran"
             : e.stopped_at_failure ? "stopped at the first failing schedule (--first-failure)"
             : e.schedules >= o.max_schedules
                 ? fmt::format("stopped at --max-schedules {}, more remain", grouped(o.max_schedules))
                 : "not exhausted",
             e.elapsed_ms);
  if (e.given_up > 0)
    fmt::print("          in {} the guard gave control up: those ran unscheduled, and were not explored further\n",
               counted(e.given_up, "schedule", "schedules"));
  if (e.incomplete > 0)
    fmt::print("          {} longer than the record holds: not explored past it\n",
               counted(e.incomplete, "schedule was", "schedules were"));
  if (!lab.explore_note.empty()) fmt::print("          {}\n", lab.explore_note);
  fmt::print("outcomes\n");
  for (const auto& [outcome, count] : e.histogram)
    fmt::print("  {:<28} {:>8}  {:5.1f}%\n", outcome, grouped(count),
               100.0 * static_cast<double>(count) / static_cast<double>(e.schedules));
  const std::vector<std::string> names = lab.worker_names ? lab.worker_names(o.workers) : std::vector<std::string>{};
  if (e.found_failure) {
    fmt::print("\n{} failing schedule: schedule {} of {}, {} steps\n", e.stopped_at_failure ? "first" : "shortest",
               grouped(e.reported_schedule), grouped(e.schedules), grouped(r.control.step_log.size()));
    fmt::print("{}", schedule_table(r.control, o.workers, names));
  } else {
    fmt::print("\nno failing schedule: every one ran correct\n");
  }
  fmt::print("\noutcome   {}{}\n", r.outcome(), e.found_failure ? " (the schedule above)" : " (schedule 1)");
  fmt::print("          {}\n", r.summary);
  for (const auto& line : r.details)
    fmt::print("          {}\n", line);
  if (e.found_failure) fmt::print("replay    {}\n", sized_replay_arguments(sizes, r));
}

void print_explore_json(const LabSpec& lab, const CommonOptions& o, std::uint64_t seed, std::int64_t timeout_ms,
                        const std::vector<std::string>& sizes, const Exploration& e) {
  Json out = {{"lab", lab.name},      {"form", o.form},           {"variant", o.variant}, {"schedule", "explore"},
              {"workers", o.workers}, {"timeout_ms", timeout_ms}, {"seed", seed}};
  out.update(result_json(e.reported));
  out["worst_verdict"] = to_string(e.worst); // the exit status's
  Json explore = {
      {"schedules", e.schedules},
      {"exhausted", e.exhausted},
      {"preemptions", o.preemptions},
      {"max_schedules", o.max_schedules},
      {"stopped_at_first_failure", e.stopped_at_failure},
      {"histogram", e.histogram},
      {"given_up", e.given_up},
      {"incomplete", e.incomplete},
      {"elapsed_ms", e.elapsed_ms},
      {"schedules_per_second", e.elapsed_ms > 0 ? 1000.0 * static_cast<double>(e.schedules) / e.elapsed_ms : 0.0}};
  if (!lab.explore_note.empty()) explore["note"] = lab.explore_note;
  if (e.found_failure)
    explore["shortest_failing"] = {{"schedule", e.reported_schedule},
                                   {"outcome", e.reported.outcome()},
                                   {"steps", schedule_steps_json(e.reported.control)},
                                   {"choices", e.reported.control.choices},
                                   {"replay", sized_replay_arguments(sizes, e.reported)}};
  out["explore"] = explore;
  fmt::print("{}\n", out.dump());
}

} // namespace hazardlab
