// Proof that the grading can fail, and that it does not flake (built only where solutions/ is):
//  - every lab's reference fixes, judged by every check of the manifest, score full marks;
//  - every broken variant of every lab, judged as if it were the exercise, scores zero on every
//    check (the parallelism checks too: they count only on a correct run);
//  - the untouched exercises score zero;
//  - the reference and the broken variants are graded twice, and the scores agree.
// The grader runs the labs of this build and of the TSan build beside it (make test builds both).
#include "lab_run.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace proof_test { // named, not anonymous: its binary's test files are one translation unit

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kGradings = 2; // the reference's and the broken variants' verdicts, reached this many times each

struct Graded {
  hazardlab::Completed process;
  json results; // Gradescope's results.json
  std::string junit;
};

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Graded grade(const std::string& lab, const std::string& variant) {
  const fs::path out = fs::temp_directory_path() / fmt::format("hazardlab-grade-{}-{}-{}", ::getpid(), lab, variant);
  fs::create_directories(out);
  Graded graded;
  graded.process = hazardlab::testing::run({hazardlab::testing::bin_path("hazardlab-grade"), "--labs", lab, "--variant",
                                            variant, "--bin-dir", "default=" HAZARDLAB_BIN_DIR, "--bin-dir",
                                            "tsan=" HAZARDLAB_SOURCE_DIR "/build/tsan/bin", "--results",
                                            (out / "results.json").string(), "--junit", (out / "junit.xml").string()},
                                           std::chrono::minutes(15));
  graded.results = json::parse(slurp(out / "results.json"), nullptr, /*allow_exceptions=*/false);
  graded.junit = slurp(out / "junit.xml");
  fs::remove_all(out);
  return graded;
}

std::vector<std::string> variants_of(const std::string& lab, const std::string& prefix) {
  const auto listed = hazardlab::testing::run({hazardlab::testing::bin_path(lab), "--list", "--json"});
  std::vector<std::string> names;
  for (const auto& variant : json::parse(listed.out))
    if (variant.at("variant").get<std::string>().starts_with(prefix)) names.push_back(variant.at("variant"));
  return names;
}

std::string scores_of(const json& results) {
  std::string text;
  for (const auto& test : results.at("tests"))
    text += fmt::format("  {}/{} {}: {}\n", test.at("score").get<int>(), test.at("max_score").get<int>(),
                        test.at("name").get<std::string>(), test.at("output").get<std::string>());
  return text;
}

// Grades `variant` of `lab` kGradings times: every time the same score, every check as `passes`
// says, and reports that agree with each other and with the exit status.
void expect_graded(const std::string& lab, const std::string& variant, bool passes, int gradings = kGradings) {
  SCOPED_TRACE(fmt::format("{} --variant {}", lab, variant));
  std::vector<int> scores;
  for (int grading = 0; grading < gradings; ++grading) {
    const Graded graded = grade(lab, variant);
    ASSERT_TRUE(graded.results.is_object()) << graded.process.out << graded.process.err;
    const json& results = graded.results;
    const int max_score = results.at("max_score");
    ASSERT_GT(max_score, 0);
    scores.push_back(results.at("score"));
    EXPECT_EQ(graded.process.exit_status, passes ? 0 : 1) << graded.process.out << graded.process.err;
    EXPECT_EQ(results.at("score"), passes ? max_score : 0) << scores_of(results);
    int checks = 0;
    for (const auto& test : results.at("tests")) {
      ++checks;
      SCOPED_TRACE(test.dump());
      EXPECT_EQ(test.at("status"), passes ? "passed" : "failed");
      EXPECT_EQ(test.at("score"), passes ? test.at("max_score") : json(0));
      // A failure always says why, in its first line.
      if (!passes) {
        EXPECT_TRUE(test.at("output").get<std::string>().starts_with("failed: ")) << test.at("output");
      }
    }
    EXPECT_GT(checks, 0);
    // The JUnit report counts the same checks and failures.
    EXPECT_NE(graded.junit.find(fmt::format("tests=\"{}\" failures=\"{}\"", checks, passes ? 0 : checks)),
              std::string::npos)
        << graded.junit;
    // And the table on the terminal says the same total.
    EXPECT_NE(graded.process.out.find(fmt::format("total: {} of {} points", passes ? max_score : 0, max_score)),
              std::string::npos)
        << graded.process.out;
  }
  for (const int score : scores)
    EXPECT_EQ(score, scores.front()) << "the same grading gave different scores";
}

class GradingProof : public hazardlab::testing::LeavesNothingBehind,
                     public ::testing::WithParamInterface<std::string> {};

TEST_P(GradingProof, ReferenceFixesScoreFullMarks) { expect_graded(GetParam(), "reference", true); }

