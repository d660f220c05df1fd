// livelock — lab 03: polite workers that keep giving way to each other and get nothing done.
#include "variants.hpp"

int main(int argc, char** argv) {
  livelock::Params params;
  hazardlab::LabSpec lab;
  lab.name = "livelock";
  lab.description = "Lab 03, livelock: polite workers that take one resource, try the other and give way, forever";
  lab.default_workers = 2;
  lab.min_workers = 2; // a worker needs a neighbour's resource to give way to
  lab.default_timeout_ms = 2'000;
  lab.add_options = [&params](CLI::App& app) {
    app.add_option("--units", params.units, "units of work per worker (each needs both of its resources)")
        ->transform(hazardlab::in_range(std::uint64_t{1}, std::uint64_t{10'000'000}));
    app.add_option_function<int>(
           "--pause-us", [&params](int us) { params.pause = std::chrono::microseconds(us); },
           "the fixed pause after a failed try, in microseconds (default 50); the back-off's first step")
        ->transform(hazardlab::in_range(1, 100'000));
    app.add_option_function<int>(
           "--reach-us", [&params](int us) { params.reach = std::chrono::microseconds(us); },
           "how long each step of a polite attempt takes (reach for the second resource, see it busy), in "
           "microseconds (default 0; --schedule explore: 1)")
        ->transform(hazardlab::in_range(0, 100'000));
  };
  // Every interleaving of 2 workers × 2 units, unless asked for more; each polite step a pause.
  lab.explore_sizes = [] { return hazardlab::ExploreSizes{{"--units", "2"}, {"--reach-us", "1"}}; };
  lab.explore_note = "a run that gets nothing done in 2,000 steps is called a livelock (it cannot run for ever "
                     "here); each polite step is a pause (--reach-us, 1 µs unless given), where the other worker "
                     "runs as on a second core";
  lab.variants = livelock::variants(params);
  return hazardlab::lab_main(lab, argc, argv);
}
