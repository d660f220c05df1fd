// Lab 04 command-line tests: the lab's own options and their ranges, workers counted by role in
// the readers-writers scenario (--readers plus --writers, no --workers) and by --workers in the
// greedy one, the variants that apply to one scenario or one form only, the variants it lists, and
// the JSON of a run.
#include "command_line.hpp"
#include "lab_run.hpp"
#include "leftovers.hpp"

#include "hazardlab/outcome.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace cli_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::testing::chart_row;

// (arguments, text the one error line must contain)
using BadInput = std::tuple<std::vector<std::string>, std::string>;

#ifdef HAZARDLAB_WITH_SOLUTIONS
constexpr const char* kUnknownVariant = "starvation: error: --variant: fair not in "
                                        "{broken,broken-shared-mutex,fixed-turnstile,fixed-ticket,exercise}";
#else
constexpr const char* kUnknownVariant =
    "starvation: error: --variant: fair not in {broken,broken-shared-mutex,exercise}"; // no solutions/
#endif

class StarvationBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(StarvationBadInput, ExitsTwoWithOneLineNamingTheOption) {
  const auto& [args, expected] = GetParam();
  hazardlab::testing::expect_usage_error("starvation", args, expected);
}

INSTANTIATE_TEST_SUITE_P(
    Starvation, StarvationBadInput,
    ::testing::Values(
        // A role needs at least one worker, and leaves room for the other role within the kit's 64.
        BadInput{{"--readers", "0"}, "starvation: error: --readers: Value 0 not in range 1 to 63"},
        BadInput{{"--writers", "0"}, "starvation: error: --writers: Value 0 not in range 1 to 63"},
        BadInput{{"--writers", "64"}, "starvation: error: --writers: Value 64 not in range 1 to 63"},
        BadInput{{"--readers", "40", "--writers", "30"},
                 "starvation: error: --readers plus --writers must be at most 64, not 70"},
        BadInput{{"--readers", "32", "--writers", "33"},
                 "starvation: error: --readers plus --writers must be at most 64, not 65"},
        BadInput{{"--ops", "0"}, "starvation: error: --ops: Value 0 not in range 1 to 10000000"},
        BadInput{{"--ops", "10000001"}, "starvation: error: --ops: Value 10000001 not in range 1 to 10000000"},
        BadInput{{"--scenario", "foo"}, "starvation: error: --scenario: foo not in {readers-writers,greedy}"},
        // The readers-writers scenario counts its workers by role: --workers is refused with the reason,
        // and greedy has no roles.
        BadInput{{"--workers", "3"},
                 "starvation: error: --workers does not apply to --scenario readers-writers "
                 "(readers-writers counts its workers by --readers and --writers)"},
        BadInput{{"--scenario", "readers-writers", "--workers", "3"},
                 "starvation: error: --workers does not apply to --scenario readers-writers"},
        BadInput{{"--scenario", "readers-writers", "--schedule", "explore", "--workers", "2"},
                 "starvation: error: --workers does not apply to --scenario readers-writers"},
        BadInput{{"--scenario", "greedy", "--readers", "2"},
                 "starvation: error: --readers does not apply to --scenario greedy (greedy has no readers; it "
                 "counts its workers by --workers)"},
        BadInput{{"--scenario", "greedy", "--writers", "1"},
                 "starvation: error: --writers does not apply to --scenario greedy (greedy has no writers; it "
                 "counts its workers by --workers)"},
        // Greedy needs the greedy worker and at least one rival.
        BadInput{{"--scenario", "greedy", "--workers", "1"},
                 "starvation: error: --workers: Value 1 not in range 2 to 64"},
        BadInput{{"--scenario", "greedy", "--workers", "65"},
                 "starvation: error: --workers: Value 65 not in range 2 to 64"},
        // std::shared_mutex is not process-shared, and it is a readers-writers lock.
        BadInput{{"--variant", "broken-shared-mutex", "--form", "process"},
                 "starvation: error: --variant broken-shared-mutex applies only to --form thread"},
        BadInput{{"--variant", "broken-shared-mutex", "--scenario", "greedy"},
                 "starvation: error: --variant broken-shared-mutex applies only to --scenario readers-writers"},
        BadInput{{"--variant", "fair"}, kUnknownVariant}));

