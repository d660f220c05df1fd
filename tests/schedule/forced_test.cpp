// --schedule forced, every lab: each broken variant (and each untouched exercise, a copy of one)
// gives its hazard or stuck verdict on every trial, and each reference fix is correct on every
// trial, in both forms (the TSan build: the thread form, with TSan watching). The trials run in
// one process, so this also checks that a stuck controlled run gives its threads back: the thread
// form goes on to the next trial. Nothing here depends on time: the deadline is far off, and no
// elapsed time is asserted (hazardlab-tour --runs N measures those).
#include "lab_run.hpp"
#include "lab_schedules.hpp"

#include "hazardlab/outcome.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace forced_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::testing::run_lab_json;

// Under TSan every trial is several times slower: fewer of them, the same verdict on each.
#if defined(__SANITIZE_THREAD__)
constexpr int kTrials = 10;
const std::vector<std::string> kForms{"thread"};
const std::vector<std::string> kTsanEnv{"TSAN_OPTIONS=halt_on_error=0 exitcode=0"};
#else
constexpr int kTrials = 50;
const std::vector<std::string> kForms{"thread", "process"};
const std::vector<std::string> kTsanEnv{};
#endif

struct Case {
  hazardlab::testing::LabRow row;
  std::string form;
};

// Each lab's rows (tests/<lab>/schedules.json), in each form the build tests and the row applies to.
// The starvation lab's rows take fewer operations than its default: its sections are CPU time, and
// under control one worker runs at a time (200 keeps a trial short without changing what happens).
std::vector<Case> cases() {
  std::vector<Case> all;
  for (const auto& row : hazardlab::testing::lab_rows("forced"))
    for (const auto& form : kForms)
      if (std::ranges::find(row.forms, form) != row.forms.end()) all.push_back({row, form});
  return all;
}

class ForcedEveryTrial : public ::testing::TestWithParam<Case> {};

TEST_P(ForcedEveryTrial, GivesItsVerdict) {
  const auto& [row, form] = GetParam();
#ifndef HAZARDLAB_WITH_SOLUTIONS
  if (row.fix) GTEST_SKIP() << "needs solutions/";
#endif
  std::vector<std::string> args{"--variant",  row.variant, "--form",   form,
                                "--schedule", "forced",    "--trials", std::to_string(kTrials),
                                "--timeout",  "60000"};
  args.insert(args.end(), row.args.begin(), row.args.end());
  const auto run = run_lab_json(row.lab, args, {}, kTsanEnv);
  ASSERT_TRUE(run.report.is_object()) << run.process.out << run.process.err;
  // Every trial ran (a stuck thread-form run no longer ends the program), and every one gave it.
  EXPECT_EQ(run.report.value("trials_run", 0), kTrials) << run.report.dump();
  const auto& histogram = run.report.at("histogram");
  EXPECT_EQ(histogram.size(), 1u) << histogram.dump();
  EXPECT_EQ(histogram.value(row.outcome, 0), kTrials) << histogram.dump() << "\n" << run.report.value("summary", "");
  EXPECT_TRUE(run.report.at("control").value("given_up", "x").empty()) << run.report.dump();
}

std::string name_of(const ::testing::TestParamInfo<Case>& info) {
  std::string name = fmt::format("{}_{}", info.param.row.lab, info.param.row.variant);
  for (std::size_t i = 0; i < info.param.row.args.size(); i += 2)
    if (info.param.row.args[i] != "--ops") name += "_" + info.param.row.args[i + 1];
  name += info.param.form == "thread" ? "_ThreadForm" : "_ProcessForm";
  for (auto& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Labs, ForcedEveryTrial, ::testing::ValuesIn(cases()), name_of);

} // namespace forced_test
