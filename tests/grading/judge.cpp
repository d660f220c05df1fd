// Reading the manifest, and judging one check by running the lab binary as a student would.
#include "grading.hpp"

#include "hazardlab/outcome.hpp"
#include "hazardlab/subprocess.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace hazardlab::grading {

namespace {

using Json = nlohmann::json;

std::vector<std::string> split_words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string word; in >> word;)
    words.push_back(word);
  return words;
}

// Reads the manifest's fields, saying where a wrong one is.
class Reader {
public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    throw std::runtime_error(fmt::format("{}: {}: {}", path_, where, what));
  }
  std::string text(const Json& object, const char* key, const std::string& where) const {
    if (!object.contains(key) || !object[key].is_string() || object[key].get<std::string>().empty())
      fail(where, fmt::format("\"{}\" must be a non-empty string", key));
    return object[key].get<std::string>();
  }
  std::int64_t number(const Json& object, const char* key, const std::string& where, std::int64_t low,
                      std::int64_t high) const {
    if (!object.contains(key) || !object[key].is_number_integer() || object[key].get<std::int64_t>() < low ||
        object[key].get<std::int64_t>() > high)
      fail(where, fmt::format("\"{}\" must be a whole number from {} to {}", key, low, high));
    return object[key].get<std::int64_t>();
  }

private:
  std::string path_;
};

Check read_check(const Reader& reader, const Json& item, const std::string& where) {
  if (!item.is_object()) reader.fail(where, "a check must be an object");
  Check check;
  check.name = reader.text(item, "name", where);
  check.kind = reader.text(item, "kind", where);
  if (check.kind != "correctness" && check.kind != "parallelism")
    reader.fail(where, "\"kind\" must be \"correctness\" or \"parallelism\"");
  check.build = reader.text(item, "build", where);
  if (check.build != "default" && check.build != "tsan")
    reader.fail(where, "\"build\" must be \"default\" or \"tsan\"");
  check.points = static_cast<int>(reader.number(item, "points", where, 0, 1000));
  check.time_limit_s = static_cast<int>(reader.number(item, "time_limit_s", where, 1, 3600));
  if (check.kind == "parallelism") {
    check.metric = reader.text(item, "metric", where);
    check.at_least = static_cast<std::uint64_t>(reader.number(item, "at_least", where, 1, 64));
  }
  if (item.contains("tsan_options")) check.tsan_options = reader.text(item, "tsan_options", where);
  if (!item.contains("runs") || !item["runs"].is_array() || item["runs"].empty())
    reader.fail(where, "\"runs\" must be a non-empty list");
  for (std::size_t r = 0; r < item["runs"].size(); ++r) {
    const Json& entry = item["runs"][r];
    const std::string at = fmt::format("{}.runs[{}]", where, r);
    Run run;
    if (entry.is_string()) {
      run.args = split_words(entry.get<std::string>());
    } else if (entry.is_object()) {
      run.args = split_words(reader.text(entry, "args", at));
      if (entry.contains("reference")) run.reference = reader.text(entry, "reference", at);
    } else {
      reader.fail(at, "a run is a string of arguments, or {\"args\": …, \"reference\": …}");
    }
    for (const char* ours : {"--variant", "--json"})
      if (std::ranges::find(run.args, ours) != run.args.end())
        reader.fail(at, fmt::format("the grader adds {} itself", ours));
    check.runs.push_back(std::move(run));
  }
  return check;
}

