#include "hazardlab/cli.hpp"
#include "hazardlab/timeline.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <optional>

// The timeline's options and files (--timeline, --trace), shared by every lab's command line.
namespace hazardlab {

void add_timeline_options(CLI::App& app, TimelineOptions& options) {
  app.add_flag("--timeline", options.chart,
               "after the report, a chart of what each worker did over time (the first trial): running, "
               "waiting for a lock or semaphore, holding one, sleeping, inside the lab's hazard window");
  app.add_option("--trace", options.trace_path,
                 "write the first trial's timeline to FILE as Chrome trace-event JSON (Perfetto, chrome://tracing)")
      ->check(writable_file());
}

void begin_timeline(const TimelineOptions& options) {
  timeline::take_recorded(); // nothing from before counts
  timeline::request(options.wanted());
}

bool end_timeline(const TimelineOptions& options, const std::string& lab_name, std::FILE* chart_out,
                  std::vector<std::string> worker_names) {
  timeline::request(false);
  if (!options.wanted()) return true;
  std::optional<Timeline> recorded = timeline::take_recorded();
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
  recorded->names = std::move(worker_names);
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

} // namespace hazardlab
