// hazardlab-tour — what `make run` shows: every lab, every variant, in every form it applies to,
// one row each.
//
// Each row is run twice over, as a student would run the lab binary (--json):
//  - once under the forced schedule: a scheduler in the kit decides who runs, so a broken variant
//    shows its hazard on every run, on one core or many, idle or loaded. The row's outcome and
//    its damage come from this run, and the tour fails (exit 1) when a broken variant comes out
//    correct or a reference fix does not;
//  - then --natural-trials times under the natural schedule (the OS decides): how many of those
//    trials came out the same. That column is information, never a pass or a fail: on an idle
//    machine with 2 cores most hazards hide from most natural runs.
//
// With --runs N it is the kit's benchmark of schedules instead: every row is run N times under
// --schedule, each run a process of its own, and the row shows how often each outcome came and
// the elapsed time's median, 95th percentile and maximum. Built with ThreadSanitizer, it also
// counts the runs on which TSan reported anything. The times depend on the machine and its load;
// the counts must not, under --schedule forced.
#include "hazardlab/subprocess.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using nlohmann::json;

struct Row {
  std::string lab, form, variant, label; // label: the variant, with the option it needs, if any
  std::vector<std::string> command;      // the lab's command line for this row, without --schedule
  std::string outcome = "error", measured;
  double elapsed_ms = 0;
  int natural_same = 0, natural_trials = 0;    // how many natural trials had `outcome`
  std::map<std::string, int> natural_outcomes; // every natural trial's outcome
  std::map<std::string, int> outcomes;         // --runs: how often each came
  std::vector<double> elapsed;                 // --runs: each run's elapsed_ms
  int tsan_reports = 0;                        // --runs: runs with a ThreadSanitizer report on stderr

