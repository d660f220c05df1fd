// Lab 06 command-line tests: bad input is one line naming the option and what it allows, exit 2,
// and nothing left behind (no child, no /dev/shm object, no temporary folder); small real runs of
// every mode exit 0 and write their CSV.
#include "command_line.hpp"
#include "lab_run.hpp"
#include "leftovers.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

namespace tvp_cli_test { // named, not anonymous: its binary's test files are one translation unit

constexpr const char* kLab = "threads-vs-processes";

// A folder of the test's own, given to the program as TMPDIR: io-file's folder goes in there, so
// the test sees whether one is left.
class TmpDir {
public:
  TmpDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tvp-cli-test.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp");
    path_ = pattern;
  }
  ~TmpDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string env() const { return "TMPDIR=" + path_; }
  bool empty() const { return std::filesystem::is_empty(path_); }

private:
  std::string path_;
};

using BadInput = std::tuple<std::vector<std::string>, std::string>;
class ThreadsVsProcessesBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(ThreadsVsProcessesBadInput, ExitsTwoWithOneLineNamingTheOptionAndLeavesNothing) {
  const auto& [args, expected] = GetParam();
  hazardlab::testing::expect_usage_error(kLab, args, expected);
  // With io-file asked for, the folder must not be made before the input is judged.
  const TmpDir tmp;
  std::vector<std::string> argv{hazardlab::testing::bin_path(kLab), "--kind", "io-file"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto done = hazardlab::testing::run(argv, std::chrono::seconds(60), {tmp.env()});
  EXPECT_EQ(done.exit_status, 2) << done.err;
  EXPECT_TRUE(tmp.empty()) << "a temporary folder was left in " << tmp.path();
  EXPECT_TRUE(hazardlab::testing::children_of(::getpid()).empty());
}

INSTANTIATE_TEST_SUITE_P(
    Lab, ThreadsVsProcessesBadInput,
    ::testing::Values(
        BadInput{{"--max-workers", "65"}, "threads-vs-processes: error: --max-workers: Value 65 not in range 0 to 64"},
        BadInput{{"--workers", "-1"}, "threads-vs-processes: error: --workers: Value -1 not in range 0 to 64"},
        BadInput{{"--mode", "threads"},
                 "threads-vs-processes: error: --mode: threads not in {experiment,spawn,pass,pool}"},
        BadInput{{"--form", "fiber"}, "threads-vs-processes: error: --form: fiber not in {thread,process,both}"},
        BadInput{{"--kind", "gpu"}, "threads-vs-processes: error: --kind: gpu not in {cpu,io,io-file}"},
        BadInput{{"--scaling", "medium"}, "threads-vs-processes: error: --scaling: medium not in {strong,weak}"},
        BadInput{{"--switch-interval", "0"},
                 "threads-vs-processes: error: --switch-interval: Value 0 not in range 0.05 to 1000 (milliseconds)"},
        BadInput{{"--units", "0"}, "threads-vs-processes: error: --units: Value 0 not in range 1 to 100000"},
        BadInput{{"--repeats", "101"}, "threads-vs-processes: error: --repeats: Value 101 not in range 1 to 100"},
        BadInput{{"--gil", "--no-gil"}, "threads-vs-processes: error: --gil excludes --no-gil"},
        BadInput{{"--pool", "0"}, "threads-vs-processes: error: --pool: Value 0 not in range 1 to 64"},
        BadInput{{"--pool", "65"}, "threads-vs-processes: error: --pool: Value 65 not in range 1 to 64"},
        BadInput{{"--mode", "pool", "--tasks", "0"},
                 "threads-vs-processes: error: --tasks: Value 0 not in range 1 to 1000000"},
        BadInput{{"--mode", "pass", "--bytes", "0"}, "threads-vs-processes: error: --bytes: Value 0 not in range 1 to"},
        BadInput{{"--mode", "pass", "--bytes", "512M"},
                 "threads-vs-processes: error: --bytes: Value 536870912 not in range 1 to 268435456"},
        BadInput{{"--mode", "spawn", "--pool", "2"},
                 "threads-vs-processes: error: --pool does not apply to --mode spawn (only to --mode pool)"},
        BadInput{{"--bytes", "1K"},
                 "threads-vs-processes: error: --bytes does not apply to --mode experiment (only to --mode pass)"},
        BadInput{{"--mode", "spawn", "--gil"},
                 "threads-vs-processes: error: --gil does not apply to --mode spawn (only to --mode experiment or "
                 "pool)"},
        BadInput{{"--switch-interval", "soon"},
                 "threads-vs-processes: error: --switch-interval: Value soon is not a number"},
        BadInput{{"--workers", "2", "--max-workers", "3"}, "threads-vs-processes: error: --workers: give --workers or"},
        BadInput{{"--csv", "/no/such/folder/out.csv"},
                 "threads-vs-processes: error: --csv: no folder /no/such/folder to write it in"},
        BadInput{{"--timeout", "0"}, "threads-vs-processes: error: --timeout: Value 0 not in range 1 to 3600000"},
        BadInput{{"--no-such-option"}, "threads-vs-processes: error: The following argument was not expected"}));

// Floats must be finite, integers must fit their type, and a non-number is called one, as in every
// lab; the output files are checked before the run.
INSTANTIATE_TEST_SUITE_P(
    Numbers, ThreadsVsProcessesBadInput,
    ::testing::Values(
        BadInput{{"--io-ms", "nan"}, "threads-vs-processes: error: --io-ms: Value nan is not a finite number"},
        BadInput{{"--io-ms", "inf"}, "threads-vs-processes: error: --io-ms: Value inf is not a finite number"},
        BadInput{{"--io-ms", "-inf"}, "threads-vs-processes: error: --io-ms: Value -inf is not a finite number"},
        BadInput{{"--io-ms", "1e400"}, "threads-vs-processes: error: --io-ms: Value 1e400 not in range 0 to 10000"},
        BadInput{{"--io-ms", "abc"}, "threads-vs-processes: error: --io-ms: Value abc is not a number"},
        BadInput{{"--switch-interval", "nan"},
                 "threads-vs-processes: error: --switch-interval: Value nan is not a finite number"},
        BadInput{{"--iterations", "18446744073709551616"},
                 "threads-vs-processes: error: --iterations: Value 18446744073709551616 not in range 1 to 10000000000"},
        BadInput{{"--file-bytes", "-1"},
                 "threads-vs-processes: error: --file-bytes: Value -1 not in range 1 to 16777216"},
        BadInput{{"--spawns", "2", "--mode", "pass"},
                 "threads-vs-processes: error: --spawns does not apply to --mode pass (only to --mode spawn)"},
        BadInput{{"--mode", "pool", "--trace", "t.json"},
                 "threads-vs-processes: error: --trace does not apply to --mode pool (only to --mode experiment)"}));
INSTANTIATE_TEST_SUITE_P(Csv, ThreadsVsProcessesBadInput,
                         ::testing::ValuesIn(hazardlab::testing::unwritable_files(kLab, "--csv")));
INSTANTIATE_TEST_SUITE_P(Trace, ThreadsVsProcessesBadInput,
                         ::testing::ValuesIn(hazardlab::testing::unwritable_files(kLab, "--trace")));
INSTANTIATE_TEST_SUITE_P(NotANumber, ThreadsVsProcessesBadInput,
                         ::testing::ValuesIn(hazardlab::testing::bad_numbers(kLab, "--units")));

TEST(ThreadsVsProcessesCli, AnUnwritableCsvOrTraceCreatesNothing) {
  hazardlab::testing::expect_unwritable_file_creates_nothing(kLab, "--csv");
  hazardlab::testing::expect_unwritable_file_creates_nothing(kLab, "--trace");
}

TEST(ThreadsVsProcessesCli, HelpWinsOverABadOption) {
  hazardlab::testing::expect_help_wins(kLab, {{"--workers", "abc"}, {"--io-ms", "nan"}, {"--mode", "spawn", "--gil"}});
}

std::vector<std::string> csv_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

std::vector<std::string> cells_of(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream in(line);
  for (std::string cell; std::getline(in, cell, ',');)
    cells.push_back(cell);
  return cells;
}

class ThreadsVsProcessesRun : public hazardlab::testing::LeavesNothingBehind {};

TEST_F(ThreadsVsProcessesRun, JsonIsOneObjectWithTheCsvsRowsAndNumbers) {
  const TmpDir tmp;
  const std::string csv = tmp.path() + "/table.csv";
  const auto run =
      hazardlab::testing::run_lab_json(kLab, {"--kind", "cpu,io", "--max-workers", "2", "--units", "4", "--iterations",
                                              "10000", "--io-ms", "1", "--repeats", "1", "--csv", csv});
  ASSERT_EQ(run.process.exit_status, 0) << run.process.err;
  ASSERT_TRUE(run.report.is_object()) << "stdout is not one JSON object: " << run.process.out;
  const auto& report = run.report;
  EXPECT_EQ(report.at("lab"), kLab);
  EXPECT_EQ(report.at("mode"), "experiment");
  EXPECT_EQ(report.at("scaling"), "strong");
  EXPECT_GE(report.at("cores").get<int>(), 1);
  ASSERT_TRUE(report.contains("warning"));
  EXPECT_TRUE(report.at("warning").is_null() || report.at("warning").is_string());
  const auto lines = csv_lines(csv);
  const auto& rows = report.at("rows");
  // 2 kinds × 2 GIL settings × 2 forms × 2 worker counts, in the CSV's order and with its numbers.
  ASSERT_EQ(rows.size(), 2u * 2 * 2 * 2);
  ASSERT_EQ(lines.size(), 1 + rows.size());
  const auto header = cells_of(lines[0]);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const auto cells = cells_of(lines[r + 1]);
    ASSERT_EQ(cells.size(), header.size()) << lines[r + 1];
    const auto& row = rows[r];
    SCOPED_TRACE(row.dump());
    for (std::size_t c = 0; c < header.size(); ++c) {
      const std::string& name = header[c];
      if (!row.contains(name)) {
        // What the rows share is said once, beside them.
        ASSERT_TRUE(report.contains(name)) << name;
        continue;
      }
      const auto& value = row.at(name);
      if (value.is_string())
        EXPECT_EQ(value.get<std::string>(), cells[c]) << name;
      else if (value.is_number_float())
        EXPECT_DOUBLE_EQ(value.get<double>(), std::stod(cells[c])) << name;
      else
        EXPECT_EQ(value.dump(), cells[c]) << name;
    }
    const double used = row.at("cores_used").get<double>();
    EXPECT_GT(used, 0);
    EXPECT_LE(used, row.at("workers").get<int>() * 1.05);
  }
}

