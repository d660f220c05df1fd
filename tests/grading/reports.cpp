// The three reports of a grading: the terminal table, Gradescope's results.json, JUnit XML.
#include "grading.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <numeric>

namespace hazardlab::grading {

namespace {

int scored(const std::vector<Verdict>& verdicts) {
  return std::accumulate(verdicts.begin(), verdicts.end(), 0, [](int sum, const Verdict& v) { return sum + v.points; });
}
int possible(const std::vector<Verdict>& verdicts) {
  return std::accumulate(verdicts.begin(), verdicts.end(), 0,
                         [](int sum, const Verdict& v) { return sum + v.max_points; });
}
int failures(const std::vector<Verdict>& verdicts) {
  return static_cast<int>(std::ranges::count_if(verdicts, [](const Verdict& v) { return !v.passed; }));
}

std::string totals(const std::vector<Verdict>& verdicts) {
  return fmt::format("{} of {} points; {} of {} checks passed", scored(verdicts), possible(verdicts),
                     verdicts.size() - static_cast<std::size_t>(failures(verdicts)), verdicts.size());
}

// What a grader shows the student for one check: why it failed, then what each run ended with.
std::string output_of(const Verdict& v) {
  std::string out = v.passed ? "passed" : "failed: " + v.why;
  for (const auto& line : v.lines)
    out += "\n" + line;
  return out;
}

std::string xml_escaped(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&apos;";
      break;
    default:
      // XML 1.0 allows no other control characters than tab, newline and carriage return.
      if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n' || c == '\r') out += c;
    }
  }
  return out;
}

} // namespace

std::string table(const std::vector<Verdict>& verdicts) {
  // The columns are as wide as their longest entry, so that the points line up.
  std::size_t lab_width = 3;
  std::size_t check_width = 5;
  for (const auto& v : verdicts) {
    lab_width = std::max(lab_width, v.lab.size());
    check_width = std::max(check_width, v.check.size());
  }
  std::string out =
      fmt::format("{:<{}} {:<{}} {:>7}  {}\n", "lab", lab_width, "check", check_width, "points", "result");
  std::string lab;
  for (const auto& v : verdicts) {
    out += fmt::format("{:<{}} {:<{}} {:>7}  {}\n", v.lab == lab ? "" : v.lab, lab_width, v.check, check_width,
                       fmt::format("{}/{}", v.points, v.max_points), v.passed ? "passed" : "FAILED");
    if (!v.passed) out += fmt::format("{:<{}}   why: {}\n", "", lab_width, v.why);
    lab = v.lab;
  }
  out += fmt::format("total: {}\n", totals(verdicts));
  return out;
}

std::string gradescope_json(const std::vector<Verdict>& verdicts, double seconds) {
  nlohmann::ordered_json tests = nlohmann::ordered_json::array();
  for (const auto& v : verdicts)
    tests.push_back({{"name", fmt::format("{}: {}", v.lab, v.check)},
                     {"score", v.points},
                     {"max_score", v.max_points},
                     {"status", v.passed ? "passed" : "failed"},
                     {"output", output_of(v)}});
  const nlohmann::ordered_json results = {{"score", scored(verdicts)},
                                          {"max_score", possible(verdicts)},
                                          {"execution_time", static_cast<int>(seconds + 0.5)},
                                          {"output", totals(verdicts)},
                                          {"tests", tests}};
  return results.dump(2) + "\n";
}

std::string junit_xml(const std::vector<Verdict>& verdicts, double seconds) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format("<testsuites name=\"hazardlab grading\" tests=\"{}\" failures=\"{}\" time=\"{:.3f}\">\n",
                     verdicts.size(), failures(verdicts), seconds);
  for (std::size_t first = 0; first < verdicts.size();) {
    std::size_t end = first;
    while (end < verdicts.size() && verdicts[end].lab == verdicts[first].lab)
      ++end;
    const std::vector<Verdict> lab(verdicts.begin() + static_cast<std::ptrdiff_t>(first),
                                   verdicts.begin() + static_cast<std::ptrdiff_t>(end));
    double lab_seconds = 0;
    for (const auto& v : lab)
      lab_seconds += v.seconds;
    out += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" time=\"{:.3f}\">\n",
                       xml_escaped(lab.front().lab), lab.size(), failures(lab), lab_seconds);
    for (const auto& v : lab) {
      out += fmt::format("    <testcase classname=\"hazardlab.{}\" name=\"{}\" time=\"{:.3f}\">\n", xml_escaped(v.lab),
                         xml_escaped(v.check), v.seconds);
      out += fmt::format("      <properties><property name=\"points\" value=\"{}\"/>"
                         "<property name=\"max_points\" value=\"{}\"/></properties>\n",
                         v.points, v.max_points);
      if (!v.passed)
        out += fmt::format("      <failure message=\"{}\" type=\"{}\"/>\n", xml_escaped(v.why), xml_escaped(v.kind));
      out += fmt::format("      <system-out>{}</system-out>\n", xml_escaped(output_of(v)));
      out += "    </testcase>\n";
    }
    out += "  </testsuite>\n";
    first = end;
  }
  out += "</testsuites>\n";
  return out;
}

} // namespace hazardlab::grading
