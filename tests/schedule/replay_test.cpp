// --schedule replay:CHOICES, every lab: the choices a forced run prints, made again with its seed,
// give the same run: the same outcome, the same counts (every metric but the times), the same
// choices. Choices that do not fit the run are a usage error naming the choice that does not fit,
// and bad text a usage error naming where it is bad: exit 2, one line, nothing on stdout, nothing
// left behind.
#include "lab_run.hpp"
#include "lab_schedules.hpp"

#include "hazardlab/outcome.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace replay_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::testing::run_lab_json;
using nlohmann::json;

// The metrics without the times and rates, which no schedule makes equal (keys ending in _ms or
// _per_s, at any depth).
json counts_of(const json& metrics) {
  if (metrics.is_array()) {
    json out = json::array();
    for (const auto& item : metrics)
      out.push_back(counts_of(item));
    return out;
  }
  if (!metrics.is_object()) return metrics;
  json out = json::object();
  for (auto it = metrics.begin(); it != metrics.end(); ++it)
    if (!it.key().ends_with("_ms") && !it.key().ends_with("_per_s")) out[it.key()] = counts_of(it.value());
  return out;
}

struct Case {
  std::string lab, variant, form;
  std::vector<std::string> args;
};

class Replay : public ::testing::TestWithParam<Case> {};

TEST_P(Replay, TheChoicesAForcedRunPrintedGiveTheSameRun) {
  const auto& [lab, variant, form, extra] = GetParam();
  std::vector<std::string> args{"--variant", variant, "--form", form, "--timeout", "60000"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto forced = args;
  forced.insert(forced.end(), {"--schedule", "forced"});
  const auto first = run_lab_json(lab, forced);
  ASSERT_TRUE(first.report.is_object()) << first.process.out << first.process.err;
  const std::string choices = first.report.at("choices");
  ASSERT_TRUE(first.report.at("control").at("choices_complete").get<bool>());
  // The report says how: "--seed S --schedule 'replay:CHOICES'".
  const std::string seed = std::to_string(first.report.at("seed").get<std::uint64_t>());
  EXPECT_EQ(first.report.at("replay"), fmt::format("--seed {} --schedule 'replay:{}'", seed, choices));
  for (int again = 0; again < 3; ++again) {
    auto replayed = args;
    replayed.insert(replayed.end(), {"--seed", seed, "--schedule", "replay:" + choices});
    const auto run = run_lab_json(lab, replayed);
    ASSERT_TRUE(run.report.is_object()) << run.process.out << run.process.err;
    EXPECT_EQ(run.report.at("schedule"), "replay");
    EXPECT_EQ(run.report.at("outcome"), first.report.at("outcome"));
    EXPECT_EQ(counts_of(run.report.at("metrics")), counts_of(first.report.at("metrics")));
    EXPECT_EQ(run.report.at("choices"), choices);
    EXPECT_EQ(run.process.exit_status, first.process.exit_status);
  }
}

// Each lab's replay rows (tests/<lab>/schedules.json), in both forms; the reference fixes' only
// with solutions/.
std::vector<Case> cases() {
  std::vector<Case> all;
  for (const std::string form : {"thread", "process"})
    for (const auto& row : hazardlab::testing::lab_rows("replay")) {
#ifndef HAZARDLAB_WITH_SOLUTIONS
      if (row.fix) continue;
#endif
      if (std::ranges::find(row.forms, form) != row.forms.end()) all.push_back({row.lab, row.variant, form, row.args});
    }
  return all;
}

std::string name_of(const ::testing::TestParamInfo<Case>& info) {
  std::string name = fmt::format("{}_{}", info.param.lab, info.param.variant);
  if (info.param.args.size() > 2 && info.param.args[2] == "--scenario") name += "_" + info.param.args[3];
  name += info.param.form == "thread" ? "_ThreadForm" : "_ProcessForm";
  for (auto& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Labs, Replay, ::testing::ValuesIn(cases()), name_of);

TEST(ReplayBadInput, ChoicesThatDoNotFitTheRunAreAUsageErrorNamingTheChoice) {
  const hazardlab::testing::AdoptOrphans adopt;
  for (const std::string form : {"thread", "process"}) {
    SCOPED_TRACE(form);
    // The forced ring of four (its choices are +2,1,+1,2,+1,3,+1,0,+5): every worker holds its
    // first account, then worker 0 asks for its second, held by worker 1, and blocks. The
    // replay then names worker 0 again.
    hazardlab::testing::expect_usage_error(
        "deadlock", {"--form", form, "--schedule", "replay:+2,1,+1,2,+1,3,+1,0,0,0"},
        "deadlock: error: --schedule: replay: choice 11 names worker 0, who cannot run there (workers who can: "
        "1, 2, 3)");
    EXPECT_TRUE(hazardlab::testing::children_of(::getpid()).empty());
  }
}

TEST(ReplayBadInput, BadTextIsAUsageErrorNamingWhere) {
  using hazardlab::testing::expect_usage_error;
  expect_usage_error("race", {"--schedule", "replay:0,,1"},
                     "race: error: --schedule: replay: expected a number at character 3 of '0,,1'");
  expect_usage_error("race", {"--schedule", "replay:,"}, "race: error: --schedule: replay: expected a number");
  expect_usage_error("race", {"--schedule", "replay:(0,1)"}, "expected '*' after a group");
  // The workers are known once the options are: 4 by default, so worker 4 is not one of them.
  expect_usage_error("race", {"--schedule", "replay:0,4"},
                     "race: error: --schedule: replay: worker 4 is not one of the run's workers (0 to 3)");
}

} // namespace replay_test