// The checks every lab makes in the same words (tests/support/command_line.hpp), and one of its own numbers.
INSTANTIATE_TEST_SUITE_P(Common, StarvationBadInput,
                         ::testing::ValuesIn(hazardlab::testing::common_bad_input("starvation")));
INSTANTIATE_TEST_SUITE_P(Numbers, StarvationBadInput,
                         ::testing::ValuesIn(hazardlab::testing::bad_numbers("starvation", "--ops")));

TEST(StarvationCli, AnUnwritableTraceCreatesNothing) {
  hazardlab::testing::expect_unwritable_file_creates_nothing("starvation", "--trace");
}

TEST(StarvationCli, HelpWinsOverABadOption) {
  hazardlab::testing::expect_help_wins("starvation", {{"--ops", "abc"}, {"--scenario", "greedy", "--readers", "2"}});
}

#ifdef HAZARDLAB_WITH_SOLUTIONS
// Each fix is a lock for one scenario.
INSTANTIATE_TEST_SUITE_P(
    StarvationFixes, StarvationBadInput,
    ::testing::Values(BadInput{{"--variant", "fixed-ticket"},
                               "starvation: error: --variant fixed-ticket applies only to --scenario greedy"},
                      BadInput{
                          {"--variant", "fixed-turnstile", "--scenario", "greedy"},
                          "starvation: error: --variant fixed-turnstile applies only to --scenario readers-writers"}));
#endif

TEST(StarvationCli, ListNamesEveryVariantWithItsFormsAndScenario) {
  const auto done = hazardlab::testing::run({hazardlab::testing::bin_path("starvation"), "--list", "--json"});
  ASSERT_EQ(done.exit_status, 0) << done.err;
  std::map<std::string, std::vector<std::string>> forms, needs;
  for (const auto& v : nlohmann::json::parse(done.out)) {
    forms[v["variant"]] = v["forms"].get<std::vector<std::string>>();
    needs[v["variant"]] = v["needs"].get<std::vector<std::string>>();
  }
  const std::vector<std::string> both{"thread", "process"};
  std::map<std::string, std::vector<std::string>> expected_forms{
      {"broken", both}, {"broken-shared-mutex", {"thread"}}, {"exercise", both}};
  std::map<std::string, std::vector<std::string>> expected_needs{
      {"broken", {}}, {"broken-shared-mutex", {"--scenario", "readers-writers"}}, {"exercise", {}}};
#ifdef HAZARDLAB_WITH_SOLUTIONS
  expected_forms.insert({{"fixed-turnstile", both}, {"fixed-ticket", both}});
  expected_needs.insert(
      {{"fixed-turnstile", {"--scenario", "readers-writers"}}, {"fixed-ticket", {"--scenario", "greedy"}}});
#endif
  EXPECT_EQ(forms, expected_forms) << done.out;
  EXPECT_EQ(needs, expected_needs) << done.out;

  // The text list names the same variants, and what a variant needs.
  const auto text = hazardlab::testing::run({hazardlab::testing::bin_path("starvation"), "--list"});
  ASSERT_EQ(text.exit_status, 0) << text.err;
  for (const auto& [variant, its_forms] : expected_forms)
    EXPECT_NE(text.out.find("  " + variant + " "), std::string::npos) << variant << "\n" << text.out;
  EXPECT_NE(text.out.find("(needs --scenario readers-writers)"), std::string::npos) << text.out;
}

TEST(StarvationCli, HelpShowsTheLabsOptions) {
  const auto done = hazardlab::testing::run({hazardlab::testing::bin_path("starvation"), "--help"});
  EXPECT_EQ(done.exit_status, 0) << done.err;
  for (const std::string option : {"--scenario", "--readers", "--writers", "--ops", "--workers", "--form", "--variant",
                                   "--schedule", "--trials", "--timeout", "--json", "--list"})
    EXPECT_NE(done.out.find(option), std::string::npos) << option << "\n" << done.out;
  // --workers says which scenario it is for.
  EXPECT_NE(done.out.find("greedy: the greedy worker and its rivals; readers-writers counts --readers and --writers"),
            std::string::npos)
      << done.out;
  EXPECT_NE(done.out.find("{readers-writers,greedy}"), std::string::npos) << done.out;
}

