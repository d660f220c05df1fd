// make run's tour: every row of every lab, forced, and natural trials beside. Under the forced
// schedule every broken variant shows its hazard and every reference fix is correct, on any
// machine; so does every untouched exercise (in the kit with solutions/, whose exercises are the
// untouched ones the grading proofs also judge). The natural column is information only: it is
// checked for its count, never for what the OS happened to do.
#include "lab_run.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace tour_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::testing::bin_path;
using hazardlab::testing::run;
using nlohmann::json;

std::vector<std::string> labs() {
  std::vector<std::string> names;
  std::stringstream in(HAZARDLAB_TOUR_LABS);
  for (std::string lab; std::getline(in, lab, ',');)
    names.push_back(lab);
  return names;
}

// Every (lab, form, variant) that the labs' --list gives.
std::set<std::string> listed_rows() {
  std::set<std::string> rows;
  for (const auto& lab : labs()) {
    const auto listed = run({bin_path(lab), "--list", "--json"});
    for (const auto& variant : json::parse(listed.out))
      for (const auto& form : variant.at("forms"))
        rows.insert(lab + " " + form.get<std::string>() + " " + variant.at("variant").get<std::string>());
  }
  return rows;
}

class Tour : public hazardlab::testing::LeavesNothingBehind {};

TEST_F(Tour, EveryBrokenRowAndUntouchedExerciseShowsItsHazardForcedAndEveryFixIsCorrect) {
  const auto done = run({bin_path("hazardlab-tour"), "--json", "--natural-trials", "2"}, std::chrono::minutes(5));
  ASSERT_EQ(done.exit_status, 0) << done.err;
  const json tour = json::parse(done.out, nullptr, false);
  ASSERT_TRUE(tour.is_object()) << done.out;
  EXPECT_EQ(tour.at("natural_trials"), 2);
  std::set<std::string> rows;
  int broken = 0, exercises = 0, fixed = 0;
  for (const auto& row : tour.at("rows")) {
    const std::string variant = row.at("variant");
    const std::string outcome = row.at("forced").at("outcome");
    SCOPED_TRACE(row.dump());
    rows.insert(row.at("lab").get<std::string>() + " " + row.at("form").get<std::string>() + " " + variant);
    EXPECT_NE(outcome, "error");
    EXPECT_FALSE(row.at("forced").at("summary").get<std::string>().empty());
    if (variant.starts_with("broken")) {
      ++broken;
      EXPECT_NE(outcome, "correct");
    } else if (variant.starts_with("fixed")) {
      ++fixed;
      EXPECT_EQ(outcome, "correct");
    } else if (variant == "exercise") {
      ++exercises;
#ifdef HAZARDLAB_WITH_SOLUTIONS
      EXPECT_NE(outcome, "correct") << "the untouched exercise must show its lab's hazard";
#endif
    }
    // Every natural trial is counted, and `same` counts those with the forced outcome.
    const json& natural = row.at("natural");
    EXPECT_EQ(natural.at("trials"), 2);
    int counted = 0;
    for (const auto& [outcome_seen, count] : natural.at("outcomes").items())
      counted += count.get<int>();
    EXPECT_EQ(counted, 2);
    EXPECT_EQ(natural.at("same"), natural.at("outcomes").value(outcome, 0));
  }
  EXPECT_EQ(rows, listed_rows()); // every variant in every form it applies to, once
  EXPECT_GT(broken, 0);
  EXPECT_EQ(exercises, 2 * static_cast<int>(labs().size())); // both forms of every lab
#ifdef HAZARDLAB_WITH_SOLUTIONS
  EXPECT_GT(fixed, 0);
#endif
}

TEST_F(Tour, TheTableExplainsForcedAndNaturalAndItsColumnsLineUp) {
  const auto done = run({bin_path("hazardlab-tour"), "--labs", "deadlock,prodcons", "--natural-trials", "1"},
                        std::chrono::minutes(2));
  ASSERT_EQ(done.exit_status, 0) << done.err;
  EXPECT_NE(done.out.find("  forced   a scheduler in the kit decides who runs"), std::string::npos) << done.out;
  EXPECT_NE(done.out.find("  natural  the OS decides: how many of 1 natural trials"), std::string::npos) << done.out;
  EXPECT_NE(done.out.find("make run LAB=race ARGS='--form thread --variant broken --schedule forced'"),
            std::string::npos);
  // The natural column starts at the same place in the header and in every row, the longest
  // variant name (with the option it needs) included.
  std::stringstream lines(done.out);
  std::string::size_type column = std::string::npos;
  int table_rows = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("lab ")) column = line.find("natural");
    if (!line.starts_with("deadlock ") && !line.starts_with("prodcons ")) continue;
    ++table_rows;
    ASSERT_NE(column, std::string::npos) << done.out;
    EXPECT_EQ(line.find(" of 1 "), column + 1) << line; // "1 of 1" or "0 of 1", right after the column's start
  }
  EXPECT_GT(table_rows, 10);
}

TEST(TourBadInput, OptionsOfTheOtherModeAreRefusedInOneLine) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"--schedule", "natural"},
                                                                {"--runs", "2", "--natural-trials", "3"},
                                                                {"--runs", "2", "--json"},
                                                                {"--labs", "nope"},
                                                                {"--natural-trials", "-1"}}) {
    std::vector<std::string> argv{bin_path("hazardlab-tour")};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto done = run(argv);
    EXPECT_EQ(done.exit_status, 2) << args.front() << ": " << done.err;
    EXPECT_EQ(std::count(done.err.begin(), done.err.end(), '\n'), 1) << done.err;
    EXPECT_TRUE(done.out.empty()) << done.out;
  }
}

} // namespace tour_test