  bool broken() const { return variant.starts_with("broken"); }
  bool fixed() const { return variant.starts_with("fixed"); }
  bool exercise() const { return variant == "exercise"; }
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

// Runs a lab and reads its one JSON object; a lab that cannot be started, or prints no report,
// is an "error" with the reason in `why`.
json run_lab(const std::vector<std::string>& command, std::chrono::milliseconds limit, std::string& why,
             bool* tsan_reported = nullptr) {
  hazardlab::Completed done;
  try {
    done = hazardlab::run_command(command, limit);
  } catch (const std::exception& e) {
    why = e.what();
    return nullptr;
  }
  if (tsan_reported != nullptr) *tsan_reported = done.err.find("WARNING: ThreadSanitizer") != std::string::npos;
  json report = json::parse(done.out, nullptr, false);
  if (!report.is_object() || !report.contains("outcome")) {
    why = fmt::format("no report (exit {}): {}", done.exit_status, first_line(done.err));
    return nullptr;
  }
  return report;
}

std::vector<std::string> with(std::vector<std::string> command, std::initializer_list<std::string> more) {
  command.insert(command.end(), more.begin(), more.end());
  return command;
}

// Every row of every lab: each variant in each form it applies to (lab --list --json).
std::vector<Row> rows_of(const std::vector<std::string>& labs, const std::filesystem::path& bin_dir,
                         const std::string& only, int timeout_ms, std::chrono::milliseconds limit, int& failures) {
  std::vector<Row> rows;
  for (const auto& lab : labs) {
    const std::string binary = (bin_dir / lab).string();
    std::string why = "--list printed no JSON";
    json variants;
    try {
      const auto listed = hazardlab::run_command({binary, "--list", "--json"}, limit);
      variants = json::parse(listed.out, nullptr, false);
      if (listed.exit_status != 0) why = first_line(listed.err);
    } catch (const std::exception& e) {
      why = e.what();
    }
    if (!variants.is_array()) {
      fmt::print(stderr, "{}: --list failed: {}\n", lab, why);
      ++failures;
      continue;
    }
    for (const auto& variant : variants) {
      const std::string name = variant["variant"];
      if (!name.starts_with(only)) continue;
      for (const auto& form : variant["forms"]) {
        Row row;
        row.lab = lab;
        row.form = form;
        row.variant = row.label = name;
        row.command = {binary, "--form", form, "--variant", name, "--timeout", std::to_string(timeout_ms), "--json"};
        // A variant that needs an option to run at all (fixed-waiter: --scenario philosophers) says so.
        for (const auto& needed : variant["needs"])
          row.command.push_back(needed);
        if (!variant["needs"].empty()) row.label += " (" + variant["needs"].back().get<std::string>() + ")";
        rows.push_back(std::move(row));
      }
    }
  }
  return rows;
}

// The forced run decides the row: a broken variant that comes out correct, or a reference fix
// that does not, is a failure of the kit. (An exercise may be either: it is the student's.)
bool forced_run(Row& row, std::chrono::milliseconds limit) {
  std::string why;
  const json report = run_lab(with(row.command, {"--schedule", "forced"}), limit, why);
  if (report.is_null()) {
    row.measured = why;
    return false;
  }
  row.outcome = report["outcome"];
  row.measured = report["summary"];
  row.elapsed_ms = report["elapsed_ms"];
  if (row.broken()) return row.outcome != "correct";
  if (row.fixed()) return row.outcome == "correct";
  return true;
}

// `trials` natural trials. A lab runs them in one process, except that a stuck thread-form trial
// leaves threads behind that cannot be reclaimed and ends its process's trials; the rest then
// run in a new process.
void natural_trials(Row& row, int trials, std::chrono::milliseconds limit) {
  while (row.natural_trials < trials) {
    std::string why;
    const int left = trials - row.natural_trials;
    const json report =
        run_lab(with(row.command, {"--schedule", "natural", "--trials", std::to_string(left)}), limit * left, why);
    if (report.is_null()) {
      ++row.natural_outcomes["error"];
      ++row.natural_trials;
      continue;
    }
    // One trial has no histogram: its outcome is the whole of it.
    const json histogram = report.contains("histogram") ? report["histogram"] : json{{report["outcome"], 1}};
    for (const auto& [outcome, count] : histogram.items()) {
      row.natural_outcomes[outcome] += count.get<int>();
      row.natural_trials += count.get<int>();
      if (outcome == row.outcome) row.natural_same += count.get<int>();
    }
  }
}

std::size_t widest(const std::vector<Row>& rows, std::size_t least, auto field) {
  std::size_t width = least;
  for (const auto& row : rows)
    width = std::max(width, field(row).size());
  return width;
}

void print_benchmark(std::vector<Row>& rows, const std::string& schedule, int runs) {
#if defined(__SANITIZE_THREAD__)
  constexpr bool tsan = true;
#else
  constexpr bool tsan = false;
#endif
  fmt::print("hazardlab tour · {} schedule · {} runs of each row · {} cores\n\n", schedule, runs,
             ::sysconf(_SC_NPROCESSORS_ONLN));
  std::vector<std::string> counts;
  for (auto& row : rows) {
    std::vector<std::string> each;
    for (const auto& [outcome, count] : row.outcomes)
      each.push_back(fmt::format("{} {}/{}", outcome, count, runs));
    counts.push_back(fmt::format("{}", fmt::join(each, ", ")));
    std::ranges::sort(row.elapsed);
  }
  const auto variant_width = widest(rows, 7, [](const Row& r) -> const std::string& { return r.label; });
  std::size_t counts_width = 8;
  for (const auto& text : counts)
    counts_width = std::max(counts_width, text.size());
  const std::string header =
      fmt::format("{:<11} {:<8} {:<{}} {:<{}} {:>9} {:>9} {:>9}{}", "lab", "form", "variant", variant_width, "outcomes",
                  counts_width, "p50 ms", "p95 ms", "max ms", tsan ? "  TSan reported" : "");
  fmt::print("{}\n{}\n", header, std::string(header.size(), '-'));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    fmt::print("{:<11} {:<8} {:<{}} {:<{}} {:>9.1f} {:>9.1f} {:>9.1f}{}\n", r.lab, r.form, r.label, variant_width,
               counts[i], counts_width, quantile(r.elapsed, 0.5), quantile(r.elapsed, 0.95),
               r.elapsed.empty() ? 0.0 : r.elapsed.back(), tsan ? fmt::format("  {:>6}/{}", r.tsan_reports, runs) : "");
  }
}