TEST_F(ThreadsVsProcessesRun, EveryModeTakesJson) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--mode", "spawn", "--spawns", "5"},
                                             {"--mode", "pass", "--bytes", "1K,64K", "--repeats", "1"},
                                             {"--pool", "2", "--tasks", "6", "--kind", "io", "--io-ms", "1"}}) {
    const auto run = hazardlab::testing::run_lab_json(kLab, args);
    ASSERT_EQ(run.process.exit_status, 0) << run.process.err;
    ASSERT_TRUE(run.report.is_object()) << run.process.out;
    EXPECT_EQ(run.report.at("lab"), kLab);
    // spawn: 2 forms; pass: 2 sizes × 2 forms × 2 paths; pool: 1 kind × 2 GIL settings × 2 forms
    const std::size_t expected = args[1] == "spawn" ? 2 : args[1] == "pass" ? 8 : 4;
    EXPECT_EQ(run.report.at("rows").size(), expected) << run.process.out;
  }
}

TEST_F(ThreadsVsProcessesRun, WithJsonTheTimelineGoesToStderr) {
  const auto run = hazardlab::testing::run_lab_json(kLab, {"--kind", "cpu", "--workers", "2", "--units", "4",
                                                           "--iterations", "10000", "--repeats", "1", "--timeline"});
  ASSERT_EQ(run.process.exit_status, 0) << run.process.err;
  EXPECT_TRUE(run.report.is_object()) << run.process.out;
  EXPECT_NE(run.process.err.find("the timeline below is of"), std::string::npos) << run.process.err;
}

