// Lab 05 command-line tests: the lab's own options and their ranges, the workers it counts for
// itself (producers plus consumers, no --workers), and the variants it lists.
#include "command_line.hpp"
#include "lab_run.hpp"
#include "leftovers.hpp"

#include "hazardlab/outcome.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace cli_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::testing::chart_row;

// The trace's track names and its complete events' names, by track.
std::map<std::string, std::vector<std::string>> trace_events(const std::string& path) {
  std::ifstream in(path);
  const auto json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  std::map<int, std::string> track_names;
  std::map<std::string, std::vector<std::string>> events;
  if (!json.is_object()) return events;
  for (const auto& event : json.at("traceEvents"))
    if (event.at("ph") == "M" && event.at("name") == "thread_name")
      track_names[event.at("tid").get<int>()] = event.at("args").at("name").get<std::string>();
  for (const auto& event : json.at("traceEvents"))
    if (event.at("ph") == "X") events[track_names[event.at("tid").get<int>()]].push_back(event.at("name"));
  return events;
}

bool any_starts_with(const std::vector<std::string>& names, const std::string& prefix) {
  return std::ranges::any_of(names, [&](const std::string& n) { return n.starts_with(prefix); });
}

// (arguments, text the one error line must contain)
using BadInput = std::tuple<std::vector<std::string>, std::string>;

class ProdconsBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(ProdconsBadInput, ExitsTwoWithOneLineNamingTheOption) {
  const auto& [args, expected] = GetParam();
  hazardlab::testing::expect_usage_error("prodcons", args, expected);
}

INSTANTIATE_TEST_SUITE_P(
    Prodcons, ProdconsBadInput,
    ::testing::Values(
        BadInput{{"--producers", "0"}, "prodcons: error: --producers: Value 0 not in range 1 to 63"},
        BadInput{{"--producers", "64"}, "prodcons: error: --producers: Value 64 not in range 1 to 63"},
        BadInput{{"--consumers", "64"}, "prodcons: error: --consumers: Value 64 not in range 1 to 63"},
        BadInput{{"--capacity", "0"}, "prodcons: error: --capacity: Value 0 not in range 1 to 4096"},
        BadInput{{"--capacity", "4097"}, "prodcons: error: --capacity: Value 4097 not in range 1 to 4096"},
        BadInput{{"--items", "0"}, "prodcons: error: --items: Value 0 not in range 1 to 10000000"},
        BadInput{{"--items", "10000001"}, "prodcons: error: --items: Value 10000001 not in range 1 to 10000000"},
        BadInput{{"--producers", "40", "--consumers", "30"},
                 "prodcons: error: --producers plus --consumers must be at most 64, not 70"},
        BadInput{{"--producers", "32", "--consumers", "33"},
                 "prodcons: error: --producers plus --consumers must be at most 64, not 65"},
        // The lab counts its workers by role: --workers is refused with the reason.
        BadInput{{"--workers", "4"},
                 "prodcons: error: --workers: this lab counts its workers by role instead (see --help)"},
        // broken is lab 02's variant; this lab names what each one breaks.
        BadInput{{"--variant", "broken"},
                 "prodcons: error: --variant: broken not in "
                 "{broken-no-mutex,broken-mutex-first,broken-no-empty-count,"
                 "broken-no-shutdown,"}));

// The checks every lab makes in the same words (tests/support/command_line.hpp), and one of its own numbers.
INSTANTIATE_TEST_SUITE_P(Common, ProdconsBadInput,
                         ::testing::ValuesIn(hazardlab::testing::common_bad_input("prodcons")));
INSTANTIATE_TEST_SUITE_P(Numbers, ProdconsBadInput,
                         ::testing::ValuesIn(hazardlab::testing::bad_numbers("prodcons", "--items")));

TEST(ProdconsCli, AnUnwritableTraceCreatesNothing) {
  hazardlab::testing::expect_unwritable_file_creates_nothing("prodcons", "--trace");
}

TEST(ProdconsCli, HelpWinsOverABadOption) {
  hazardlab::testing::expect_help_wins("prodcons", {{"--items", "abc"}, {"--workers", "4"}});
}

