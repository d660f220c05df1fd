// deadlock — lab 02: bank transfers and dining philosophers that freeze in a cycle of waiters.
#include "variants.hpp"

int main(int argc, char** argv) {
  deadlock::Params params;
  hazardlab::LabSpec lab;
  lab.name = "deadlock";
  lab.description = "Lab 02, deadlock: workers that each need two locks wait for each other in a cycle";
  lab.default_timeout_ms = 5'000;
  lab.add_options = [&params](CLI::App& app) {
    app.add_option_function<std::string>(
           "--scenario",
           [&params](const std::string& name) {
             params.scenario = name == "bank" ? deadlock::Scenario::bank : deadlock::Scenario::philosophers;
           },
           "bank: transfers between accounts (default); philosophers: a dining table")
        ->check(CLI::IsMember({"bank", "philosophers"}))
        ->default_str("bank");
    app.add_option("--accounts", params.accounts, "bank: number of accounts")
        ->transform(hazardlab::in_range(2, hazardlab::kMaxTracedLocks));
    app.add_option("--transfers", params.transfers, "bank: transfers per worker")
        ->transform(hazardlab::in_range(std::uint64_t{1}, std::uint64_t{100'000'000}));
    app.add_option("--meals", params.meals, "philosophers: meals per philosopher")
        ->transform(hazardlab::in_range(std::uint64_t{1}, std::uint64_t{100'000'000}));
  };
  lab.applies = {
      {"--accounts", "--scenario", {"bank"}, "it counts the bank's accounts; the philosophers share forks"},
      {"--transfers", "--scenario", {"bank"}, "it counts the bank's transfers; the philosophers count --meals"},
      {"--meals", "--scenario", {"philosophers"}, "it counts the philosophers' meals; the bank counts --transfers"},
  };
  // Every interleaving of 2 workers × 2 transfers (or meals) on 4 accounts, unless asked for more.
  lab.explore_sizes = [&params] {
    return params.scenario == deadlock::Scenario::bank
               ? hazardlab::ExploreSizes{{"--accounts", "4"}, {"--transfers", "2"}}
               : hazardlab::ExploreSizes{{"--meals", "2"}};
  };
  lab.variants = deadlock::variants(params);
  lab.validate = [&params](const std::string& variant, const hazardlab::RunContext& context) {
    return deadlock::validate(params, variant, context);
  };
  return hazardlab::lab_main(lab, argc, argv);
}
