#pragma once
// The command line every lab shares, and the driver that runs a lab's variant once or over
// many trials and prints the outcome.
//
//   lab --form thread|process --variant NAME [--workers N] [lab options]
//       [--schedule natural|forced|explore|replay:CHOICES] [--trials K] [--timeout MS] [--seed S]
//       [--preemptions K] [--max-schedules N] [--first-failure]
//       [--timeline] [--trace FILE.json] [--json] [--log-level L] [--list]
//
// A lab's main() fills a LabSpec (its options and its variants) and calls lab_main().
#include "hazardlab/forms.hpp"
#include "hazardlab/outcome.hpp"
#include "hazardlab/schedule.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace hazardlab {

// --- The checks of a command line, for lab_main and for a program with a command line of its own
// (threads-vs-processes). Everything is checked before anything runs or is created; a bad value
// gives one line naming the option and what it allows, and exit status 2.

// A number in [min, max] (an option's type T): "Value abc is not a number", "Value 0 not in range
// 1 to 64". A number too big for T (2^64 for a 64-bit seed) is out of range, never wrapped; a float
// must be finite (nan and inf are refused). The number is passed on in plain decimal, so "010" is
// ten. `unit`, if given, ends the range error: "not in range 0.05 to 1000 (milliseconds)".
namespace detail {
CLI::Validator signed_range(std::int64_t min, std::int64_t max, const std::string& type, const std::string& unit);
CLI::Validator unsigned_range(std::uint64_t min, std::uint64_t max, const std::string& type, const std::string& unit);
CLI::Validator float_range(double min, double max, const std::string& type, const std::string& unit);
} // namespace detail
template <class T>
requires std::is_arithmetic_v<T> CLI::Validator in_range(T min, T max, const std::string& unit = {}) {
  const std::string type = CLI::detail::type_name<T>();
  if constexpr (std::is_floating_point_v<T>)
    return detail::float_range(static_cast<double>(min), static_cast<double>(max), type, unit);
  else if constexpr (std::is_signed_v<T>)
    return detail::signed_range(min, max, type, unit);
  else
    return detail::unsigned_range(min, max, type, unit);
}

// For an option naming a file the program will write (--trace, --csv): an existing file it may
// write, or a new one in a folder where it may create one. A folder, a read-only file (/proc/version)
// or a missing folder is refused, before a long run is wasted on a report it cannot write. The
// check creates nothing (the probe for a new file is an unnamed O_TMPFILE, gone when closed).
CLI::Validator writable_file();

// An option that means something for some values of another only (a scenario, a mode, a schedule):
// given with any other value it is refused, in the same words in every lab:
//   deadlock: error: --meals does not apply to --scenario bank (it counts the philosophers' meals)
struct AppliesTo {
  std::string option;              // "--meals"
  std::string selector;            // "--scenario"
  std::vector<std::string> values; // the selector's values it applies to: {"philosophers"}
  std::string why;                 // the error's reason; empty: "only to --scenario philosophers"
};
// The error for the first rule whose option was given in `app` while its selector's value,
// `chosen(selector)`, is not one it applies to; empty when every option given applies.
std::string not_applicable(const CLI::App& app, const std::vector<AppliesTo>& rules,
                           const std::function<std::string(const std::string& selector)>& chosen);

// Parses the command line. --help prints the help and gives 0, also beside an option that is wrong
// (`--help --workers abc`); any other parse error prints one line, "<program>: error: <what>", and
// gives kExitUsage. nullopt: parsed, go on.
std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv);
// A usage error found after the parse: one line, "<program>: error: <what>"; gives kExitUsage.
int usage_error(const std::string& program, const std::string& what);

// What one run of a variant is given.
struct RunContext {
  FormKind form = FormKind::thread;
  int workers = 1;
  Schedule schedule = Schedule::natural;
  std::vector<ChoiceRun> replay; // --schedule replay:CHOICES
  std::chrono::milliseconds timeout{0};
  std::uint64_t seed = 0; // this trial's: the first trial has --seed, each later one its own
  int trial = 0;

  // forced, replay or explore: the scheduler decides who runs, and a lab sets up its forced
  // arrangement (a replay repeats a controlled run, so it needs the same; so does an explored run,
  // which a replay repeats).
  bool controlled() const noexcept { return schedule != Schedule::natural; }
  // For run_workers(): the schedule and its choices, with the lab's script for --schedule forced.
  RunOptions run_options(Script script = {}) const {
    RunOptions options(schedule);
    options.replay = replay;
    options.script = std::move(script);
    return options;
  }
};

using RunFunction = std::function<RunResult(const RunContext&)>;

struct VariantSpec {
  std::string name;
  std::string shows;  // one line for --list: what this variant demonstrates
  RunFunction thread; // empty where the variant does not apply to the form
  RunFunction process;
  // Options it cannot run without, e.g. {"--scenario", "philosophers"} (option and value pairs):
  // lab_main refuses the variant with any other value, "--variant fixed-waiter applies only to
  // --scenario philosophers".
  std::vector<std::string> needs;