// "--form thread --schedule forced --scenario bank ..." -> "thread form, forced, bank"
std::string describe(const std::vector<std::string>& args) {
  std::vector<std::string> parts;
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--form") parts.push_back(args[i + 1] + " form");
    if (args[i] == "--schedule" || args[i] == "--scenario") parts.push_back(args[i + 1]);
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::string last_line(const std::string& text) {
  std::istringstream in(text);
  std::string last;
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t") != std::string::npos) last = line;
  return last;
}

// The first compiler error of a build log: "labs/01-race/exercise.hpp:27:5: error: ...".
std::string first_error(const std::string& log_path) {
  std::ifstream in(log_path);
  std::string first;
  for (std::string line; std::getline(in, line);) {
    if (line.find("error:") == std::string::npos) continue;
    // Compilers print the absolute path; the student knows the file by its place in the kit.
    for (const char* top : {"/labs/", "/common/", "/solutions/"})
      if (const auto at = line.find(top); at != std::string::npos && at < line.find("error:")) {
        line = line.substr(at + 1);
        break;
      }
    return line.size() > 200 ? line.substr(0, 197) + "..." : line;
  }
  return "see " + log_path;
}

// ThreadSanitizer's first report, in one line: "data race in race::Exercise<...>::increment at
// labs/01-race/exercise.hpp:27".
std::string tsan_summary(const std::string& err) {
  static const std::regex kWarning(R"(WARNING: ThreadSanitizer: ([^(\n]+?)\s*(\(pid=\d+\))?\s*\n)");
  static const std::regex kFrame(R"(#0 (\S+?)(\(.*\))? (\S+:\d+))");
  std::smatch warning;
  if (!std::regex_search(err, warning, kWarning)) return "";
  std::string summary = warning[1].str();
  const std::string rest = err.substr(static_cast<std::size_t>(warning.position(0) + warning.length(0)));
  if (std::smatch frame; std::regex_search(rest, frame, kFrame)) {
    std::string where = frame[3].str();
    for (const char* top : {"/labs/", "/common/", "/solutions/", "/tests/"})
      if (const auto at = where.find(top); at != std::string::npos) {
        where = where.substr(at + 1);
        break;
      }
    summary += fmt::format(" in {} at {}", frame[1].str(), where);
  }
  return summary;
}

std::string histogram_text(const Json& report) {
  if (report.contains("explore") && report["explore"].is_object()) {
    // --schedule explore: the outcomes over every schedule it ran.
    const Json& explore = report["explore"];
    std::vector<std::string> parts;
    if (explore.contains("histogram"))
      for (auto it = explore["histogram"].begin(); it != explore["histogram"].end(); ++it)
        parts.push_back(fmt::format("{} in {}", it.key(), it.value().get<std::uint64_t>()));
    return fmt::format("{} of {} schedules explored ({})", fmt::join(parts, ", "), explore.value("schedules", 0),
                       explore.value("exhausted", false) ? "exhausted" : "not exhausted");
  }
  if (!report.contains("histogram")) return fmt::format("{} (1 trial)", report.value("outcome", "?"));
  std::vector<std::string> parts;
  for (auto it = report["histogram"].begin(); it != report["histogram"].end(); ++it)
    parts.push_back(fmt::format("{} in {}", it.key(), it.value().get<int>()));
  return fmt::format("{} of {} trials", fmt::join(parts, ", "), report.value("trials", 1));
}

// The least value of a metric over the run's trials (the distribution spans them all).
std::optional<double> least(const Json& report, const std::string& metric) {
  if (report.contains("distribution") && report["distribution"].contains(metric))
    return report["distribution"][metric]["min"].get<double>();
  if (report.contains("metrics") && report["metrics"].contains(metric) && report["metrics"][metric].is_number())
    return report["metrics"][metric].get<double>();
  return std::nullopt;
}

} // namespace

Manifest load_manifest(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot be read", path));
  const Json json = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  const Reader reader(path);
  if (!json.is_object() || !json.contains("labs") || !json["labs"].is_array() || json["labs"].empty())
    reader.fail("top level", "must be valid JSON with a non-empty list \"labs\"");
  Manifest manifest;
  for (std::size_t l = 0; l < json["labs"].size(); ++l) {
    const Json& item = json["labs"][l];
    const std::string where = fmt::format("labs[{}]", l);
    if (!item.is_object()) reader.fail(where, "a lab must be an object");
    LabChecks lab;
    lab.lab = reader.text(item, "lab", where);
    lab.dir = reader.text(item, "dir", where);
    lab.reference = reader.text(item, "reference", where);
    if (!item.contains("checks") || !item["checks"].is_array() || item["checks"].empty())
      reader.fail(where, "\"checks\" must be a non-empty list");
    for (std::size_t c = 0; c < item["checks"].size(); ++c)
      lab.checks.push_back(read_check(reader, item["checks"][c], fmt::format("{}.checks[{}]", where, c)));
    manifest.labs.push_back(std::move(lab));
  }
  return manifest;
}

