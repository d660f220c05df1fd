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
#include <vector>

namespace {

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

} // namespace

namespace {

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
  ASSERT_EQ(output.size(), 7u);
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

} // namespace