TEST(ProdconsCli, ListNamesEveryVariantInBothForms) {
  const auto done = hazardlab::testing::run({hazardlab::testing::bin_path("prodcons"), "--list", "--json"});
  ASSERT_EQ(done.exit_status, 0) << done.err;
  std::map<std::string, std::vector<std::string>> forms;
  for (const auto& v : nlohmann::json::parse(done.out))
    forms[v["variant"]] = v["forms"].get<std::vector<std::string>>();
  std::vector<std::string> expected{"broken-no-mutex", "broken-mutex-first", "broken-no-empty-count",
                                    "broken-no-shutdown", "exercise"};
#ifdef HAZARDLAB_WITH_SOLUTIONS
  expected.insert(expected.end(), {"fixed", "fixed-condvar"});
#endif
  EXPECT_EQ(forms.size(), expected.size()) << done.out;
  for (const auto& variant : expected)
    EXPECT_EQ(forms[variant], (std::vector<std::string>{"thread", "process"})) << variant;
}

TEST(ProdconsCli, WorkersAreTheProducersPlusTheConsumers) {
  // A stuck run names every worker: the three producers finished, the five consumers did not.
  const hazardlab::testing::AdoptOrphans adopt;
  const auto run = hazardlab::testing::run_lab_json("prodcons", {"--variant", "broken-no-shutdown", "--producers", "3",
                                                                 "--consumers", "5", "--capacity", "4", "--items",
                                                                 "100", "--timeout", "500"});
  EXPECT_EQ(run.process.exit_status, hazardlab::kExitStuck) << run.process.err;
  ASSERT_TRUE(run.report.is_object()) << run.process.out;
  EXPECT_EQ(run.report.at("workers"), 8);
  EXPECT_EQ(run.report.at("outcome"), "stuck:at-shutdown");
  const auto& workers = run.report.at("metrics").at("workers");
  ASSERT_EQ(workers.size(), 8u);
  for (int w = 0; w < 8; ++w)
    EXPECT_EQ(workers[w].at("finished"), w < 3) << "worker " << w;
  EXPECT_TRUE(hazardlab::testing::children_of(::getpid()).empty());
}

TEST(ProdconsCli, CorrectRunSaysEveryItemWasConsumedOnce) {
#ifndef HAZARDLAB_WITH_SOLUTIONS
  GTEST_SKIP() << "needs solutions/05-producer-consumer";
#endif
  const auto run = hazardlab::testing::run_lab_json(
      "prodcons", {"--variant", "fixed", "--producers", "1", "--consumers", "6", "--capacity", "3", "--items", "1001"});
  EXPECT_EQ(run.process.exit_status, hazardlab::kExitCorrect) << run.process.err;
  ASSERT_TRUE(run.report.is_object()) << run.process.out;
  EXPECT_EQ(run.report.at("workers"), 7);
  EXPECT_EQ(run.report.at("metrics").at("exactly_once"), 1001);
  EXPECT_TRUE(run.report.at("summary").get<std::string>().starts_with(
      "1,001 items, each consumed exactly once; the ring held at most "))
      << run.report.at("summary");
  EXPECT_TRUE(run.report.at("metrics").contains("items_per_s"));
}

// --timeline and --trace name the rows by role, both forms, under the forced schedule.
class ProdconsTimeline : public ::testing::TestWithParam<std::string> {};

TEST_P(ProdconsTimeline, RowsAreNamedProducerAndConsumer) {
  const std::string form = GetParam();
  const std::string trace = ::testing::TempDir() + "hazardlab-prodcons-trace-" + form + ".json";
  std::filesystem::remove(trace);
  const auto done =
      hazardlab::testing::run({hazardlab::testing::bin_path("prodcons"), "--form", form, "--variant", "broken-no-mutex",
                               "--schedule", "forced", "--items", "200", "--timeline", "--trace", trace});
  EXPECT_EQ(done.exit_status, hazardlab::kExitHazard) << done.err;
  for (const char* row : {"producer 0", "producer 1", "consumer 0", "consumer 1"})
    EXPECT_FALSE(chart_row(done.out, row).empty()) << row << "\n" << done.out;
  EXPECT_EQ(done.out.find("\n" + form + " 0 |"), std::string::npos) << done.out;
  const auto events = trace_events(trace);
  std::filesystem::remove(trace);
  std::vector<std::string> tracks;
  for (const auto& [name, names] : events)
    tracks.push_back(name);
  EXPECT_EQ(tracks, (std::vector<std::string>{"consumer 0", "consumer 1", "producer 0", "producer 1"}));
  // The producers wait for empty slots, the consumers for full ones: traced semaphores.
  ASSERT_TRUE(events.contains("consumer 0"));
  EXPECT_TRUE(any_starts_with(events.at("consumer 0"), "waiting "));
}

INSTANTIATE_TEST_SUITE_P(Prodcons, ProdconsTimeline, ::testing::Values("thread", "process"),
                         [](const auto& info) { return info.param == "thread" ? "ThreadForm" : "ProcessForm"; });

} // namespace cli_test