  const RunFunction& in(FormKind form) const { return form == FormKind::thread ? thread : process; }
};

enum class Forms { both, thread_only, process_only };

// Builds a variant from a generic runner `run(form_tag, context)` that a lab writes once as a
// template over the form; it is instantiated for each form the variant applies to.
template <class Runner>
VariantSpec variant(std::string name, std::string shows, Forms forms, Runner run) {
  VariantSpec spec{std::move(name), std::move(shows), {}, {}, {}};
  if (forms != Forms::process_only)
    spec.thread = [run](const RunContext& context) { return run(ThreadForm{}, context); };
  if (forms != Forms::thread_only)
    spec.process = [run](const RunContext& context) { return run(ProcessForm{}, context); };
  return spec;
}

// A variant of a lab whose run is one function template over the form and the variant:
//   const auto runs = [&params]<class Form, class Variant>(const RunContext& context) {
//     return run<Form, Variant>(params, context);
//   };
//   variant_of<Broken>("broken", "what it shows", Forms::both, runs)
// runs runs<Form, Broken<Form>> in each form the variant applies to. `needs` lists the options it
// cannot run without, e.g. {"--scenario", "philosophers"}.
template <template <class Form> class Variant, class Runs>
VariantSpec variant_of(std::string name, std::string shows, Forms forms, Runs runs,
                       std::vector<std::string> needs = {}) {
  auto spec = variant(std::move(name), std::move(shows), forms, [runs](auto form, const RunContext& context) {
    using Form = decltype(form);
    return runs.template operator()<Form, Variant<Form>>(context);
  });
  spec.needs = std::move(needs);
  return spec;
}

// Options and their values, as typed: {{"--iterations", "2"}}.
using ExploreSizes = std::vector<std::pair<std::string, std::string>>;

struct LabSpec {
  std::string name;        // the binary's name: "race"
  std::string description; // one line for --help
  std::string default_variant = "broken";
  int default_workers = 4;
  int min_workers = 1; // livelock: a worker needs a neighbour to give way to
  int default_timeout_ms = 10'000;
  std::function<void(CLI::App&)> add_options; // the lab's own options
  // The lab's options that apply to some values of another only (--meals: --scenario philosophers);
  // the selector's value is the option's as given or its default (default_str on an option
  // without a variable). lab_main adds its own (--preemptions: --schedule explore only).
  std::vector<AppliesTo> applies;
  std::vector<VariantSpec> variants;
  // Checks what the options cannot say alone (a variant that needs another option's value):
  // returns the one-line error, or an empty string when the run may go ahead.
  std::function<std::string(const std::string& variant, const RunContext& context)> validate;
  // For a lab whose workers have roles (producers and consumers): how many workers its own
  // options ask for. Then --workers is not offered, and validate() must check the count.
  std::function<int()> worker_count;
  // For a lab that counts its workers by role in some runs only (starvation's readers and
  // writers) and by --workers in the others: --workers is offered with this help, and
  // worker_count() returns 0 for a run that takes --workers. An `applies` rule refuses --workers
  // where the run counts by role.
  std::string workers_help;
  // --schedule explore runs every interleaving, so it wants small runs: the workers it takes when
  // --workers is not given, and `explore_sizes`, the lab's own options it adds to the command line
  // when they are not given there ({{"--iterations", "2"}}), parsed and checked as if typed. They
  // are printed with the replay, which needs them to give the same run. Called after the parse,
  // so that they may depend on the options given (a scenario).
  int explore_workers = 2;
  std::function<ExploreSizes()> explore_sizes;
  // A line the explore report adds: what exploring can and cannot decide for this lab.
  std::string explore_note;
  // The workers' names by role ("producer 0"), in an explored schedule's table (empty: "worker N")
  // and on the timeline's rows (empty: "thread N", "process N").
  std::function<std::vector<std::string>(int workers)> worker_names;
};

int lab_main(const LabSpec& lab, int argc, char** argv);

// --timeline and --trace FILE, for lab_main and for a program with a command line of its own
// (threads-vs-processes): add the options, call begin_timeline() before the runs (it asks
// run_workers() to record), and end_timeline() after them. end_timeline() prints the chart of the
// first recorded run to `chart_out` and writes the trace, its rows named `worker_names` (by role:
// "producer 0"; empty: "thread 0", "process 0"); it returns false, with a one-line error on
// stderr, when the trace cannot be written.
struct TimelineOptions {
  bool chart = false;
  std::string trace_path;
  bool wanted() const noexcept { return chart || !trace_path.empty(); }
};
void add_timeline_options(CLI::App& app, TimelineOptions& options);
void begin_timeline(const TimelineOptions& options);
bool end_timeline(const TimelineOptions& options, const std::string& lab_name, std::FILE* chart_out,
                  std::vector<std::string> worker_names = {});

} // namespace hazardlab
