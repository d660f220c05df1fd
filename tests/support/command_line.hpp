#pragma once
// The command-line checks every lab makes in the same words (common/src/command_line.cpp), as rows
// for a lab's table of bad input, and the checks that need more than the one error line: an
// output file refused creates nothing, --help wins over a bad option.
#include "lab_run.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

namespace hazardlab::testing {

// (arguments, text the one error line must contain)
using BadInput = std::tuple<std::vector<std::string>, std::string>;

// An output file that cannot be written: an existing folder, a read-only file, a missing folder.
inline std::vector<BadInput> unwritable_files(const std::string& program, const std::string& option,
                                              const std::vector<std::string>& before = {}) {
  const std::string error = program + ": error: " + option + ": ";
  const auto with = [&](const std::string& file) {
    std::vector<std::string> args = before;
    args.insert(args.end(), {option, file});
    return args;
  };
  return {BadInput{with("/tmp"), error + "/tmp is a folder, not a file"},
          BadInput{with("/tmp/"), error + "'/tmp/' names no file"},
          BadInput{with("/proc/version"), error + "cannot write /proc/version: it is read-only"},
          BadInput{with("/proc/hazardlab.json"), error + "cannot write in /proc: it is read-only"},
          BadInput{with("/nonexistent-dir/x.json"), error + "no folder /nonexistent-dir to write it in"}};
}

// A number that is no number, or none of its type, in the words every option uses.
inline std::vector<BadInput> bad_numbers(const std::string& program, const std::string& option,
                                         const std::vector<std::string>& before = {}) {
  const std::string error = program + ": error: " + option + ": Value ";
  const auto with = [&](const std::string& value) {
    std::vector<std::string> args = before;
    args.insert(args.end(), {option, value});
    return args;
  };
  return {BadInput{with("abc"), error + "abc is not a number"}, BadInput{with("0x10"), error + "0x10 is not a number"},
          BadInput{with("1e3"), error + "1e3 is not a number"}, BadInput{with(""), error + " is not a number"}};
}

// What lab_main refuses in every lab (lab 01 to 05): numbers, seeds beyond 63 bits, the trace file,
// and the options that apply to some schedules only.
inline std::vector<BadInput> common_bad_input(const std::string& lab) {
  const std::string error = lab + ": error: ";
  std::vector<BadInput> rows{
      BadInput{{"--seed", "18446744073709551616"},
               error + "--seed: Value 18446744073709551616 not in range 0 to 9223372036854775807"},
      BadInput{{"--seed", "9223372036854775808"},
               error + "--seed: Value 9223372036854775808 not in range 0 to 9223372036854775807"},
      BadInput{{"--max-schedules", "18446744073709551616", "--schedule", "explore"},
               error + "--max-schedules: Value 18446744073709551616 not in range 1 to 10000000"},
      BadInput{{"--preemptions", "1"},
               error + "--preemptions does not apply to --schedule natural (only to --schedule explore)"},
      BadInput{{"--schedule", "forced", "--max-schedules", "5"},
               error + "--max-schedules does not apply to --schedule forced (only to --schedule explore)"},
      BadInput{{"--schedule", "replay:+3", "--first-failure"},
               error + "--first-failure does not apply to --schedule replay (only to --schedule explore)"},
      BadInput{{"--schedule", "explore", "--trials", "2"},
               error + "--trials does not apply to --schedule explore (it runs every schedule itself)"},
      BadInput{{"--schedule", "explore", "--timeline"},
               error + "--timeline does not apply to --schedule explore (it runs every schedule itself)"},
  };
  for (const auto& rows_of : {bad_numbers(lab, "--seed"), bad_numbers(lab, "--timeout"), bad_numbers(lab, "--trials"),
                              unwritable_files(lab, "--trace")})
    rows.insert(rows.end(), rows_of.begin(), rows_of.end());
  return rows;
}

// A folder of the test's own, removed at the end.
class OwnFolder {
public:
  OwnFolder() {
    std::string pattern = (std::filesystem::temp_directory_path() / "hazardlab-cli-test.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp");
    path_ = pattern;
  }
  OwnFolder(const OwnFolder&) = delete;
  OwnFolder& operator=(const OwnFolder&) = delete;
  ~OwnFolder() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  bool empty() const { return std::filesystem::is_empty(path_); }

private:
  std::string path_;
};

// An output file refused before the run creates nothing: not in a folder given as the file, not
// the missing folder, not a file in a folder it may not write.
inline void expect_unwritable_file_creates_nothing(const std::string& program, const std::string& option,
                                                   const std::vector<std::string>& before = {}) {
  const OwnFolder folder;
  const std::string missing = folder.path() + "/missing";
  const OwnFolder read_only;
  std::filesystem::permissions(read_only.path(),
                               std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  for (const std::string& file : {folder.path(), missing + "/out.json", read_only.path() + "/out.json"}) {
    SCOPED_TRACE(option + " " + file);
    std::vector<std::string> args = before;
    args.insert(args.end(), {option, file});
    expect_usage_error(program, args, option + ": ");
  }
  EXPECT_TRUE(folder.empty()) << folder.path();
  EXPECT_FALSE(std::filesystem::exists(missing));
  EXPECT_TRUE(read_only.empty()) << read_only.path();
  std::filesystem::permissions(read_only.path(), std::filesystem::perms::owner_all);
}

// --help prints the help and exits 0, whatever else is on the line.
inline void expect_help_wins(const std::string& program, const std::vector<std::vector<std::string>>& bad) {
  for (const auto& args : bad) {
    for (const bool help_first : {true, false}) {
      std::vector<std::string> argv{bin_path(program)};
      if (help_first) argv.push_back("--help");
      argv.insert(argv.end(), args.begin(), args.end());
      if (!help_first) argv.push_back("--help");
      SCOPED_TRACE(::testing::PrintToString(argv));
      const auto done = run(argv);
      EXPECT_EQ(done.exit_status, 0) << done.err;
      EXPECT_NE(done.out.find("Usage: " + program), std::string::npos) << done.out;
      EXPECT_TRUE(done.err.empty()) << done.err;
    }
  }
}

} // namespace hazardlab::testing