std::string natural_column(const Row& row) {
  if (row.natural_trials == 0) return "-";
  return fmt::format("{} of {}", row.natural_same, row.natural_trials);
}

void print_tour(const std::vector<Row>& rows, int trials, double seconds) {
  fmt::print("hazardlab tour · every lab, every variant, every form · {} cores\n\n", ::sysconf(_SC_NPROCESSORS_ONLN));
  fmt::print("  forced   a scheduler in the kit decides who runs: each broken variant shows its hazard on every\n"
             "           run, on any machine, idle or busy. The outcome and the damage measured are this run's.\n");
  if (trials > 0)
    fmt::print("  natural  the OS decides: how many of {} natural trials came out the same as the forced run.\n"
               "           A hazard that hid in every natural trial is still there: it waits for the wrong moment.\n",
               trials);
  fmt::print("  one row  make run LAB=race ARGS='--form thread --variant broken --schedule forced'\n"
             "           (add --timeline to watch it, --schedule natural to let the OS decide)\n\n");
  const auto variant_width = widest(rows, 7, [](const Row& r) -> const std::string& { return r.label; });
  const auto outcome_width = widest(rows, 7, [](const Row& r) -> const std::string& { return r.outcome; });
  const std::string header =
      fmt::format("{:<11} {:<8} {:<{}} {:<{}} {:>10}  {:<9} {}", "lab", "form", "variant", variant_width, "forced",
                  outcome_width, "elapsed", trials > 0 ? "natural" : "", "measured (forced run)");
  fmt::print("{}\n{}\n", header, std::string(header.size() + 20, '-'));
  for (const auto& r : rows)
    fmt::print("{:<11} {:<8} {:<{}} {:<{}} {:>7.1f} ms  {:<9} {}\n", r.lab, r.form, r.label, variant_width, r.outcome,
               outcome_width, r.elapsed_ms, trials > 0 ? natural_column(r) : "", r.measured);
  fmt::print("\n{} rows in {:.1f} s\n", rows.size(), seconds);
}

