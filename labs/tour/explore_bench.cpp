// explore-bench — how many schedules per second --schedule explore runs, in each form.
//
// Each row runs a lab binary once per --repeat with --schedule explore --json, as a student would,
// and reads the exploration's own count and time (the lab's start-up is not counted). The median
// over the repeats is shown against the target: on 2 idle cores, at least 2,000 schedules per
// second in the thread form and 300 in the process form. The counts are exact (the same on any
// machine); the rates depend on the machine and its load, so the table says how loaded it was.
#include "hazardlab/subprocess.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

struct Case {
  std::string lab, variant, sizes;
  std::vector<std::string> args;
};

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return one.empty() ? "?" : one;
}

} // namespace

int main(int argc, char** argv) {
  int repeat = 3;
  CLI::App app{"Schedules per second of --schedule explore, per lab and form", "explore-bench"};
  app.add_option("--repeat", repeat, "explorations per row; the median is shown")->check(CLI::Range(1, 100));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    fmt::print(stderr, "explore-bench: error: {}\n", e.what());
    return 2;
  }

  const auto bin_dir = std::filesystem::canonical("/proc/self/exe").parent_path();
  const std::vector<Case> cases{
      {"race", "broken", "2 workers × 2 iterations", {"--workers", "2", "--iterations", "2"}},
      {"race", "fixed-mutex", "2 workers × 2 iterations", {"--workers", "2", "--iterations", "2"}},
      {"deadlock",
       "broken",
       "2 workers × 2 transfers",
       {"--scenario", "bank", "--workers", "2", "--accounts", "2", "--transfers", "2"}},
      {"deadlock",
       "fixed-ordering",
       "2 workers × 2 transfers",
       {"--scenario", "bank", "--workers", "2", "--accounts", "2", "--transfers", "2"}},
  };

  fmt::print("explore-bench: {} explorations per row, median shown; load average at start {} on {} CPUs\n", repeat,
             load_average(), std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  fmt::print("{:<9} {:<15} {:<8} {:<25} {:>9} {:>10} {:>11} {:>13} {:>7}  {}\n", "lab", "variant", "form", "sizes",
             "schedules", "exhausted", "elapsed ms", "schedules/s", "target", "");
  int missed = 0, failed = 0;
  for (const auto& c : cases) {
    for (const std::string form : {"thread", "process"}) {
      std::vector<std::string> command{(bin_dir / c.lab).string(),
                                       "--form",
                                       form,
                                       "--variant",
                                       c.variant,
                                       "--schedule",
                                       "explore",
                                       "--json",
                                       "--seed",
                                       "1"};
      command.insert(command.end(), c.args.begin(), c.args.end());
      std::vector<double> rates, elapsed;
      std::uint64_t schedules = 0;
      bool exhausted = false;
      std::string error;
      for (int r = 0; r < repeat; ++r) {
        const auto done = hazardlab::run_command(command, std::chrono::minutes(5));
        const auto report = nlohmann::json::parse(done.out, nullptr, false);
        if (!report.is_object() || !report.contains("explore")) {
          error = fmt::format("no report (exit {}): {}", done.exit_status, done.err.substr(0, done.err.find('\n')));
          break;
        }
        const auto& e = report["explore"];
        schedules = e["schedules"];
        exhausted = e["exhausted"];
        rates.push_back(e["schedules_per_second"]);
        elapsed.push_back(e["elapsed_ms"]);
      }
      if (!error.empty()) {
        fmt::print("{:<9} {:<15} {:<8} {}\n", c.lab, c.variant, form, error);
        ++failed;
        continue;
      }
      std::ranges::sort(rates);
      std::ranges::sort(elapsed);
      const double rate = rates[rates.size() / 2];
      const double target = form == "thread" ? 2000 : 300;
      const bool met = rate >= target;
      missed += met ? 0 : 1;
      fmt::print("{:<9} {:<15} {:<8} {:<25} {:>9} {:>10} {:>11.1f} {:>13.0f} {:>7.0f}  {}\n", c.lab, c.variant, form,
                 c.sizes, schedules, exhausted ? "yes" : "no", elapsed[elapsed.size() / 2], rate, target,
                 met ? "met" : "MISSED");
    }
  }
  fmt::print("load average at the end {}; the targets are for 2 idle cores: on a loaded machine a miss says little\n",
             load_average());
  return failed > 0 ? 1 : 0;
}
