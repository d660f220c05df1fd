// Lab 03 command-line tests: the lab's own options and their ranges, the two workers it needs at
// least, the variants it lists, and the JSON of a correct run.
#include "command_line.hpp"
#include "lab_run.hpp"
#include "leftovers.hpp"

#include "hazardlab/outcome.hpp"

#include <gtest/gtest.h>

#include <map>
#include <tuple>

namespace cli_test { // named, not anonymous: its binary's test files are one translation unit

// (arguments, text the one error line must contain)
using BadInput = std::tuple<std::vector<std::string>, std::string>;

#ifdef HAZARDLAB_WITH_SOLUTIONS
constexpr const char* kUnknownVariant =
    "livelock: error: --variant: polite not in {broken,fixed-backoff,fixed-ordering,exercise}";
#else
constexpr const char* kUnknownVariant = "livelock: error: --variant: polite not in {broken,exercise}"; // no solutions/
#endif

class LivelockBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(LivelockBadInput, ExitsTwoWithOneLineNamingTheOption) {
  const auto& [args, expected] = GetParam();
  hazardlab::testing::expect_usage_error("livelock", args, expected);
}

INSTANTIATE_TEST_SUITE_P(
    Livelock, LivelockBadInput,
    ::testing::Values(
        // One worker has no neighbour to give way to: the range is this lab's, 2 to the kit's 64.
        BadInput{{"--workers", "1"}, "livelock: error: --workers: Value 1 not in range 2 to 64"},
        BadInput{{"--workers", "65"}, "livelock: error: --workers: Value 65 not in range 2 to 64"},
        BadInput{{"--units", "0"}, "livelock: error: --units: Value 0 not in range 1 to 10000000"},
        BadInput{{"--units", "10000001"}, "livelock: error: --units: Value 10000001 not in range 1 to 10000000"},
        BadInput{{"--pause-us", "0"}, "livelock: error: --pause-us: Value 0 not in range 1 to 100000"},
        BadInput{{"--pause-us", "100001"}, "livelock: error: --pause-us: Value 100001 not in range 1 to 100000"},
        BadInput{{"--variant", "polite"}, kUnknownVariant}));

// The checks every lab makes in the same words (tests/support/command_line.hpp), and one of its own numbers.
INSTANTIATE_TEST_SUITE_P(Common, LivelockBadInput,
                         ::testing::ValuesIn(hazardlab::testing::common_bad_input("livelock")));
INSTANTIATE_TEST_SUITE_P(Numbers, LivelockBadInput,
                         ::testing::ValuesIn(hazardlab::testing::bad_numbers("livelock", "--units")));

TEST(LivelockCli, AnUnwritableTraceCreatesNothing) {
  hazardlab::testing::expect_unwritable_file_creates_nothing("livelock", "--trace");
}

TEST(LivelockCli, HelpWinsOverABadOption) {
  hazardlab::testing::expect_help_wins("livelock", {{"--units", "abc"}, {"--workers", "1"}});
}

TEST(LivelockCli, ListNamesEveryVariantInBothForms) {
  const auto done = hazardlab::testing::run({hazardlab::testing::bin_path("livelock"), "--list", "--json"});
  ASSERT_EQ(done.exit_status, 0) << done.err;
  std::map<std::string, std::vector<std::string>> forms;
  for (const auto& v : nlohmann::json::parse(done.out))
    forms[v["variant"]] = v["forms"].get<std::vector<std::string>>();
  std::vector<std::string> expected{"broken", "exercise"};
#ifdef HAZARDLAB_WITH_SOLUTIONS
  expected.insert(expected.end(), {"fixed-backoff", "fixed-ordering"});
#endif
  EXPECT_EQ(forms.size(), expected.size()) << done.out;
  for (const auto& variant : expected)
    EXPECT_EQ(forms[variant], (std::vector<std::string>{"thread", "process"})) << variant;

  // The text list names the same variants.
  const auto text = hazardlab::testing::run({hazardlab::testing::bin_path("livelock"), "--list"});
  ASSERT_EQ(text.exit_status, 0) << text.err;
  for (const auto& variant : expected)
    EXPECT_NE(text.out.find("  " + variant + " "), std::string::npos) << variant << "\n" << text.out;
}

TEST(LivelockCli, CorrectRunJsonHasTheMetrics) {
#ifndef HAZARDLAB_WITH_SOLUTIONS
  GTEST_SKIP() << "needs solutions/03-livelock";
#endif
  // fixed-ordering: one attempt per unit, so every number is known in advance but the times.
  const hazardlab::testing::AdoptOrphans adopt;
  const auto shm_before = hazardlab::testing::shm_objects();
  const auto run = hazardlab::testing::run_lab_json(
      "livelock", {"--variant", "fixed-ordering", "--workers", "3", "--units", "500", "--timeout", "30000"});
  EXPECT_EQ(run.process.exit_status, hazardlab::kExitCorrect) << run.process.err;
  ASSERT_TRUE(run.report.is_object()) << run.process.out;
  EXPECT_EQ(run.report.at("lab"), "livelock");
  EXPECT_EQ(run.report.at("workers"), 3);
  EXPECT_EQ(run.report.at("outcome"), "correct");
  const auto& metrics = run.report.at("metrics");
  EXPECT_EQ(metrics.at("units"), 1'500);
  EXPECT_EQ(metrics.at("attempts"), 1'500);
  EXPECT_EQ(metrics.at("attempts_per_unit"), 1.0);
  EXPECT_GT(metrics.at("cpu_ms").get<double>(), 0);
  EXPECT_EQ(metrics.at("units_without_both"), 0);
  EXPECT_EQ(metrics.at("uses_miscounted"), 0);
  const auto& workers = metrics.at("workers");
  ASSERT_EQ(workers.size(), 3u) << metrics.dump();
  double cpu_ms = 0;
  for (int w = 0; w < 3; ++w) {
    EXPECT_EQ(workers[w].at("worker"), w);
    EXPECT_EQ(workers[w].at("units"), 500) << "worker " << w;
    EXPECT_EQ(workers[w].at("attempts"), 500) << "worker " << w;
    EXPECT_GT(workers[w].at("cpu_ms").get<double>(), 0) << "worker " << w; // 500 units of spinning
    cpu_ms += workers[w].at("cpu_ms").get<double>();
  }
  EXPECT_DOUBLE_EQ(metrics.at("cpu_ms").get<double>(), cpu_ms); // the total is the workers' sum
  EXPECT_TRUE(run.report.at("summary").get<std::string>().starts_with(
      "1,500 units done in 1,500 attempts (1.000 per unit) in "))
      << run.report.at("summary");
  EXPECT_TRUE(hazardlab::testing::children_of(::getpid()).empty());
  EXPECT_EQ(hazardlab::testing::shm_objects(), shm_before);
}

} // namespace cli_test