// Every field of a run's JSON, in both scenarios; only counts are compared, never times.
void expect_metrics(const hazardlab::testing::LabRun& run, int workers, std::uint64_t ops,
                    const std::vector<std::string>& names) {
  ASSERT_TRUE(run.report.is_object()) << run.process.out << run.process.err;
  EXPECT_EQ(run.report.at("lab"), "starvation");
  EXPECT_EQ(run.report.at("workers"), workers);
  const auto& metrics = run.report.at("metrics");
  for (const std::string field :
       {"window_ms", "ops_in_window", "ops", "jain_index", "ops_per_s", "starved", "not_excluded", "workers"})
    EXPECT_TRUE(metrics.contains(field)) << field << "\n" << metrics.dump();
  EXPECT_EQ(metrics.at("ops"), ops * static_cast<std::uint64_t>(workers));
  EXPECT_EQ(metrics.at("not_excluded"), 0);
  const double jain = metrics.at("jain_index").get<double>();
  EXPECT_GE(jain, 1.0 / workers - 1e-12);
  EXPECT_LE(jain, 1.0 + 1e-12);
  const auto& per_worker = metrics.at("workers");
  ASSERT_EQ(per_worker.size(), names.size()) << metrics.dump();
  std::uint64_t in_window = 0;
  double shares = 0;
  for (std::size_t w = 0; w < names.size(); ++w) {
    const auto& worker = per_worker[w];
    for (const std::string field : {"worker", "name", "ops", "ops_in_window", "share_pct", "longest_wait_ms",
                                    "p50_wait_ms", "p99_wait_ms", "overtakes", "most_overtakes", "starved"})
      EXPECT_TRUE(worker.contains(field)) << field << "\n" << worker.dump();
    EXPECT_EQ(worker.at("worker"), w);
    EXPECT_EQ(worker.at("name"), names[w]);
    EXPECT_EQ(worker.at("ops"), ops);
    EXPECT_LE(worker.at("ops_in_window").get<std::uint64_t>(), ops);
    EXPECT_LE(worker.at("most_overtakes").get<std::uint64_t>(), worker.at("overtakes").get<std::uint64_t>());
    EXPECT_LE(worker.at("p50_wait_ms").get<double>(), worker.at("p99_wait_ms").get<double>());
    in_window += worker.at("ops_in_window").get<std::uint64_t>();
    shares += worker.at("share_pct").get<double>();
  }
  EXPECT_EQ(metrics.at("ops_in_window"), in_window); // the window's total is the workers' sum
  EXPECT_NEAR(shares, 100.0, 1e-6);
}

TEST(StarvationCli, JsonHasTheMetricsOfEveryWorker) {
  const hazardlab::testing::AdoptOrphans adopt;
  const auto shm_before = hazardlab::testing::shm_objects();
  // broken, natural: whatever the outcome, every field is there; the workers are counted by role.
  const auto readers_writers = hazardlab::testing::run_lab_json(
      "starvation", {"--readers", "2", "--writers", "2", "--ops", "200", "--timeout", "30000"});
  EXPECT_TRUE(readers_writers.process.exit_status == hazardlab::kExitCorrect ||
              readers_writers.process.exit_status == hazardlab::kExitHazard)
      << readers_writers.process.err;
  expect_metrics(readers_writers, 4, 200, {"reader 0", "reader 1", "writer 0", "writer 1"});

  const auto greedy = hazardlab::testing::run_lab_json(
      "starvation", {"--scenario", "greedy", "--workers", "3", "--ops", "200", "--timeout", "30000"});
  EXPECT_TRUE(greedy.process.exit_status == hazardlab::kExitCorrect ||
              greedy.process.exit_status == hazardlab::kExitHazard)
      << greedy.process.err;
  expect_metrics(greedy, 3, 200, {"greedy worker 0", "rival 1", "rival 2"});
  EXPECT_TRUE(hazardlab::testing::children_of(::getpid()).empty());
  EXPECT_EQ(hazardlab::testing::shm_objects(), shm_before);
}

TEST(StarvationCli, CorrectRunSaysEveryWorkerGotIn) {
#ifndef HAZARDLAB_WITH_SOLUTIONS
  GTEST_SKIP() << "needs solutions/04-starvation";
#endif
  const auto run = hazardlab::testing::run_lab_json(
      "starvation", {"--variant", "fixed-ticket", "--scenario", "greedy", "--workers", "4", "--ops", "300"});
  EXPECT_EQ(run.process.exit_status, hazardlab::kExitCorrect) << run.process.err;
  expect_metrics(run, 4, 300, {"greedy worker 0", "rival 1", "rival 2", "rival 3"});
  EXPECT_EQ(run.report.at("outcome"), "correct");
  EXPECT_EQ(run.report.at("metrics").at("starved"), 0);
  EXPECT_TRUE(run.report.at("summary").get<std::string>().starts_with("every worker got in: 1,200 ops in "))
      << run.report.at("summary");
}