TEST_F(ThreadsVsProcessesRun, TheExperimentPrintsAndWritesEveryRowAndRemovesItsFolder) {
  const TmpDir tmp;
  const std::string csv = tmp.path() + "/table.csv";
  const auto done =
      hazardlab::testing::run({hazardlab::testing::bin_path(kLab), "--kind", "cpu,io,io-file", "--max-workers", "2",
                               "--units", "4", "--iterations", "10000", "--io-ms", "1", "--repeats", "1", "--csv", csv},
                              std::chrono::seconds(120), {tmp.env()});
  ASSERT_EQ(done.exit_status, 0) << done.err;
  EXPECT_NE(done.out.find("cpu work, GIL on"), std::string::npos) << done.out;
  const auto lines = csv_lines(csv);
  // header + 3 kinds × 2 GIL settings × 2 forms × 2 worker counts
  ASSERT_EQ(lines.size(), 1u + 3 * 2 * 2 * 2) << done.out;
  EXPECT_EQ(lines[0],
            "kind,scaling,gil,form,workers,cores,wall_ms,speedup,efficiency,units,iterations,io_ms,gil_switches,"
            "checksum,cores_used");
  EXPECT_EQ(lines[1].rfind("cpu,strong,off,thread,1,", 0), 0u) << lines[1];
  EXPECT_NE(done.out.find("cores used"), std::string::npos) << done.out;
  // Every row's cores used: a positive number, no more than its workers (clock reading aside).
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto cells = cells_of(lines[i]);
    ASSERT_EQ(cells.size(), 15u) << lines[i];
    const double used = std::stod(cells[14]);
    EXPECT_TRUE(std::isfinite(used) && used > 0) << lines[i];
    EXPECT_LE(used, std::stoi(cells[4]) * 1.05) << lines[i];
  }
  // Only the CSV is left in TMPDIR: io-file's folder is gone.
  std::vector<std::string> left;
  for (const auto& entry : std::filesystem::directory_iterator(tmp.path()))
    left.push_back(entry.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{"table.csv"});
}