json rows_json(const std::vector<Row>& rows, int trials, double seconds) {
  json out = {{"natural_trials", trials}, {"seconds", seconds}, {"rows", json::array()}};
  for (const auto& r : rows)
    out["rows"].push_back(
        {{"lab", r.lab},
         {"form", r.form},
         {"variant", r.variant},
         {"forced", {{"outcome", r.outcome}, {"summary", r.measured}, {"elapsed_ms", r.elapsed_ms}}},
         {"natural", {{"trials", r.natural_trials}, {"same", r.natural_same}, {"outcomes", r.natural_outcomes}}}});
  return out;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Runs every variant of every lab in every form it applies to, forced and natural, and prints one table",
               "hazardlab-tour"};
  int natural = 5;
  // Short, because a natural run (and the one hang the scheduler cannot see: a std::mutex in shared
  // memory) may wait for it; a forced run still under control and progressing is never cut by it.
  int timeout_ms = 2'000;
  int runs = 1;
  std::string schedule = "forced";
  std::string only;
  std::string labs = HAZARDLAB_LABS;
  bool as_json = false;
  app.add_option("--natural-trials", natural,
                 "natural trials of each row, beside its forced run (0: none); how many came out the same is shown")
      ->check(CLI::Range(0, 1'000));
  app.add_option("--timeout", timeout_ms, "watchdog deadline of each run, in ms")->check(CLI::Range(1, 600'000));
  app.add_option("--runs", runs,
                 "benchmark: run every row this many times under --schedule; outcome counts and elapsed p50/p95/max")
      ->check(CLI::Range(1, 10'000));
  app.add_option("--schedule", schedule, "--runs: the schedule of every run")
      ->check(CLI::IsMember({"natural", "forced"}));
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
  app.add_flag("--json", as_json, "print one JSON object: every row's forced outcome and natural counts");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    fmt::print(stderr, "hazardlab-tour: error: {}\n", e.what());
    return 2;
  }
  // Options of one mode given to the other would be silently ignored: say so instead.
  const auto refuse = [](std::string_view option, std::string_view why) {
    fmt::print(stderr, "hazardlab-tour: error: {} {}\n", option, why);
    return 2;
  };
  if (runs == 1 && app.count("--schedule") > 0)
    return refuse("--schedule", "applies to --runs only (the tour runs every row forced, natural trials beside)");
  if (runs > 1 && app.count("--natural-trials") > 0)
    return refuse("--natural-trials", "does not apply to --runs (each run is under --schedule)");
  if (runs > 1 && as_json) return refuse("--json", "does not apply to --runs (its table is for reading)");

  const auto started = std::chrono::steady_clock::now();
  // The labs sit next to this binary.
  const auto bin_dir = std::filesystem::canonical("/proc/self/exe").parent_path();
  // The watchdog of the watchdog: a lab that outlives its own deadline by this much is killed.
  const auto limit = std::chrono::milliseconds(timeout_ms) * 4 + std::chrono::seconds(30);
  int failures = 0;
  std::vector<Row> rows = rows_of(split(labs), bin_dir, only, timeout_ms, limit, failures);
  std::vector<std::string> failed;

  if (runs > 1) {
    for (auto& row : rows)
      for (int run = 0; run < runs; ++run) {
        std::string why;
        bool tsan_reported = false;
        const json report = run_lab(with(row.command, {"--schedule", schedule}), limit, why, &tsan_reported);
        const std::string outcome = report.is_null() ? "error" : report["outcome"].get<std::string>();
        if (!report.is_null()) row.elapsed.push_back(report["elapsed_ms"]);
        ++row.outcomes[outcome];
        row.tsan_reports += tsan_reported;
        // A reference fix must be correct on every run, except one still making progress at the
        // deadline under the natural schedule (stuck:too-slow): the machine was busy.
        if (outcome == "error" ||
            (row.fixed() && outcome != "correct" && !(schedule == "natural" && outcome == "stuck:too-slow")))
          ++failures;
      }
    print_benchmark(rows, schedule, runs);
  } else {
    // The forced runs, several at once: each is exact whatever else the machine runs.
    std::vector<char> forced_ok(rows.size());
    {
      std::atomic<std::size_t> next{0};
      std::vector<std::jthread> pool;
      for (long i = 0; i < std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)); ++i)
        pool.emplace_back([&] {
          for (std::size_t at = next++; at < rows.size(); at = next++)
            forced_ok[at] = forced_run(rows[at], limit);
        });
    }
    // The natural trials one row at a time: what the OS does with one lab alone on the machine.
    for (std::size_t at = 0; at < rows.size(); ++at) {
      const Row& row = rows[at];
      if (!forced_ok[at])
        failed.push_back(fmt::format("{} --form {} --variant {}: {} under the forced schedule{}", row.lab, row.form,
                                     row.variant, row.outcome,
                                     row.outcome == "error" ? " (" + row.measured + ")" : ""));
      natural_trials(rows[at], natural, limit);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (as_json)
      fmt::print("{}\n", rows_json(rows, natural, seconds).dump(2));
    else
      print_tour(rows, natural, seconds);
  }
  failures += static_cast<int>(failed.size());
  for (const auto& line : failed)
    fmt::print(stderr, "hazardlab-tour: {}\n", line);
  if (failures > 0) {
    fmt::print(stderr,
               "\n{} row(s) failed: a lab gave no report, a broken variant came out correct or a reference "
               "fix did not, under the forced schedule\n",
               failures);
    return 1;
  }
  return 0;
}