// --timeline under the forced schedule, both forms: rows by role; the readers take turns inside
// (holding the lock), and the writer waits for it through their relay.
class StarvationTimeline : public ::testing::TestWithParam<std::string> {};

TEST_P(StarvationTimeline, TheChartShowsWhoIsInsideAndWhoWaits) {
  const std::string form = GetParam();
  const std::string trace = ::testing::TempDir() + "hazardlab-starvation-trace-" + form + ".json";
  std::filesystem::remove(trace);
  const auto done =
      hazardlab::testing::run({hazardlab::testing::bin_path("starvation"), "--form", form, "--variant", "broken",
                               "--schedule", "forced", "--ops", "200", "--timeline", "--trace", trace});
  EXPECT_EQ(done.exit_status, hazardlab::kExitHazard) << done.err;
  for (const char* reader : {"reader 0", "reader 1", "reader 2"}) {
    const std::string bar = chart_row(done.out, reader);
    EXPECT_NE(bar.find("▓"), std::string::npos) << reader << "\n" << done.out; // inside
  }
  EXPECT_NE(chart_row(done.out, "writer 0").find("░"), std::string::npos) << done.out; // waiting
  // The trace: the readers' entries while the writer waits. The forced schedule has the writer ask
  // early (once two readers have been inside together), and the readers relay past it until they
  // run out of reads: nearly every one of their 600 reads is made while it waits.
  std::ifstream in(trace);
  const auto json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  std::filesystem::remove(trace);
  ASSERT_TRUE(json.is_object()) << "the trace is not JSON";
  std::map<int, std::string> names;
  for (const auto& event : json.at("traceEvents"))
    if (event.at("ph") == "M" && event.at("name") == "thread_name")
      names[event.at("tid").get<int>()] = event.at("args").at("name");
  EXPECT_EQ(names, (std::map<int, std::string>{{0, "reader 0"}, {1, "reader 1"}, {2, "reader 2"}, {3, "writer 0"}}));
  double wait_from = 0;
  double wait_to = -1;
  for (const auto& event : json.at("traceEvents"))
    if (event.at("ph") == "X" && event.at("tid") == 3 && event.at("name") == "waiting the lock" &&
        event.at("dur").get<double>() > wait_to - wait_from) {
      wait_from = event.at("ts");
      wait_to = wait_from + event.at("dur").get<double>();
    }
  int reads_while_waiting = 0;
  for (const auto& event : json.at("traceEvents"))
    if (event.at("ph") == "X" && event.at("tid") < 3 && event.at("name") == "holding the lock, reading" &&
        event.at("ts").get<double>() >= wait_from && event.at("ts").get<double>() < wait_to)
      ++reads_while_waiting;
  EXPECT_GE(reads_while_waiting, 590) << "the writer waited from " << wait_from << " to " << wait_to << " µs";
}

TEST(StarvationTimeline, TheGreedyWorkerIsInsideWhileItsRivalsWait) {
  const auto done =
      hazardlab::testing::run({hazardlab::testing::bin_path("starvation"), "--form", "process", "--variant", "broken",
                               "--scenario", "greedy", "--schedule", "forced", "--ops", "200", "--timeline"});
  EXPECT_EQ(done.exit_status, hazardlab::kExitHazard) << done.err;
  EXPECT_NE(chart_row(done.out, "greedy worker 0").find("▓"), std::string::npos) << done.out; // inside
  EXPECT_NE(chart_row(done.out, "rival 1").find("░"), std::string::npos) << done.out;         // waiting
  EXPECT_NE(chart_row(done.out, "rival 2").find("░"), std::string::npos) << done.out;
}

INSTANTIATE_TEST_SUITE_P(Starvation, StarvationTimeline, ::testing::Values("thread", "process"),
                         [](const auto& info) { return info.param == "thread" ? "ThreadForm" : "ProcessForm"; });

} // namespace cli_test
