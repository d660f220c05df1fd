// hazardlab-tour — what `make run` shows: every lab, every variant, in every form it applies to,
// one row each: the outcome and the damage measured.
//
// It runs each lab binary as a student would (--json, natural schedule unless told otherwise),
// so a lab that misbehaves shows up here exactly as it would on the command line.
#include "hazardlab/subprocess.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

namespace {

using nlohmann::json;

struct Row {
  std::string lab, form, variant, outcome, measured;
  double elapsed_ms = 0;
};

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
  app.add_option("--schedule", schedule, "schedule for every run")->check(CLI::IsMember({"natural", "forced"}));
  app.add_option("--timeout", timeout_ms, "watchdog deadline of each run, in ms")->check(CLI::Range(1, 600'000));
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
  for (const auto& lab : split(HAZARDLAB_LABS)) {
    const std::string binary = (bin_dir / lab).string();
    const auto listed = hazardlab::run_command({binary, "--list", "--json"}, limit);
    const json variants = json::parse(listed.out, nullptr, false);
    if (listed.exit_status != 0 || !variants.is_array()) {
      fmt::print(stderr, "{}: --list failed: {}\n", lab, first_line(listed.err));
      ++failures;
      continue;
    }
    for (const auto& variant : variants) {
      for (const auto& form : variant["forms"]) {
        const std::string name = variant["variant"];
        // A variant that needs an option to run at all (fixed-waiter: --scenario philosophers) says so.
        std::vector<std::string> command{
            binary,  "--form", form, "--variant", name, "--schedule", schedule, "--timeout", std::to_string(timeout_ms),
            "--json"};
        for (const auto& needed : variant["needs"])
          command.push_back(needed);
        const auto done = hazardlab::run_command(command, limit);
        const json report = json::parse(done.out, nullptr, false);
        Row row{lab, form, name, "error", "", 0};
        if (!variant["needs"].empty()) row.variant += " (" + variant["needs"].back().get<std::string>() + ")";
        if (report.is_object()) {
          row.outcome = report["outcome"];
          row.measured = report["summary"];
          row.elapsed_ms = report["elapsed_ms"];
        } else {
          row.measured = fmt::format("no report (exit {}): {}", done.exit_status, first_line(done.err));
        }
        // The reference fixes must be correct on every run; anything else here is a real failure,
        // except a fix still making progress at the deadline (stuck:too-slow): that says the
        // machine is busy or the deadline short, not that the fix is wrong.
        if (row.outcome == "error" ||
            (name.starts_with("fixed") && row.outcome != "correct" && row.outcome != "stuck:too-slow"))
          ++failures;
        rows.push_back(row);
      }
    }
  }

  fmt::print("hazardlab tour · {} schedule · {} cores\n\n", schedule, ::sysconf(_SC_NPROCESSORS_ONLN));
  fmt::print("{:<12} {:<8} {:<28} {:<26} {:>10}  {}\n", "lab", "form", "variant", "outcome", "elapsed", "measured");
  fmt::print("{}\n", std::string(130, '-'));
  for (const auto& r : rows)
    fmt::print("{:<12} {:<8} {:<28} {:<26} {:>7.1f} ms  {}\n", r.lab, r.form, r.variant, r.outcome, r.elapsed_ms,
               r.measured);
  if (failures > 0) {
    fmt::print(stderr, "\n{} run(s) failed: a lab gave no report or a reference fix was not correct\n", failures);
    return 1;
  }
  return 0;
}
