// Lab 01 command-line tests: bad input gets exit 2 and one clear line naming the option; each
// outcome has its exit status; --json prints exactly one object; nothing is left behind.
#include "command_line.hpp"
#include "lab_run.hpp"
#include "leftovers.hpp"

#include "hazardlab/outcome.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace cli_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::testing::bin_path;
using hazardlab::testing::chart_row;
using hazardlab::testing::run;

std::vector<std::string> race_args(std::vector<std::string> args) {
  args.insert(args.begin(), bin_path("race"));
  return args;
}

// (arguments, text the one error line must contain)
using BadInput = std::tuple<std::vector<std::string>, std::string>;

class RaceBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(RaceBadInput, ExitsTwoWithOneLineNamingTheOption) {
  const auto& [args, expected] = GetParam();
  hazardlab::testing::expect_usage_error("race", args, expected);
}

INSTANTIATE_TEST_SUITE_P(
    Race, RaceBadInput,
    ::testing::Values(BadInput{{"--workers", "0"}, "--workers: Value 0 not in range 1 to 64"},
                      BadInput{{"--workers", "-3"}, "--workers: Value -3 not in range 1 to 64"},
                      BadInput{{"--workers", "65"}, "--workers: Value 65 not in range 1 to 64"},
                      BadInput{{"--workers", "four"}, "--workers"},
                      BadInput{{"--form", "fiber"}, "--form: fiber not in {thread,process}"},
                      BadInput{{"--variant", "nope"}, "--variant: nope not in {broken,"},
                      BadInput{{"--form", "thread", "--variant", "broken-private-mutex"},
                               "--variant broken-private-mutex applies only to --form process"},
                      BadInput{{"--schedule", "sometimes"},
                               "--schedule: must be natural, forced, explore or replay:CHOICES, not 'sometimes'"},
                      BadInput{{"--iterations", "0"}, "--iterations: Value 0 not in range 1 to 1000000000"},
                      BadInput{{"--iterations", "many"}, "--iterations"},
                      BadInput{{"--trials", "0"}, "--trials: Value 0 not in range 1 to 100000"},
                      BadInput{{"--timeout", "-5"}, "--timeout: Value -5 not in range 1 to 3600000"},
                      BadInput{{"--seed", "-1"}, "--seed: Value -1 not in range 0 to"},
                      BadInput{{"--log-level", "loud"}, "--log-level"}, BadInput{{"--bogus"}, "--bogus"}));

// The checks every lab makes in the same words (tests/support/command_line.hpp), and one of its own numbers.
INSTANTIATE_TEST_SUITE_P(Common, RaceBadInput, ::testing::ValuesIn(hazardlab::testing::common_bad_input("race")));
INSTANTIATE_TEST_SUITE_P(Numbers, RaceBadInput,
                         ::testing::ValuesIn(hazardlab::testing::bad_numbers("race", "--iterations")));

TEST(RaceCli, AnUnwritableTraceCreatesNothing) {
  hazardlab::testing::expect_unwritable_file_creates_nothing("race", "--trace");
}

TEST(RaceCli, HelpWinsOverABadOption) {
  hazardlab::testing::expect_help_wins("race", {{"--iterations", "abc"}, {"--workers", "abc"}});
}

TEST(RaceCli, HelpExitsZero) {
  const auto done = run(race_args({"--help"}));
  EXPECT_EQ(done.exit_status, 0);
  EXPECT_NE(done.out.find("--form"), std::string::npos);
  EXPECT_NE(done.out.find("--iterations"), std::string::npos);
}

