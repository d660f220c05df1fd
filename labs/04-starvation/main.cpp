// starvation — lab 04: readers that keep a writer out, a greedy worker that keeps its rivals out.
#include "variants.hpp"

int main(int argc, char** argv) {
  starvation::Params params;
  hazardlab::LabSpec lab;
  lab.name = "starvation";
  lab.description = "Lab 04, starvation: a worker that wants in is passed over while the others work";
  lab.default_workers = 3;
  lab.min_workers = 2; // greedy: the greedy worker and at least one rival
  lab.default_timeout_ms = 5'000;
  lab.add_options = [&params](CLI::App& app) {
    app.add_option_function<std::string>(
           "--scenario",
           [&params](const std::string& name) {
             params.scenario = name == "greedy" ? starvation::Scenario::greedy : starvation::Scenario::readers_writers;
           },
           "readers-writers: readers keep a writer out (default); greedy: one worker keeps the lock")
        ->check(CLI::IsMember({"readers-writers", "greedy"}))
        ->default_str("readers-writers");
    app.add_option("--readers", params.readers, "readers-writers: number of readers")
        ->transform(hazardlab::in_range(1, hazardlab::kMaxWorkers - 1));
    app.add_option("--writers", params.writers, "readers-writers: number of writers")
        ->transform(hazardlab::in_range(1, hazardlab::kMaxWorkers - 1));
    app.add_option("--ops", params.ops, "operations per worker: reads, writes or turns")
        ->transform(hazardlab::in_range(std::uint64_t{1}, std::uint64_t{10'000'000}));
  };
  lab.workers_help = "greedy: the greedy worker and its rivals; readers-writers counts --readers and --writers";
  lab.worker_count = [&params] {
    return params.scenario == starvation::Scenario::readers_writers ? params.readers + params.writers : 0;
  };
  lab.applies = {
      {"--readers", "--scenario", {"readers-writers"}, "greedy has no readers; it counts its workers by --workers"},
      {"--writers", "--scenario", {"readers-writers"}, "greedy has no writers; it counts its workers by --workers"},
      {"--workers", "--scenario", {"greedy"}, "readers-writers counts its workers by --readers and --writers"},
  };
  // Every interleaving of a small run, unless asked for more: one reader and one writer, or the
  // greedy worker and one rival, two operations each.
  lab.explore_sizes = [&params] {
    return params.scenario == starvation::Scenario::readers_writers
               ? hazardlab::ExploreSizes{{"--readers", "1"}, {"--writers", "1"}, {"--ops", "2"}}
               : hazardlab::ExploreSizes{{"--ops", "2"}};
  };
  lab.explore_note = "exclusion only: fairness needs infinite runs, so explore never judges starvation";
  lab.worker_names = [&params](int workers) { return starvation::names_of(params, workers); };
  lab.variants = starvation::variants(params);
  lab.validate = [&params](const std::string& variant, const hazardlab::RunContext& context) {
    return starvation::validate(params, variant, context);
  };
  return hazardlab::lab_main(lab, argc, argv);
}