TEST_P(GradingProof, BrokenVariantsScoreZero) {
  const auto broken = variants_of(GetParam(), "broken");
  ASSERT_FALSE(broken.empty());
  for (const auto& variant : broken)
    expect_graded(GetParam(), variant, false);
}

TEST_P(GradingProof, UntouchedExerciseScoresZero) { expect_graded(GetParam(), "exercise", false, 1); }

// Every lab of the manifest: a lab added there is proven here too.
std::vector<std::string> labs_in_manifest() {
  std::vector<std::string> labs;
  const json manifest = json::parse(slurp(HAZARDLAB_SOURCE_DIR "/tests/grading/manifest.json"), nullptr, false);
  if (manifest.is_object() && manifest.contains("labs"))
    for (const auto& lab : manifest["labs"])
      labs.push_back(lab.value("lab", "?"));
  return labs;
}

INSTANTIATE_TEST_SUITE_P(Labs, GradingProof, ::testing::ValuesIn(labs_in_manifest()),
                         [](const auto& info) { return info.param; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(GradingProof); // an unreadable manifest fails below instead

TEST(GradingManifest, NamesLabsThatExist) {
  const auto labs = labs_in_manifest();
  ASSERT_FALSE(labs.empty()) << "the manifest could not be read";
  for (const auto& lab : labs)
    EXPECT_TRUE(fs::exists(hazardlab::testing::bin_path(lab))) << lab;
}

// A submission through make grade's whole path: only its exercise files laid over a fresh
// handout, each lab built on its own. Its race exercise does not compile; its deadlock exercise is
// one lock around everything. (The plain build only, to keep the suite short: the TSan check then
// fails for want of a build, which is asserted too.)
TEST(GradingSubmission, ALabThatDoesNotCompileCostsOnlyItsOwnPointsAndOneLockCostsTheParallelismPoints) {
  const fs::path out = fs::temp_directory_path() / fmt::format("hazardlab-submission-{}", ::getpid());
  fs::remove_all(out);
  const auto done = hazardlab::testing::run(
      {"bash", HAZARDLAB_SOURCE_DIR "/scripts/grade.sh"}, std::chrono::minutes(20),
      {"SUBMISSION=" HAZARDLAB_SOURCE_DIR "/tests/grading/submissions/one-lock", "LABS=race,deadlock", "BUILDS=default",
       "OUT=" + out.string(), "GRADER=" + hazardlab::testing::bin_path("hazardlab-grade")});
  const json results = json::parse(slurp(out / "results.json"), nullptr, /*allow_exceptions=*/false);
  fs::remove_all(out);
  EXPECT_EQ(done.exit_status, 1) << done.out << done.err;
  ASSERT_TRUE(results.is_object()) << done.out << done.err;
  SCOPED_TRACE(scores_of(results));
  std::map<std::string, std::string> output; // check -> its output
  for (const auto& test : results.at("tests"))
    output[test.at("name")] = test.at("output");
  ASSERT_EQ(output.size(), 9u); // race 4 checks, deadlock 5
  for (const auto& [name, text] : output) {
    if (name.starts_with("race: ")) {
      EXPECT_TRUE(text.starts_with("failed: did not compile: labs/01-race/exercise.hpp:")) << text;
    }
  }
  EXPECT_TRUE(output.at("deadlock: thread form: no deadlock, money and forks kept").starts_with("passed"));
  EXPECT_TRUE(output.at("deadlock: process form: no deadlock, money and forks kept").starts_with("passed"));
  EXPECT_EQ(output.at("deadlock: ThreadSanitizer, thread form: no data race, no deadlock"),
            "failed: no tsan build to run");
  const std::string& parallel =
      output.at("deadlock: still parallel: disjoint transfers and non-neighbours' meals at once");
  EXPECT_TRUE(parallel.starts_with("failed: ")) << parallel;
  EXPECT_NE(parallel.find("correct, but most_at_once was 1 (at least 2 needed)"), std::string::npos) << parallel;
  EXPECT_EQ(results.at("score"), 60);
}

// Three realistic lab 04 submissions, through make grade's whole path (one tree, built once, each
// submission's exercise laid over it in turn; the plain build only, so the TSan check fails for
// want of a build, 25 points, asserted too):
//  - fifo-turnstile: a FIFO lock from the form's mutex, condition variable and two counters, and
//    the reference's turnstile. Correct: every check but TSan's passes. (It once scored 70 of 100,
//    because a reader starved in one natural trial; the lab promises writers their turn, not
//    readers a fair share, as its reference does.)
//  - ticket-load-store: a ticket lock that draws its ticket with a load and then a store
//    (Form::Atomic). The explore check finds two workers inside at once, on every grading.
//  - yield-after-unlock: a plain mutex that yields the CPU after unlocking. Under the forced
//    schedule the greedy worker runs on past the yield and its rivals starve: no full marks.
TEST(GradingSubmission, StarvationFixesTheGraderHadGotWrong) {
  const fs::path out = fs::temp_directory_path() / fmt::format("hazardlab-submissions-04-{}", ::getpid());
  fs::remove_all(out);
  const auto graded = [&out](const std::string& name) {
    const auto done = hazardlab::testing::run(
        {"bash", HAZARDLAB_SOURCE_DIR "/scripts/grade.sh"}, std::chrono::minutes(20),
        {"SUBMISSION=" HAZARDLAB_SOURCE_DIR "/tests/grading/submissions/" + name, "LABS=starvation", "BUILDS=default",
         "OUT=" + out.string(), "GRADER=" + hazardlab::testing::bin_path("hazardlab-grade")});
    const json results = json::parse(slurp(out / "results.json"), nullptr, /*allow_exceptions=*/false);
    std::map<std::string, std::string> output; // check -> its output
    if (results.is_object())
      for (const auto& test : results.at("tests"))
        output[test.at("name")] = test.at("output");
    return std::tuple{done, results, output};
  };
  const std::string thread_check = "starvation: thread form: every worker served, writers and greedy rivals included";
  const std::string explore_check = "starvation: every interleaving within 2 preemptions, thread and process form: the "
                                    "locks exclude (once they serve everyone)";
  const std::string tsan_check = "starvation: ThreadSanitizer, thread form: no data race, every worker served";
  const std::string parallel_check = "starvation: still parallel: readers read together";

  {
    const auto [done, results, output] = graded("fifo-turnstile");
    ASSERT_TRUE(results.is_object()) << done.out << done.err;
    SCOPED_TRACE(scores_of(results));
    ASSERT_EQ(output.size(), 5u);
    // Every check passes; the TSan check only where the tsan build is there (make test builds it).
    const bool tsan_built = output.at(tsan_check) != "failed: no tsan build to run";
    for (const auto& [name, text] : output) {
      if (name != tsan_check || tsan_built) {
        EXPECT_TRUE(text.starts_with("passed")) << name << ": " << text;
      }
    }
    EXPECT_EQ(results.at("score"), tsan_built ? 100 : 75);
  }
  {
    const auto [done, results, output] = graded("ticket-load-store");
    ASSERT_TRUE(results.is_object()) << done.out << done.err;
    SCOPED_TRACE(scores_of(results));
    ASSERT_EQ(output.size(), 5u);
    const std::string& explored = output.at(explore_check);
    EXPECT_TRUE(explored.starts_with("failed: ")) << explored;
    EXPECT_NE(explored.find("explore"), std::string::npos) << explored;
    // Its shortest failing schedule is two inside at once, or a ticket nobody holds (stuck).
    EXPECT_TRUE(explored.find("hazard:not-excluded") != std::string::npos ||
                explored.find("stuck:livelock") != std::string::npos)
        << explored;
    // Forced runs never split the draw (nor does TSan, where it runs: the counters are atomics). A
    // natural run may, when the OS preempts a worker between its load and its store: then a ticket
    // is lost or shared, and that check fails too, for the ticket's own bug. So the explore check's
    // 20 points are lost on every grading, and more only by a natural run's luck.
    const bool tsan_built = output.at(tsan_check) != "failed: no tsan build to run";
    for (const auto& [name, text] : output) {
      if (name == explore_check || name == tsan_check || text.starts_with("passed")) continue;
      EXPECT_NE(text.find(", natural)"), std::string::npos) << name << ": " << text;
      EXPECT_TRUE(text.find("stuck:") != std::string::npos || text.find("hazard:not-excluded") != std::string::npos)
          << name << ": " << text;
    }
    EXPECT_LE(results.at("score").get<int>(), tsan_built ? 80 : 55);
    EXPECT_GE(results.at("score").get<int>(), tsan_built ? 80 - 40 : 55 - 40); // the two natural-run checks at most
  }
  {
    const auto [done, results, output] = graded("yield-after-unlock");
    ASSERT_TRUE(results.is_object()) << done.out << done.err;
    SCOPED_TRACE(scores_of(results));
    ASSERT_EQ(output.size(), 5u);
    const std::string& thread = output.at(thread_check);
    EXPECT_TRUE(thread.starts_with("failed: ")) << thread;
    EXPECT_NE(thread.find("greedy, forced"), std::string::npos) << thread;
    EXPECT_NE(thread.find("hazard:starvation"), std::string::npos) << thread;
    EXPECT_TRUE(output.at(explore_check).starts_with("failed: ")) << output.at(explore_check);
    EXPECT_TRUE(output.at(parallel_check).starts_with("passed")) << output.at(parallel_check);
    EXPECT_EQ(results.at("score"), 15);
  }
  fs::remove_all(out);
}

} // namespace proof_test