TEST(RaceCli, ListNamesEveryVariantAndItsForms) {
  const auto done = run(race_args({"--list", "--json"}));
  ASSERT_EQ(done.exit_status, 0) << done.err;
  const auto list = nlohmann::json::parse(done.out);
  std::map<std::string, std::vector<std::string>> forms;
  for (const auto& v : list)
    forms[v["variant"]] = v["forms"].get<std::vector<std::string>>();
  EXPECT_EQ(forms["broken"], (std::vector<std::string>{"thread", "process"}));
  EXPECT_EQ(forms["broken-private-mutex"], (std::vector<std::string>{"process"}));
  EXPECT_EQ(forms["exercise"], (std::vector<std::string>{"thread", "process"}));
#ifdef HAZARDLAB_WITH_SOLUTIONS
  EXPECT_EQ(forms["fixed-mutex"], (std::vector<std::string>{"thread", "process"}));
  EXPECT_EQ(forms["fixed-atomic"], (std::vector<std::string>{"thread", "process"}));
#else
  EXPECT_EQ(forms.count("fixed-mutex"), 0u);
#endif
}

class RaceCliForm : public ::testing::TestWithParam<std::string> {};

TEST_P(RaceCliForm, JsonIsOneObjectWithTheDocumentedFields) {
  const auto lab = hazardlab::testing::run_lab_json(
      "race", {"--form", GetParam(), "--schedule", "forced", "--iterations", "500", "--trials", "3"});
  ASSERT_EQ(lab.process.exit_status, hazardlab::kExitHazard) << lab.process.err;
  ASSERT_TRUE(lab.report.is_object()) << lab.process.out;
  for (const char* key : {"lab", "form", "variant", "schedule", "workers", "outcome", "metrics", "elapsed_ms",
                          "histogram", "distribution", "summary"})
    EXPECT_TRUE(lab.report.contains(key)) << key;
  EXPECT_EQ(lab.report["lab"], "race");
  EXPECT_EQ(lab.report["form"], GetParam());
  EXPECT_EQ(lab.report["schedule"], "forced");
  EXPECT_EQ(lab.report["histogram"]["hazard:lost-updates"], 3);
  EXPECT_TRUE(lab.report["distribution"].contains("lost"));
  EXPECT_EQ(lab.report["trial"], 1); // the reported run: every trial lost updates, so the first
}

TEST_P(RaceCliForm, TheReportSaysWhichTrialItIsOf) {
  const auto single = hazardlab::testing::run_lab_json("race", {"--form", GetParam(), "--iterations", "500"});
  EXPECT_EQ(single.report["trial"], 1) << single.process.out;
  const auto done =
      run(race_args({"--form", GetParam(), "--schedule", "forced", "--iterations", "500", "--trials", "3"}));
  EXPECT_EQ(done.exit_status, hazardlab::kExitHazard) << done.err;
  EXPECT_NE(done.out.find("outcome   hazard:lost-updates\n          first seen in trial 1 of 3;"), std::string::npos)
      << done.out;
}