TEST_F(ThreadsVsProcessesRun, ThePoolReportsEveryTaskRanOnce) {
  const auto done = hazardlab::testing::run(
      {hazardlab::testing::bin_path(kLab), "--pool", "3", "--tasks", "30", "--kind", "io", "--io-ms", "1", "--no-gil"});
  ASSERT_EQ(done.exit_status, 0) << done.err;
  EXPECT_NE(done.out.find("30/30"), std::string::npos) << done.out;
}

TEST_F(ThreadsVsProcessesRun, SpawnAndPassRun) {
  const auto spawn = hazardlab::testing::run({hazardlab::testing::bin_path(kLab), "--mode", "spawn", "--spawns", "20"});
  ASSERT_EQ(spawn.exit_status, 0) << spawn.err;
  EXPECT_NE(spawn.out.find("fork + wait for a process"), std::string::npos) << spawn.out;
  const auto pass = hazardlab::testing::run(
      {hazardlab::testing::bin_path(kLab), "--mode", "pass", "--bytes", "1K,64K", "--repeats", "2"});
  ASSERT_EQ(pass.exit_status, 0) << pass.err;
  EXPECT_NE(pass.out.find("64 KB"), std::string::npos) << pass.out;
}

TEST(ThreadsVsProcessesHelp, ExitsZero) {
  const auto done = hazardlab::testing::run({hazardlab::testing::bin_path(kLab), "--help"});
  EXPECT_EQ(done.exit_status, 0);
  EXPECT_NE(done.out.find("--switch-interval"), std::string::npos);
}

} // namespace tvp_cli_test
