// The command line every lab shares: parsing and checking the options, the trials (or the
// exploration), and the exit status. The reports are rendered in report.cpp.
#include "hazardlab/cli.hpp"

#include "report.hpp"

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

namespace {

// Trial 0 runs with --seed; each later trial with a seed of its own, spread from it, in the range
// --seed accepts (so that the report's replay arguments work as they are printed).
std::uint64_t trial_seed(std::uint64_t base, int trial) {
  if (trial == 0) return base;
  const std::uint64_t seed = (base + 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(trial)) &
                             static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  return seed == 0 ? 1 : seed;
}

} // namespace

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
        ->transform(in_range(lab.min_workers, kMaxWorkers));
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
      ->transform(in_range(0, 8));
  app.add_option("--max-schedules", o.max_schedules, "--schedule explore: stop after this many schedules")
      ->transform(in_range(std::uint64_t{1}, std::uint64_t{10'000'000}));
  app.add_flag("--first-failure", o.first_failure,
               "--schedule explore: stop at the first failing schedule (one is enough to fail a fix; the grader's "
               "way) rather than count every outcome and keep the shortest");
  app.add_option("--trials", o.trials, "repeat the run K times and show how often each outcome happened")
      ->transform(in_range(1, 100'000));
  app.add_option("--timeout", o.timeout_ms, "watchdog deadline of one run, in milliseconds")
      ->transform(in_range(1, 3'600'000));
  app.add_option("--seed", o.seed, "seed for the lab's random choices (0: pick one; --json reports it)")
      ->transform(in_range(std::int64_t{0}, std::numeric_limits<std::int64_t>::max()));
  app.add_flag("--json", o.json, "print exactly one JSON object instead of the text report");
  app.add_option("--log-level", o.log_level, "log level on stderr")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_flag("--list", o.list, "list the variants, the forms each applies to and what each shows");
  TimelineOptions timeline_options;
  add_timeline_options(app, timeline_options);
  if (lab.add_options) lab.add_options(app);

  if (const auto status = parse_command_line(app, argc, argv)) return *status;

  if (o.list) {
    print_list(lab, o.json);
    return kExitCorrect;
  }

  // The options that apply to some schedules, scenarios or modes only, as typed (before explore adds
  // its sizes, which apply where it adds them).
  const std::string schedule_kind = o.schedule.starts_with("replay:") ? "replay" : o.schedule;
  const auto chosen = [&](const std::string& selector) {
    return selector == "--schedule" ? schedule_kind : app.get_option(selector)->as<std::string>();
  };
  std::vector<AppliesTo> rules;
  for (const char* option : {"--preemptions", "--max-schedules", "--first-failure"})
    rules.push_back({option, "--schedule", {"explore"}, {}});
  for (const char* option : {"--trials", "--timeline", "--trace"})
    rules.push_back({option, "--schedule", {"natural", "forced", "replay"}, "it runs every schedule itself"});
  rules.insert(rules.end(), lab.applies.begin(), lab.applies.end());
  if (const std::string error = not_applicable(app, rules, chosen); !error.empty()) return usage_error(lab.name, error);

  const bool exploring = o.schedule == "explore";
  bool workers_defaulted = false;         // explore chose --workers
  std::vector<std::string> explore_sizes; // the lab's own sizes explore chose: {"--iterations", "2"}
  if (exploring) {
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
  if (!run)
    return usage_error(lab.name, fmt::format("--variant {} applies only to --form {}", o.variant, forms_of(spec)));
  for (std::size_t i = 0; i + 1 < spec.needs.size(); i += 2)
    if (chosen(spec.needs[i]) != spec.needs[i + 1])
      return usage_error(
          lab.name, fmt::format("--variant {} applies only to {} {}", o.variant, spec.needs[i], spec.needs[i + 1]));

  if (lab.worker_count) {
    if (const int by_role = lab.worker_count(); by_role > 0) {
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
      return usage_error(lab.name, fmt::format("--schedule: replay: {}", e.what()));
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
    if (const std::string error = lab.validate(o.variant, context); !error.empty()) return usage_error(lab.name, error);
  }
  if (o.workers < 1 || o.workers > kMaxWorkers)
    return usage_error(lab.name, fmt::format("the run needs 1 to {} workers, not {}", kMaxWorkers, o.workers));

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
    return usage_error(lab.name, fmt::format("--schedule: replay: {}", e.what()));
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: internal error: {}\n", lab.name, e.what());
    return kExitOther;
  }

  if (o.json)
    print_json(lab, o, base_seed, stats);
  else
    print_human(lab, o, stats);
  // After the report; with --json on stderr, so that stdout stays one JSON object.
  const bool timeline_written =
      end_timeline(timeline_options, lab.name, o.json ? stderr : stdout,
                   lab.worker_names ? lab.worker_names(o.workers) : std::vector<std::string>{});

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