TEST_P(RaceCliForm, StuckRunExitsFourWithinTheDeadlineAndLeavesNothing) {
  // A billion increments per worker cannot finish in 200 ms: the watchdog must end the run,
  // kill (process form) or abandon (thread form) the workers, report stuck and exit 4. The
  // workers were still counting at the deadline, so the run is "too slow", not frozen.
  const hazardlab::testing::AdoptOrphans adopt; // a worker left behind would become our child
  const auto shm_before = hazardlab::testing::shm_objects();
  const auto lab = hazardlab::testing::run_lab_json(
      "race", {"--form", GetParam(), "--variant", "broken", "--iterations", "1000000000", "--timeout", "200"});
  EXPECT_EQ(lab.process.exit_status, hazardlab::kExitStuck) << lab.process.err;
  EXPECT_LT(lab.process.wall_ms, 200 + 5'000);
  EXPECT_EQ(lab.report["outcome"], "stuck:too-slow");
  EXPECT_EQ(lab.report["metrics"]["workers"].size(), 4u);
  // The process form's children are reaped, so the counter can be read; the thread form's
  // abandoned threads may still be counting, so nothing is read.
  EXPECT_EQ(lab.report["metrics"].contains("observed"), GetParam() == "process") << lab.process.out;
  EXPECT_TRUE(hazardlab::testing::children_of(::getpid()).empty());
  EXPECT_EQ(hazardlab::testing::shm_objects(), shm_before);
}

TEST_P(RaceCliForm, ExitStatusSaysWhatHappened) {
  EXPECT_EQ(run(race_args({"--form", GetParam(), "--schedule", "forced", "--iterations", "500"})).exit_status,
            hazardlab::kExitHazard);
#ifdef HAZARDLAB_WITH_SOLUTIONS
  EXPECT_EQ(run(race_args({"--form", GetParam(), "--variant", "fixed-mutex", "--iterations", "500"})).exit_status,
            hazardlab::kExitCorrect);
#endif
}

INSTANTIATE_TEST_SUITE_P(Race, RaceCliForm, ::testing::Values("thread", "process"),
                         [](const auto& info) { return info.param == "thread" ? "ThreadForm" : "ProcessForm"; });

// --timeline under the forced schedule: every worker reads the counter, then waits in its window
// between read and write while others run; the chart and the trace show that window. 2,000
// increments are 4,000 marks a worker: the trace is exact (nothing merged).
TEST_P(RaceCliForm, TheTimelineShowsEachWorkersWindowBetweenReadAndWrite) {
  const std::string form = GetParam();
  const std::string trace = ::testing::TempDir() + "hazardlab-race-trace-" + form + ".json";
  std::filesystem::remove(trace);
  const auto done =
      run(race_args({"--form", form, "--schedule", "forced", "--iterations", "2000", "--timeline", "--trace", trace}));
  EXPECT_EQ(done.exit_status, hazardlab::kExitHazard) << done.err;
  EXPECT_NE(done.out.find("▚ between read and write"), std::string::npos) << done.out;
  // Three of the four read, then wait in their window through at least one other's whole run.
  int rows_with_window = 0;
  for (int w = 0; w < 4; ++w) {
    const std::string row = chart_row(done.out, form + " " + std::to_string(w));
    EXPECT_FALSE(row.empty()) << done.out;
    if (row.find("▚▚") != std::string::npos) ++rows_with_window;
  }
  EXPECT_GE(rows_with_window, 3) << done.out;
  EXPECT_EQ(done.out.find("not recorded"), std::string::npos) << done.out; // everything recorded
  EXPECT_EQ(done.out.find("merged"), std::string::npos) << done.out;       // and exact

  // The trace: each worker's first window, from just after its read to its write. The forced
  // schedule has every worker read before any writes: all four windows are open at once.
  std::ifstream in(trace);
  const auto json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  std::filesystem::remove(trace);
  ASSERT_TRUE(json.is_object()) << "the trace is not JSON";
  std::map<int, std::pair<double, double>> first_window; // by tid: [ts, ts + dur)
  std::set<std::string> tracks;
  for (const auto& event : json.at("traceEvents")) {
    if (event.at("ph") == "M" && event.at("name") == "thread_name") tracks.insert(event.at("args").at("name"));
    if (event.at("ph") != "X" || event.at("name") != "window between read and write") continue;
    const int tid = event.at("tid");
    const double ts = event.at("ts");
    if (!first_window.contains(tid)) first_window[tid] = {ts, ts + event.at("dur").get<double>()};
  }
  EXPECT_EQ(tracks, (std::set<std::string>{form + " 0", form + " 1", form + " 2", form + " 3"}));
  ASSERT_EQ(first_window.size(), 4u);
  double last_read = 0;
  for (const auto& [tid, window] : first_window)
    last_read = std::max(last_read, window.first);
  for (const auto& [tid, window] : first_window) {
    EXPECT_LE(window.first, last_read) << tid;
    EXPECT_GE(window.second, last_read) << tid << ": wrote before every worker had read";
  }
}

} // namespace cli_test
