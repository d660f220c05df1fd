// hazardlab-tour — what `make run` shows: every lab, every variant, in every form it applies to,
// one row each: the outcome and the damage measured.
//
// It runs each lab binary as a student would (--json, natural schedule unless told otherwise),
// so a lab that misbehaves shows up here exactly as it would on the command line.
//
// With --runs N it is the kit's benchmark of schedules: every row is run N times, each run a
// process of its own, and the row shows how often each outcome came and the elapsed time's
// median, 95th percentile and maximum (--only PREFIX keeps the variants whose name starts so,
// --labs a,b the labs named). Built with ThreadSanitizer, it also counts the runs on which TSan
// reported anything. The times depend on the machine and its load; the counts must not, under
// --schedule forced.
#include "hazardlab/subprocess.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

using nlohmann::json;

struct Row {
  std::string lab, form, variant, outcome, measured;
  double elapsed_ms = 0;
  std::map<std::string, int> outcomes; // --runs: how often each came
  std::vector<double> elapsed;         // --runs: each run's elapsed_ms
  int tsan_reports = 0;                // --runs: runs with a ThreadSanitizer report on stderr
};

// The q-quantile of sorted values (nearest rank).
double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<std::size_t>(rank, 1)) - 1];
}

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> items;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');)
    items.push_back(item);
  return items;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Runs every variant of every lab in every form it applies to and prints one table", "hazardlab-tour"};
  std::string schedule = "natural";
  int timeout_ms = 2'000;
  int runs = 1;
  std::string only;
  std::string labs = HAZARDLAB_LABS;
  app.add_option("--schedule", schedule, "schedule for every run")->check(CLI::IsMember({"natural", "forced"}));
  app.add_option("--timeout", timeout_ms, "watchdog deadline of each run, in ms")->check(CLI::Range(1, 600'000));
  app.add_option("--runs", runs, "run every row this many times: outcome counts and elapsed p50/p95/max")
      ->check(CLI::Range(1, 10'000));
  app.add_option("--only", only, "only the variants whose name starts with this (e.g. fixed, broken)");
  app.add_option("--labs", labs, "only these labs, comma-separated")
      ->check(CLI::Validator(
          [](const std::string& list) -> std::string {
            const auto known = split(HAZARDLAB_LABS);
            for (const auto& lab : split(list))
              if (std::ranges::find(known, lab) == known.end())
                return "no lab '" + lab + "' (the labs: " + std::string(HAZARDLAB_LABS) + ")";
            return {};
          },
          "LAB,…"));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    fmt::print(stderr, "hazardlab-tour: error: {}\n", e.what());
    return 2;
  }

  // The labs sit next to this binary.
  const auto bin_dir = std::filesystem::canonical("/proc/self/exe").parent_path();
  const auto limit = std::chrono::milliseconds(timeout_ms) * 4 + std::chrono::seconds(30);
  std::vector<Row> rows;
  int failures = 0;
  for (const auto& lab : split(labs)) {
    const std::string binary = (bin_dir / lab).string();
    const auto listed = hazardlab::run_command({binary, "--list", "--json"}, limit);
    const json variants = json::parse(listed.out, nullptr, false);
    if (listed.exit_status != 0 || !variants.is_array()) {
      fmt::print(stderr, "{}: --list failed: {}\n", lab, first_line(listed.err));
      ++failures;
      continue;
    }
    for (const auto& variant : variants) {
      if (!variant["variant"].get<std::string>().starts_with(only)) continue;
      for (const auto& form : variant["forms"]) {
        const std::string name = variant["variant"];
        // A variant that needs an option to run at all (fixed-waiter: --scenario philosophers) says so.
        std::vector<std::string> command{
            binary,  "--form", form, "--variant", name, "--schedule", schedule, "--timeout", std::to_string(timeout_ms),
            "--json"};
        for (const auto& needed : variant["needs"])
          command.push_back(needed);
        Row row{lab, form, name, "error", "", 0, {}, {}, 0};
        if (!variant["needs"].empty()) row.variant += " (" + variant["needs"].back().get<std::string>() + ")";
        for (int run = 0; run < runs; ++run) {
          const auto done = hazardlab::run_command(command, limit);
          const json report = json::parse(done.out, nullptr, false);
          std::string outcome = "error";
          if (report.is_object()) {
            outcome = report["outcome"];
            row.measured = report["summary"];
            row.elapsed_ms = report["elapsed_ms"];
            row.elapsed.push_back(row.elapsed_ms);
          } else {
            row.measured = fmt::format("no report (exit {}): {}", done.exit_status, first_line(done.err));
          }
          ++row.outcomes[outcome];
          row.tsan_reports += done.err.find("WARNING: ThreadSanitizer") != std::string::npos;
          // The reference fixes must be correct on every run; anything else here is a real
          // failure, except a fix still making progress at the deadline (stuck:too-slow): that
          // says the machine is busy or the deadline short, not that the fix is wrong.
          if (outcome == "error" || (name.starts_with("fixed") && outcome != "correct" && outcome != "stuck:too-slow"))
            ++failures;
          // The row's outcome: the first run's, or the first that differs from it.
          if (run == 0 || row.outcomes.size() > 1) row.outcome = outcome;
        }
        rows.push_back(row);
      }
    }
  }

  if (runs > 1) {
    // The benchmark: what came, how often, and how long each run took to its verdict.
    fmt::print("hazardlab tour · {} schedule · {} runs of each row · {} cores\n\n", schedule, runs,
               ::sysconf(_SC_NPROCESSORS_ONLN));
#if defined(__SANITIZE_THREAD__)
    constexpr bool tsan = true;
#else
    constexpr bool tsan = false;
#endif
    fmt::print("{:<12} {:<8} {:<30} {:<40} {:>9} {:>9} {:>9}{}\n", "lab", "form", "variant", "outcomes", "p50 ms",
               "p95 ms", "max ms", tsan ? "  TSan reported" : "");
    fmt::print("{}\n", std::string(tsan ? 138 : 123, '-'));
    for (auto& r : rows) {
      std::vector<std::string> counts;
      for (const auto& [outcome, count] : r.outcomes)
        counts.push_back(fmt::format("{} {}/{}", outcome, count, runs));
      std::ranges::sort(r.elapsed);
      fmt::print("{:<12} {:<8} {:<30} {:<40} {:>9.1f} {:>9.1f} {:>9.1f}{}\n", r.lab, r.form, r.variant,
                 fmt::format("{}", fmt::join(counts, ", ")), quantile(r.elapsed, 0.5), quantile(r.elapsed, 0.95),
                 r.elapsed.empty() ? 0.0 : r.elapsed.back(),
                 tsan ? fmt::format("  {:>6}/{}", r.tsan_reports, runs) : "");
    }
  } else {
    fmt::print("hazardlab tour · {} schedule · {} cores\n\n", schedule, ::sysconf(_SC_NPROCESSORS_ONLN));
    fmt::print("{:<12} {:<8} {:<28} {:<26} {:>10}  {}\n", "lab", "form", "variant", "outcome", "elapsed", "measured");
    fmt::print("{}\n", std::string(130, '-'));
    for (const auto& r : rows)
      fmt::print("{:<12} {:<8} {:<28} {:<26} {:>7.1f} ms  {}\n", r.lab, r.form, r.variant, r.outcome, r.elapsed_ms,
                 r.measured);
  }
  if (failures > 0) {
    fmt::print(stderr, "\n{} run(s) failed: a lab gave no report or a reference fix was not correct\n", failures);
    return 1;
  }
  return 0;
}
