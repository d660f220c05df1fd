// hazardlab-grade: judges every lab's exercise by the grading manifest's checks.
//
//   hazardlab-grade [--labs race,deadlock] [--variant exercise|reference|NAME]
//                   [--results results.json] [--junit junit.xml] [--not-built LAB=BUILD_LOG]...
//                   [--bin-dir default=DIR --bin-dir tsan=DIR] [--list-labs]
//
// Exit status: 0 every check passed, 1 some check failed, 2 usage error (bad option or manifest).
// `make grade` builds each lab on its own and calls this (scripts/grade.sh).
#include "grading.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

namespace {

using namespace hazardlab::grading;
namespace fs = std::filesystem;

constexpr int kAllPassed = 0;
constexpr int kSomeFailed = 1;
constexpr int kUsage = 2;

// "name=value" -> {name, value}; a malformed pair is a usage error naming the option.
std::map<std::string, std::string> pairs(const std::vector<std::string>& items, const std::string& option) {
  std::map<std::string, std::string> out;
  for (const auto& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
      throw CLI::ValidationError(option, fmt::format("'{}' is not NAME=VALUE", item));
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  return static_cast<bool>(out.flush());
}

} // namespace

int main(int argc, char** argv) {
  // By default the labs are this build's and the TSan build's beside it (build/<preset>/bin).
  const fs::path own_bin = fs::canonical("/proc/self/exe").parent_path();
  std::string manifest_path = HAZARDLAB_SOURCE_DIR "/tests/grading/manifest.json";
  std::vector<std::string> bin_dir_items{"default=" + own_bin.string(),
                                         "tsan=" + (own_bin.parent_path().parent_path() / "tsan" / "bin").string()};
  std::vector<std::string> not_built_items;
  std::vector<std::string> only_labs;
  std::string variant = "exercise";
  std::string results_path;
  std::string junit_path;

  CLI::App app{"Grades each lab's exercise by the checks of the grading manifest (docs/instructor-guide.md)",
               "hazardlab-grade"};
  app.add_option("--manifest", manifest_path, "the grading manifest")->check(CLI::ExistingFile);
  app.add_option("--bin-dir", bin_dir_items, "BUILD=DIR: where a build's lab binaries are (default and tsan)")
      ->take_all();
  app.add_option("--variant", variant,
                 "the variant judged: exercise (the student's), reference (each check's reference fix) or any "
                 "variant's name");
  app.add_option("--labs", only_labs, "grade only these labs (comma-separated)")->delimiter(',');
  app.add_option("--not-built", not_built_items, "LAB=BUILD_LOG: that lab did not compile; its checks score 0");
  // Checked before any grading: a report that cannot be written would waste the whole run.
  const CLI::Validator writable(
      [](const std::string& path) -> std::string {
        const fs::path folder = fs::path(path).parent_path();
        return folder.empty() || fs::is_directory(folder) ? "" : "no folder " + folder.string() + " to write it in";
      },
      "FILE");
  bool list_labs = false;
  app.add_flag("--list-labs", list_labs, "print each lab of the manifest and its folder, and exit");
  app.add_option("--results", results_path, "write Gradescope's results.json here")->check(writable);
  app.add_option("--junit", junit_path, "write JUnit XML here")->check(writable);

  Manifest manifest;
  Setup setup;
  try {
    app.parse(argc, argv);
    setup.bin_dirs = pairs(bin_dir_items, "--bin-dir");
    setup.not_built = pairs(not_built_items, "--not-built");
    setup.variant = variant;
    manifest = load_manifest(manifest_path);
    std::set<std::string> known;
    for (const auto& lab : manifest.labs)
      known.insert(lab.lab);
    for (const auto& name : only_labs)
      if (!known.contains(name))
        throw CLI::ValidationError(
            "--labs", fmt::format("no lab '{}' in the manifest (it has {})", name, fmt::join(known, ", ")));
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e); // --help
    fmt::print(stderr, "hazardlab-grade: error: {}\n", e.what());
    return kUsage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "hazardlab-grade: error: manifest {}\n", e.what());
    return kUsage;
  }

  const auto graded = [&](const LabChecks& lab) {
    return only_labs.empty() || std::ranges::find(only_labs, lab.lab) != only_labs.end();
  };
  if (list_labs) {
    for (const auto& lab : manifest.labs)
      if (graded(lab)) fmt::print("{} {}\n", lab.lab, lab.dir);
    return kAllPassed;
  }

  const auto start = std::chrono::steady_clock::now();
  std::vector<Verdict> verdicts;
  for (const auto& lab : manifest.labs) {
    if (!graded(lab)) continue;
    for (const auto& check : lab.checks) {
      fmt::print(stderr, "{} · {} …", lab.lab, check.name);
      std::fflush(stderr);
      verdicts.push_back(judge(lab, check, setup));
      fmt::print(stderr, " {} ({:.1f} s)\n", verdicts.back().passed ? "passed" : "failed", verdicts.back().seconds);
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  fmt::print("{}", table(verdicts));
  if (!results_path.empty() && !write_file(results_path, gradescope_json(verdicts, seconds))) {
    fmt::print(stderr, "hazardlab-grade: error: --results: cannot write {}\n", results_path);
    return kUsage;
  }
  if (!junit_path.empty() && !write_file(junit_path, junit_xml(verdicts, seconds))) {
    fmt::print(stderr, "hazardlab-grade: error: --junit: cannot write {}\n", junit_path);
    return kUsage;
  }
  const bool all_passed = std::ranges::all_of(verdicts, [](const Verdict& v) { return v.passed; });
  return all_passed ? kAllPassed : kSomeFailed;
}
