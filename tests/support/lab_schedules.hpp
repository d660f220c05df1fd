#pragma once
// The rows the every-lab schedule tests run (tests/schedule/), kept by each lab in
// tests/<lab>/schedules.json so that a new lab adds its own rows in its own folder:
//   "forced": [{"variant": "broken", "args": ["--scenario", "greedy"], "outcome": "hazard:starvation"}, ...]
//   "replay": [{"variant": "broken", "args": ["--items", "2000"]}, ...]
// `fix: true` marks a reference fix (run only when solutions/ is built); `forms` limits a row to
// some forms. The labs are the build's (HAZARDLAB_LABS, comma-separated), those with such a file.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace hazardlab::testing {

struct LabRow {
  std::string lab;
  std::string variant;
  std::vector<std::string> args; // beyond --variant, --form and --schedule
  std::string outcome;           // forced rows: the outcome of every trial
  bool fix = false;              // a reference fix (absent without solutions/)
  std::vector<std::string> forms{"thread", "process"};
};

// The rows of `kind` ("forced" or "replay") of every lab of the build.
inline std::vector<LabRow> lab_rows(const std::string& kind) {
  std::vector<LabRow> rows;
  std::stringstream labs(HAZARDLAB_LABS);
  for (std::string lab; std::getline(labs, lab, ',');) {
    const auto path = std::filesystem::path(HAZARDLAB_SOURCE_DIR) / "tests" / lab / "schedules.json";
    if (!std::filesystem::exists(path)) continue;
    std::ifstream in(path);
    const auto file = nlohmann::json::parse(in); // a malformed file fails the test binary at once
    for (const auto& r : file.at(kind)) {
      LabRow row{lab, r.at("variant"), r.value("args", std::vector<std::string>{}), r.value("outcome", ""),
                 r.value("fix", false)};
      if (r.contains("forms")) row.forms = r.at("forms").get<std::vector<std::string>>();
      rows.push_back(std::move(row));
    }
  }
  if (rows.empty()) throw std::runtime_error("no tests/<lab>/schedules.json with " + kind + " rows");
  return rows;
}

} // namespace hazardlab::testing
