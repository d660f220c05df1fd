// The grading tools' bad input: one line naming the option, exit status 2, nothing graded and
// nothing left behind. And make handout's distribution: what it holds and what it leaves out.
#include "lab_run.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace grader_cli_test { // named, not anonymous: its binary's test files are one translation unit

namespace fs = std::filesystem;
using hazardlab::testing::run;

const std::string kGrader = hazardlab::testing::bin_path("hazardlab-grade");
const std::string kScripts = HAZARDLAB_SOURCE_DIR "/scripts/";

void expect_one_line_usage_error(const hazardlab::Completed& done, const std::string& expected) {
  EXPECT_EQ(done.exit_status, 2) << done.out << done.err;
  EXPECT_EQ(std::count(done.err.begin(), done.err.end(), '\n'), 1) << done.err;
  EXPECT_NE(done.err.find(expected), std::string::npos) << done.err;
  EXPECT_TRUE(done.out.empty()) << done.out;
}

class TempDir {
public:
  TempDir() : path_(fs::temp_directory_path() / ("hazardlab-cli-" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

private:
  fs::path path_;
};

TEST(GraderCli, UnknownLabNamesTheOptionAndTheLabs) {
  expect_one_line_usage_error(run({kGrader, "--labs", "race,nosuch"}), "--labs: no lab 'nosuch' in the manifest");
}

TEST(GraderCli, MalformedBinDir) {
  expect_one_line_usage_error(run({kGrader, "--bin-dir", "default"}), "--bin-dir: 'default' is not NAME=VALUE");
}

TEST(GraderCli, ReportInAFolderThatDoesNotExist) {
  expect_one_line_usage_error(run({kGrader, "--results", "/nonexistent-folder/results.json"}),
                              "--results: no folder /nonexistent-folder");
}

TEST(GraderCli, ManifestErrorsNameTheField) {
  const TempDir dir;
  const fs::path manifest = dir.path() / "manifest.json";
  std::ofstream(manifest) << R"({"labs": [{"lab": "race", "dir": "01-race", "reference": "fixed-mutex", "checks": [
    {"name": "x", "kind": "speed", "build": "default", "points": 1, "time_limit_s": 1, "runs": ["--form thread"]}]}]})";
  expect_one_line_usage_error(run({kGrader, "--manifest", manifest.string()}),
                              "labs[0].checks[0]: \"kind\" must be \"correctness\" or \"parallelism\"");
  std::ofstream(manifest) << R"({"labs": [{"lab": "race", "dir": "01-race", "reference": "fixed-mutex", "checks": [
    {"name": "x", "kind": "correctness", "build": "default", "points": 1, "time_limit_s": 1,
     "runs": ["--form thread --variant broken"]}]}]})";
  expect_one_line_usage_error(run({kGrader, "--manifest", manifest.string()}),
                              "labs[0].checks[0].runs[0]: the grader adds --variant itself");
}

TEST(GraderCli, ListsTheManifestsLabs) {
  const auto done = run({kGrader, "--list-labs", "--labs", "deadlock"});
  EXPECT_EQ(done.exit_status, 0) << done.err;
  EXPECT_EQ(done.out, "deadlock 02-deadlock\n");
}

TEST(GradeScript, SubmissionThatIsNotAKit) {
  const TempDir dir;
  expect_one_line_usage_error(
      run({"bash", kScripts + "grade.sh"}, std::chrono::seconds(30), {"SUBMISSION=" + dir.path().string()}),
      "has no labs/ folder");
}

TEST(HandoutScript, NeedsAnEmptyDestination) {
  expect_one_line_usage_error(run({"bash", kScripts + "handout.sh"}), "DEST: say where");
  const TempDir dir;
  std::ofstream(dir.path() / "something") << "x";
  expect_one_line_usage_error(run({"bash", kScripts + "handout.sh", dir.path().string()}), "is not empty");
}

TEST(HandoutScript, LeavesOutSolutionsAndInstructorFiles) {
  const TempDir dir;
  const fs::path dest = dir.path() / "kit";
  const auto done = run({"bash", kScripts + "handout.sh", dest.string()});
  ASSERT_EQ(done.exit_status, 0) << done.err;
  EXPECT_FALSE(fs::exists(dest / "solutions"));
  EXPECT_FALSE(fs::exists(dest / "docs/instructor-guide.md"));
  EXPECT_FALSE(fs::exists(dest / "tests/grading/submissions"));
  // What a student needs to build, run, fix and self-grade is there.
  for (const char* needed : {"Makefile", "CMakeLists.txt", "README.md", "scripts/install-deps.sh", "scripts/grade.sh",
                             "tests/grading/manifest.json", "labs/01-race/exercise.hpp", "common/src/cli.cpp"})
    EXPECT_TRUE(fs::exists(dest / needed)) << needed;
}

} // namespace grader_cli_test