Verdict judge(const LabChecks& lab, const Check& check, const Setup& setup) {
  Verdict verdict;
  verdict.lab = lab.lab;
  verdict.check = check.name;
  verdict.kind = check.kind;
  verdict.max_points = check.points;
  const auto start = std::chrono::steady_clock::now();
  const auto limit = std::chrono::seconds(check.time_limit_s);
  const auto finish = [&] {
    verdict.passed = verdict.why.empty();
    verdict.points = verdict.passed ? check.points : 0;
    verdict.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return verdict;
  };

  if (const auto failed = setup.not_built.find(lab.lab); failed != setup.not_built.end()) {
    verdict.why = "did not compile: " + first_error(failed->second);
    return finish();
  }
  const auto bin_dir = setup.bin_dirs.find(check.build);
  if (bin_dir == setup.bin_dirs.end()) {
    verdict.why = fmt::format("no {} build to run", check.build);
    return finish();
  }
  const std::string binary = bin_dir->second + "/" + lab.lab;
  std::vector<std::string> env;
  if (check.build == "tsan") env.push_back("TSAN_OPTIONS=halt_on_error=0 exitcode=66 " + check.tsan_options);

  for (std::size_t r = 0; r < check.runs.size() && verdict.why.empty(); ++r) {
    const Run& run = check.runs[r];
    const std::string variant = setup.variant != "reference" ? setup.variant
                                : run.reference.empty()      ? lab.reference
                                                             : run.reference;
    const std::string where = fmt::format("run {} of {} ({})", r + 1, check.runs.size(), describe(run.args));
    const auto left =
        limit - std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    if (left <= std::chrono::milliseconds(0)) {
      verdict.why = fmt::format("time limit of {} s reached before {}", check.time_limit_s, where);
      break;
    }
    std::vector<std::string> argv{binary};
    argv.insert(argv.end(), run.args.begin(), run.args.end());
    argv.insert(argv.end(), {"--variant", variant, "--json"});
    verdict.lines.push_back(fmt::format("$ {} {}", lab.lab, fmt::join(std::vector(argv.begin() + 1, argv.end()), " ")));
    Completed done;
    try {
      done = run_command(argv, left, env);
    } catch (const std::exception& e) {
      verdict.why = fmt::format("{}: {}", where, e.what());
      break;
    }
    if (done.timed_out) {
      verdict.why = fmt::format("time limit of {} s exceeded in {}", check.time_limit_s, where);
      break;
    }
    if (const std::string race = tsan_summary(done.err); !race.empty()) {
      verdict.why = fmt::format("TSan: {} ({})", race, where);
      break;
    }
    const Json report = Json::parse(done.out, nullptr, /*allow_exceptions=*/false);
    if (!report.is_object()) {
      const std::string ended = done.signal != 0 ? fmt::format("killed by signal {}", done.signal)
                                                 : fmt::format("exit status {}", done.exit_status);
      verdict.why = fmt::format("{}: {} and no report: {}", where, ended, last_line(done.err));
      break;
    }
    verdict.lines.push_back(histogram_text(report));
    const std::string outcome = report.value("outcome", "");
    const bool explored = report.contains("explore") && report["explore"].is_object();
    if (outcome != "correct" && explored) {
      // The shortest failing schedule, and how to watch it again.
      const Json& explore = report["explore"];
      const Json failing = explore.value("shortest_failing", Json::object());
      verdict.why = fmt::format("{}: {} in schedule {} of {} explored: {} (replay: {})", where, outcome,
                                failing.value("schedule", 0), explore.value("schedules", 0),
                                report.value("summary", ""), failing.value("replay", "?"));
    } else if (outcome != "correct") {
      verdict.why = fmt::format("{}, trial {} of {}: {}: {}", where, report.value("trial", 1),
                                report.value("trials", 1), outcome, report.value("summary", ""));
    } else if (explored && !report["explore"].value("exhausted", false)) {
      // "Every interleaving" means every one: a space not run to its end proves nothing.
      verdict.why = fmt::format("{}: correct in each of the {} schedules explored, but the space within the "
                                "bound was not exhausted (--max-schedules reached, or a run left control)",
                                where, report["explore"].value("schedules", 0));
    } else if (done.exit_status != kExitCorrect) {
      verdict.why =
          fmt::format("{}: exit status {} after a correct run: {}", where, done.exit_status, last_line(done.err));
    } else if (check.kind == "parallelism") {
      const auto most = least(report, check.metric);
      if (!most)
        verdict.why = fmt::format("{}: the lab reports no {}", where, check.metric);
      else if (*most < static_cast<double>(check.at_least))
        verdict.why = fmt::format("{}: correct, but {} was {} (at least {} needed): the fix lets one worker in where "
                                  "{} could work at once",
                                  where, check.metric, *most, check.at_least, check.at_least);
    }
  }
  return finish();
}

} // namespace hazardlab::grading
