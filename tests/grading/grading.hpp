#pragma once
// The grader: judges each lab's exercise (or any variant) by the checks of the grading manifest,
// runs the lab binaries as a student would, and reports in the formats graders read.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace hazardlab::grading {

// One lab run of a check: its arguments, and the fix that stands for the reference solution
// where the lab's fixes each cover one scenario (empty: the lab's reference).
struct Run {
  std::vector<std::string> args;
  std::string reference;
};

struct Check {
  std::string name;
  std::string kind;  // "correctness" or "parallelism"
  std::string build; // the preset whose binary runs: "default" or "tsan"
  int points = 0;
  int time_limit_s = 0;       // for all of the check's runs together
  std::string metric;         // parallelism: the metric counted, e.g. most_at_once …
  std::uint64_t at_least = 0; // … and how high it must be in every trial
  std::string tsan_options;   // added to TSAN_OPTIONS for this check's runs
  std::vector<Run> runs;
};

struct LabChecks {
  std::string lab; // the binary's name
  std::string dir; // labs/<dir>/exercise.hpp is the student's file
  std::string reference;
  std::vector<Check> checks;
};

struct Manifest {
  std::vector<LabChecks> labs;
};

// Reads and validates the manifest; throws std::runtime_error naming the file and what is wrong.
Manifest load_manifest(const std::string& path);

// What to judge, and where the binaries are.
struct Setup {
  std::map<std::string, std::string> bin_dirs; // build ("default", "tsan") -> its bin/ folder
  std::string variant = "exercise";            // "exercise", "reference" or any variant's name
  // "lab" -> a file holding the build's output, for a lab whose exercise did not compile.
  std::map<std::string, std::string> not_built;
};

struct Verdict {
  std::string lab;
  std::string check;
  std::string kind;
  int points = 0; // scored
  int max_points = 0;
  bool passed = false;
  std::string why;                // for a failure: the one line that says why
  std::vector<std::string> lines; // what each run ended with, for the reports' output
  double seconds = 0;
};

// Runs one check (every run, stopping at the first failure) and judges it.
Verdict judge(const LabChecks& lab, const Check& check, const Setup& setup);

// The reports.
std::string table(const std::vector<Verdict>& verdicts);
std::string gradescope_json(const std::vector<Verdict>& verdicts, double seconds);
std::string junit_xml(const std::vector<Verdict>& verdicts, double seconds);

} // namespace hazardlab::grading
