// race — lab 01: workers increment one shared counter; the broken variants lose updates.
#include "variants.hpp"

int main(int argc, char** argv) {
  race::Params params;
  hazardlab::LabSpec lab;
  lab.name = "race";
  lab.description = "Lab 01, the race condition: workers increment one shared counter";
  lab.add_options = [&params](CLI::App& app) {
    app.add_option("--iterations", params.iterations, "increments per worker")
        ->transform(hazardlab::in_range(std::uint64_t{1}, std::uint64_t{1'000'000'000}));
  };
  // Every interleaving of 2 workers × 2 increments, unless asked for more.
  lab.explore_sizes = [] { return hazardlab::ExploreSizes{{"--iterations", "2"}}; };
  lab.variants = race::variants(params);
  return hazardlab::lab_main(lab, argc, argv);
}
