// Lab 02 command-line tests: the lab's own options and the combinations they cannot express.
#include "command_line.hpp"
#include "lab_run.hpp"
#include "leftovers.hpp"

#include "hazardlab/outcome.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <tuple>

namespace cli_test { // named, not anonymous: its binary's test files are one translation unit

using BadInput = std::tuple<std::vector<std::string>, std::string>;

#ifdef HAZARDLAB_WITH_SOLUTIONS
constexpr const char* kWaiterOnTheBank = "--variant fixed-waiter applies only to --scenario philosophers";
#else
constexpr const char* kWaiterOnTheBank = "--variant: fixed-waiter not in {broken,exercise}"; // no solutions/
#endif

class DeadlockBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(DeadlockBadInput, ExitsTwoWithOneLineNamingTheOption) {
  const auto& [args, expected] = GetParam();
  hazardlab::testing::expect_usage_error("deadlock", args, expected);
}

INSTANTIATE_TEST_SUITE_P(
    Deadlock, DeadlockBadInput,
    ::testing::Values(BadInput{{"--scenario", "kitchen"}, "--scenario: kitchen not in {bank,philosophers}"},
                      BadInput{{"--accounts", "1"}, "--accounts: Value 1 not in range 2 to 256"},
                      BadInput{{"--accounts", "257"}, "--accounts: Value 257 not in range 2 to 256"},
                      BadInput{{"--transfers", "0"}, "--transfers: Value 0 not in range 1 to 100000000"},
                      BadInput{{"--meals", "-1"}, "--meals: Value -1 not in range 1 to 100000000"},
                      BadInput{{"--scenario", "philosophers", "--workers", "1"},
                               "--scenario philosophers needs --workers 2 to 64"},
                      BadInput{{"--variant", "fixed-waiter"}, kWaiterOnTheBank},
                      // Each scenario's own sizes: refused in the other, the same way in every lab.
                      BadInput{{"--meals", "2"},
                               "deadlock: error: --meals does not apply to --scenario bank (it counts the "
                               "philosophers' meals; the bank counts --transfers)"},
                      BadInput{{"--scenario", "bank", "--schedule", "explore", "--meals", "2"},
                               "deadlock: error: --meals does not apply to --scenario bank"},
                      BadInput{{"--scenario", "philosophers", "--accounts", "4"},
                               "deadlock: error: --accounts does not apply to --scenario philosophers (it counts the "
                               "bank's accounts; the philosophers share forks)"},
                      BadInput{{"--scenario", "philosophers", "--transfers", "4"},
                               "deadlock: error: --transfers does not apply to --scenario philosophers (it counts "
                               "the bank's transfers; the philosophers count --meals)"}));

// The checks every lab makes in the same words (tests/support/command_line.hpp), and one of its own numbers.
INSTANTIATE_TEST_SUITE_P(Common, DeadlockBadInput,
                         ::testing::ValuesIn(hazardlab::testing::common_bad_input("deadlock")));
INSTANTIATE_TEST_SUITE_P(Numbers, DeadlockBadInput,
                         ::testing::ValuesIn(hazardlab::testing::bad_numbers("deadlock", "--accounts")));

TEST(DeadlockCli, AnUnwritableTraceCreatesNothing) {
  hazardlab::testing::expect_unwritable_file_creates_nothing("deadlock", "--trace");
}

TEST(DeadlockCli, HelpWinsOverABadOption) {
  hazardlab::testing::expect_help_wins("deadlock", {{"--meals", "abc"}, {"--accounts", "1"}});
}

TEST(DeadlockCli, ListSaysWhatAVariantNeeds) {
  const auto done = hazardlab::testing::run({hazardlab::testing::bin_path("deadlock"), "--list", "--json"});
  ASSERT_EQ(done.exit_status, 0) << done.err;
  std::map<std::string, std::vector<std::string>> needs;
  for (const auto& v : nlohmann::json::parse(done.out))
    needs[v["variant"]] = v["needs"].get<std::vector<std::string>>();
  EXPECT_TRUE(needs["broken"].empty());
#ifdef HAZARDLAB_WITH_SOLUTIONS
  EXPECT_EQ(needs["fixed-waiter"], (std::vector<std::string>{"--scenario", "philosophers"}));
#endif
}

TEST(DeadlockCli, CorrectRunSaysTransfersAndTotal) {
  const auto run = hazardlab::testing::run_lab_json("deadlock", {"--variant", "exercise", "--workers", "1"});
  EXPECT_EQ(run.process.exit_status, hazardlab::kExitCorrect) << run.process.err;
  EXPECT_EQ(run.report["summary"], "1,000 transfers done, total 10,000 conserved, at most 1 transfer at once");
  EXPECT_EQ(run.report["metrics"]["most_at_once"], 1);
  EXPECT_EQ(run.report["metrics"]["total_after"], 10'000);
}

// --timeline and --trace are common to every lab (cli.cpp); the deadlock is where they say most:
// each worker holds one account and waits, to the end, for the next one's.
TEST(TimelineCli, AForcedDeadlockShowsEveryProcessWaitingAndTheTraceHasATrackEach) {
  const std::string trace = ::testing::TempDir() + "hazardlab-deadlock-trace.json";
  std::filesystem::remove(trace);
  const auto done =
      hazardlab::testing::run({hazardlab::testing::bin_path("deadlock"), "--form", "process", "--schedule", "forced",
                               "--workers", "3", "--timeout", "300", "--timeline", "--trace", trace});
  EXPECT_EQ(done.exit_status, hazardlab::kExitStuck) << done.err;
  EXPECT_NE(done.out.find("\ntimeline of the first trial\n"), std::string::npos) << done.out;
  for (const char* row : {"process 0 |", "process 1 |", "process 2 |"}) {
    const auto at = done.out.find(row);
    ASSERT_NE(at, std::string::npos) << row << "\n" << done.out;
    const std::string bar = done.out.substr(at, done.out.find('\n', at) - at);
    EXPECT_NE(bar.find("░░░░"), std::string::npos) << bar; // waiting, from its second lock to the end
  }
  std::ifstream in(trace);
  const auto json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  std::filesystem::remove(trace);
  ASSERT_TRUE(json.is_object()) << "the trace is not JSON";
  int tracks = 0;
  int waits = 0;
  for (const auto& event : json.at("traceEvents")) {
    if (event.at("ph") == "M" && event.at("name") == "thread_name") ++tracks;
    if (event.at("ph") == "X" && event.at("name").get<std::string>().starts_with("waiting account ")) ++waits;
  }
  EXPECT_EQ(tracks, 3);
  EXPECT_GE(waits, 3);
}

TEST(TimelineCli, WithJsonTheChartGoesToStderrAndStdoutStaysOneObject) {
  const auto run = hazardlab::testing::run_lab_json(
      // One worker: the untouched exercise cannot deadlock alone (and a fix may not be there).
      "deadlock", {"--variant", "exercise", "--workers", "1", "--transfers", "50", "--timeline"});
  EXPECT_EQ(run.process.exit_status, hazardlab::kExitCorrect) << run.process.err;
  EXPECT_TRUE(run.report.is_object()) << run.process.out;
  EXPECT_NE(run.process.err.find("\ntimeline of the first trial\nthread 0 |"), std::string::npos) << run.process.err;
}

TEST(TimelineCli, TraceIntoAFolderThatDoesNotExist) {
  hazardlab::testing::expect_usage_error("deadlock", {"--trace", "/nonexistent-folder/trace.json"},
                                         "--trace: no folder /nonexistent-folder");
}

} // namespace cli_test
