// prodcons — lab 05: producers and consumers sharing a bounded buffer, four ways to get it wrong.
#include "variants.hpp"

int main(int argc, char** argv) {
  prodcons::Params params;
  hazardlab::LabSpec lab;
  lab.name = "prodcons";
  lab.description = "Lab 05, producer-consumer: a bounded buffer with two semaphores and a mutex";
  lab.default_variant = "broken-no-mutex";
  lab.default_timeout_ms = 3'000;
  lab.add_options = [&params](CLI::App& app) {
    app.add_option("--producers", params.producers, "number of producers")
        ->transform(hazardlab::in_range(1, hazardlab::kMaxWorkers - 1));
    app.add_option("--consumers", params.consumers, "number of consumers")
        ->transform(hazardlab::in_range(1, hazardlab::kMaxWorkers - 1));
    app.add_option("--capacity", params.capacity, "slots in the ring buffer")
        ->transform(hazardlab::in_range(1, prodcons::kMaxCapacity));
    app.add_option("--items", params.items, "items to move, in all")
        ->transform(hazardlab::in_range(std::uint64_t{1}, prodcons::kMaxItems));
  };
  lab.worker_count = [&params] { return params.producers + params.consumers; };
  // Every interleaving of 2 producers and 1 consumer moving 2 items through 2 slots, unless asked
  // for more: both producers can be between their semaphore and the ring at once, and the ring
  // (2 items and a pill) fills up.
  lab.explore_sizes = [] {
    return hazardlab::ExploreSizes{{"--producers", "2"}, {"--consumers", "1"}, {"--capacity", "2"}, {"--items", "2"}};
  };
  lab.worker_names = [&params](int workers) { return prodcons::worker_names(params, workers); };
  lab.variants = prodcons::variants(params);
  lab.validate = [&params](const std::string&, const hazardlab::RunContext&) -> std::string {
    if (params.producers + params.consumers > hazardlab::kMaxWorkers)
      return fmt::format("--producers plus --consumers must be at most {}, not {}", hazardlab::kMaxWorkers,
                         params.producers + params.consumers);
    return {};
  };
  return hazardlab::lab_main(lab, argc, argv);
}
