#include "hazardlab/cli.hpp"

#include "hazardlab/explore.hpp"
#include "hazardlab/logging.hpp"
#include "hazardlab/timeline.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

namespace hazardlab {

std::string_view to_string(FormKind form) noexcept { return form == FormKind::thread ? "thread" : "process"; }
std::string_view to_string(Schedule schedule) noexcept {
  switch (schedule) {
  case Schedule::natural:
    return "natural";
  case Schedule::forced:
    return "forced";
  case Schedule::replay:
    return "replay";
  case Schedule::explore:
    return "explore";
  }
  return "?";
}

namespace {

using Json = nlohmann::ordered_json;

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

// Trial 0 runs with --seed; each later trial with a seed of its own, spread from it, in the range
// --seed accepts (so that the report's replay arguments work as they are printed).
std::uint64_t trial_seed(std::uint64_t base, int trial) {
  if (trial == 0) return base;
  const std::uint64_t seed = (base + 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(trial)) &
                             static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  return seed == 0 ? 1 : seed;
}

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

// `timeout_ms`: one run's deadline as explore applied it (an hour unless --timeout was given).
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

} // namespace

CLI::Validator file_in_existing_folder() {
  return CLI::Validator(
      [](const std::string& path) -> std::string {
        if (std::filesystem::path(path).filename().empty()) return "'" + path + "' names no file";
        const auto folder = std::filesystem::path(path).parent_path();
        return folder.empty() || std::filesystem::is_directory(folder)
                   ? ""
                   : "no folder " + folder.string() + " to write it in";
      },
      "FILE");
}

void add_timeline_options(CLI::App& app, TimelineOptions& options) {
  app.add_flag("--timeline", options.chart,
               "after the report, a chart of what each worker did over time (the first trial): running, "
               "waiting for a lock or semaphore, holding one, sleeping");
  app.add_option("--trace", options.trace_path,
                 "write the first trial's timeline to FILE as Chrome trace-event JSON (Perfetto, chrome://tracing)")
      ->check(file_in_existing_folder());
}

void begin_timeline(const TimelineOptions& options) {
  timeline::take_recorded(); // nothing from before counts
  timeline::request(options.wanted());
}

bool end_timeline(const TimelineOptions& options, const std::string& lab_name, std::FILE* chart_out) {
  timeline::request(false);
  if (!options.wanted()) return true;
  const std::optional<Timeline> recorded = timeline::take_recorded();
  if (!recorded) {
    // Only a thread-form run whose threads were abandoned (a natural run that got stuck) has none:
    // its threads may still be writing.
    std::fflush(stdout); // after the report, also when both go to one pipe
    fmt::print(stderr,
               "{}: no timeline: the stuck run's threads were left where they were and may still be "
               "writing their tracks (--form process, or --schedule forced, records a stuck run)\n",
               lab_name);
    return true;
  }
  if (options.chart) {
    fmt::print(chart_out, "\ntimeline of the first trial\n{}", timeline::ascii_chart(*recorded));
    std::fflush(chart_out);
  }
  if (!options.trace_path.empty()) {
    std::ofstream out(options.trace_path);
    out << timeline::chrome_trace(*recorded, lab_name).dump() << '\n';
    if (!out.flush()) {
      fmt::print(stderr, "{}: error: --trace: cannot write {}\n", lab_name, options.trace_path);
      return false;
    }
  }
  return true;
}

int lab_main(const LabSpec& lab, int argc, char** argv) {
  CommonOptions o;
  o.variant = lab.default_variant;
  o.workers = lab.default_workers;
  o.timeout_ms = lab.default_timeout_ms;
  std::vector<std::string> variant_names;
  for (const auto& v : lab.variants)
    variant_names.push_back(v.name);

  CLI::App app{lab.description, lab.name};
  app.option_defaults()->always_capture_default();
  app.add_option("--form", o.form, "thread: std::jthreads in one process; process: fork()ed children sharing memory")
      ->check(CLI::IsMember({"thread", "process"}));
  app.add_option("--variant", o.variant, "the variant to run (--list shows them)")->check(CLI::IsMember(variant_names));
  if (!lab.worker_count || !lab.workers_help.empty()) {
    app.add_option("--workers", o.workers, lab.workers_help.empty() ? "number of workers" : lab.workers_help)
        ->check(CLI::Range(lab.min_workers, kMaxWorkers));
  } else {
    // Not offered, but named in the error, so that a student who tries it learns why.
    app.add_option_function<std::string>(
           "--workers",
           [](const std::string&) {
             throw CLI::ValidationError("--workers", "this lab counts its workers by role instead (see --help)");
           },
           "")
        ->group("");
  }
  app.add_option("--schedule", o.schedule,
                 "natural: the OS decides; forced: a scheduler decides who runs, and the hazard happens on every "
                 "run; explore: every interleaving within --preemptions, on small sizes; replay:CHOICES: the "
                 "choices a controlled run printed, made again")
      ->check(CLI::Validator(
          [](const std::string& value) -> std::string {
            if (value == "natural" || value == "forced" || value == "explore") return {};
            if (!value.starts_with("replay:"))
              return "must be natural, forced, explore or replay:CHOICES, not '" + value + "'";
            try {
              (void)decode_choices(std::string_view(value).substr(7));
            } catch (const std::invalid_argument& e) {
              return std::string("replay: ") + e.what();
            }
            return {};
          },
          "natural|forced|explore|replay:CHOICES"));
  app.add_option("--preemptions", o.preemptions,
                 "--schedule explore: the most preemptions (switches away from a worker that could have gone on) a "
                 "schedule may have")
      ->check(CLI::Range(0, 8));
  app.add_option("--max-schedules", o.max_schedules, "--schedule explore: stop after this many schedules")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{10'000'000}));
  app.add_flag("--first-failure", o.first_failure,
               "--schedule explore: stop at the first failing schedule (one is enough to fail a fix; the grader's "
               "way) rather than count every outcome and keep the shortest");
  app.add_option("--trials", o.trials, "repeat the run K times and show how often each outcome happened")
      ->check(CLI::Range(1, 100'000));
  app.add_option("--timeout", o.timeout_ms, "watchdog deadline of one run, in milliseconds")
      ->check(CLI::Range(1, 3'600'000));
  app.add_option("--seed", o.seed, "seed for the lab's random choices (0: pick one; --json reports it)")
      ->check(CLI::Range(std::int64_t{0}, std::numeric_limits<std::int64_t>::max()));
  app.add_flag("--json", o.json, "print exactly one JSON object instead of the text report");
  app.add_option("--log-level", o.log_level, "log level on stderr")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_flag("--list", o.list, "list the variants, the forms each applies to and what each shows");
  TimelineOptions timeline_options;
  add_timeline_options(app, timeline_options);
  if (lab.add_options) lab.add_options(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e); // --help
    // One line that names the option and what it allows; CLI11's own codes (105...) become 2.
    fmt::print(stderr, "{}: error: {}\n", lab.name, e.what());
    return kExitUsage;
  }

  if (o.list) {
    print_list(lab, o.json);
    return kExitCorrect;
  }

  const bool exploring = o.schedule == "explore";
  bool workers_defaulted = false;         // explore chose --workers
  std::vector<std::string> explore_sizes; // the lab's own sizes explore chose: {"--iterations", "2"}
  for (const char* option : {"--preemptions", "--max-schedules", "--first-failure"})
    if (!exploring && app.count(option) > 0) {
      fmt::print(stderr, "{}: error: {}: only with --schedule explore\n", lab.name, option);
      return kExitUsage;
    }
  if (exploring) {
    for (const char* option : {"--trials", "--timeline", "--trace"})
      if (app.count(option) > 0) {
        fmt::print(stderr, "{}: error: {}: not with --schedule explore (it runs every schedule itself)\n", lab.name,
                   option);
        return kExitUsage;
      }
    // Every interleaving of a small run: small sizes unless asked for others. The sizes it sets go
    // into the replay arguments it prints, which must give the same run.
    if (app.count("--workers") == 0) {
      o.workers = std::max(lab.explore_workers, lab.min_workers);
      workers_defaulted = true;
    }
    if (lab.explore_sizes) {
      for (const auto& [name, value] : lab.explore_sizes()) {
        CLI::Option* option = app.get_option(name);
        if (option->count() > 0) continue; // the user's size
        option->add_result(value);
        option->run_callback(); // as if typed: checked, then stored
        explore_sizes.insert(explore_sizes.end(), {name, value});
      }
    }
  }

  const auto& spec = *std::ranges::find(lab.variants, o.variant, &VariantSpec::name);
  const FormKind form = o.form == "thread" ? FormKind::thread : FormKind::process;
  const RunFunction& run = spec.in(form);
  if (!run) {
    fmt::print(stderr, "{}: error: --variant {} applies only to --form {}\n", lab.name, o.variant, forms_of(spec));
    return kExitUsage;
  }

  if (lab.worker_count) {
    if (const int by_role = lab.worker_count(); by_role > 0) {
      if (app.count("--workers") > 0) {
        fmt::print(stderr, "{}: error: --workers: this run counts its workers by role, not by --workers ({})\n",
                   lab.name, lab.workers_help);
        return kExitUsage;
      }
      o.workers = by_role;
      workers_defaulted = false;
    }
  }
  RunContext context;
  context.form = form;
  context.workers = o.workers;
  context.schedule = o.schedule == "natural"   ? Schedule::natural
                     : o.schedule == "forced"  ? Schedule::forced
                     : o.schedule == "explore" ? Schedule::explore
                                               : Schedule::replay;
  if (context.schedule == Schedule::replay) {
    try {
      context.replay = decode_choices(std::string_view(o.schedule).substr(7), o.workers);
    } catch (const std::invalid_argument& e) {
      fmt::print(stderr, "{}: error: --schedule: replay: {}\n", lab.name, e.what());
      return kExitUsage;
    }
    o.schedule = "replay";
  }
  context.timeout = std::chrono::milliseconds(o.timeout_ms);
  // An explored run is bounded by the scheduler (its step cut, and the guard), not by time: a
  // deadline reached on a loaded machine would end one run early and make the exploration
  // diverge. Only an explicit --timeout applies.
  if (exploring && app.count("--timeout") == 0) context.timeout = std::chrono::hours(1);
  const std::uint64_t base_seed = o.seed != 0 ? static_cast<std::uint64_t>(o.seed) : std::random_device{}();
  context.seed = base_seed;
  if (lab.validate) {
    if (const std::string error = lab.validate(o.variant, context); !error.empty()) {
      fmt::print(stderr, "{}: error: {}\n", lab.name, error);
      return kExitUsage;
    }
  }
  if (o.workers < 1 || o.workers > kMaxWorkers) {
    fmt::print(stderr, "{}: error: the run needs 1 to {} workers, not {}\n", lab.name, kMaxWorkers, o.workers);
    return kExitUsage;
  }

  init_logging(form, spdlog::level::from_str(o.log_level));
  if (exploring) {
    Exploration exploration;
    try {
      exploration = explore(run, context, ExploreOptions{o.preemptions, o.max_schedules, o.first_failure});
    } catch (const ScheduleMismatch& e) {
      fmt::print(stderr, "{}: error: --schedule explore: {}\n", lab.name, e.what());
      return kExitOther;
    } catch (const std::exception& e) {
      fmt::print(stderr, "{}: internal error: {}\n", lab.name, e.what());
      return kExitOther;
    }
    std::vector<std::string> sizes = explore_sizes;
    if (workers_defaulted) sizes.insert(sizes.begin(), {"--workers", std::to_string(o.workers)});
    if (o.json)
      print_explore_json(lab, o, base_seed,
                         std::chrono::duration_cast<std::chrono::milliseconds>(context.timeout).count(), sizes,
                         exploration);
    else
      print_explore_human(lab, o, sizes, exploration);
    const int status = exit_status(exploration.worst);
    if (threads_abandoned()) {
      std::fflush(nullptr);
      std::_Exit(status);
    }
    return status;
  }
  begin_timeline(timeline_options);
  TrialStats stats;
  try {
    for (int trial = 0; trial < o.trials; ++trial) {
      context.trial = trial;
      // Each trial its own seed, which its report names, so that any one trial can be run again.
      context.seed = trial_seed(base_seed, trial);
      RunResult result = run(context);
      result.seed = context.seed;
      result.control = take_control_record();
      spdlog::info("trial {}: {} ({})", trial, result.outcome(), result.summary);
      stats.add(std::move(result));
      // A stuck thread-form run leaves threads that cannot be reclaimed: no further trials.
      if (threads_abandoned()) break;
    }
  } catch (const ScheduleMismatch& e) {
    // The choices do not fit this run: a usage error, found at the choice that does not fit.
    fmt::print(stderr, "{}: error: --schedule: replay: {}\n", lab.name, e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: internal error: {}\n", lab.name, e.what());
    return kExitOther;
  }

  if (o.json)
    print_json(lab, o, base_seed, stats);
  else
    print_human(lab, o, stats);
  // After the report; with --json on stderr, so that stdout stays one JSON object.
  const bool timeline_written = end_timeline(timeline_options, lab.name, o.json ? stderr : stdout);

  const int status = timeline_written ? exit_status(stats.representative().verdict) : kExitOther;
  if (threads_abandoned()) {
    // The thread form ends the program here: abandoned threads are still blocked (or spinning)
    // inside state that normal exit would destroy under them.
    std::fflush(nullptr);
    std::_Exit(status);
  }
  return status;
}

} // namespace hazardlab
