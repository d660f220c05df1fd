// Lab 02 command-line tests: the lab's own options and the combinations they cannot express.
#include "lab_run.hpp"
#include "leftovers.hpp"

#include "hazardlab/outcome.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <tuple>

namespace {

using BadInput = std::tuple<std::vector<std::string>, std::string>;

#ifdef HAZARDLAB_WITH_SOLUTIONS
constexpr const char* kWaiterOnTheBank = "--variant fixed-waiter applies only to --scenario philosophers";
#else
constexpr const char* kWaiterOnTheBank = "--variant: fixed-waiter not in {broken,exercise}"; // no solutions/
#endif

class DeadlockBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(DeadlockBadInput, ExitsTwoWithOneLineNamingTheOption) {
  const auto& [args, expected] = GetParam();
  hazardlab::testing::expect_usage_error("deadlock", args, expected);
}

INSTANTIATE_TEST_SUITE_P(
    Deadlock, DeadlockBadInput,
    ::testing::Values(BadInput{{"--scenario", "kitchen"}, "--scenario: kitchen not in {bank,philosophers}"},
                      BadInput{{"--accounts", "1"}, "--accounts: Value 1 not in range 2 to 256"},
                      BadInput{{"--accounts", "257"}, "--accounts: Value 257 not in range 2 to 256"},
                      BadInput{{"--transfers", "0"}, "--transfers: Value 0 not in range 1 to 100000000"},
                      BadInput{{"--meals", "-1"}, "--meals: Value -1 not in range 1 to 100000000"},
                      BadInput{{"--scenario", "philosophers", "--workers", "1"},
                               "--scenario philosophers needs --workers 2 to 64"},
                      BadInput{{"--variant", "fixed-waiter"}, kWaiterOnTheBank}));

TEST(DeadlockCli, ListSaysWhatAVariantNeeds) {
  const auto done = hazardlab::testing::run({hazardlab::testing::bin_path("deadlock"), "--list", "--json"});
  ASSERT_EQ(done.exit_status, 0) << done.err;
  std::map<std::string, std::vector<std::string>> needs;
  for (const auto& v : nlohmann::json::parse(done.out))
    needs[v["variant"]] = v["needs"].get<std::vector<std::string>>();
  EXPECT_TRUE(needs["broken"].empty());
#ifdef HAZARDLAB_WITH_SOLUTIONS
  EXPECT_EQ(needs["fixed-waiter"], (std::vector<std::string>{"--scenario", "philosophers"}));
#endif
}

TEST(DeadlockCli, CorrectRunSaysTransfersAndTotal) {
  const auto run = hazardlab::testing::run_lab_json("deadlock", {"--variant", "exercise", "--workers", "1"});
  EXPECT_EQ(run.process.exit_status, hazardlab::kExitCorrect) << run.process.err;
  EXPECT_EQ(run.report["summary"], "1,000 transfers done, total 10,000 conserved, at most 1 transfer at once");
  EXPECT_EQ(run.report["metrics"]["most_at_once"], 1);
  EXPECT_EQ(run.report["metrics"]["total_after"], 10'000);
}

} // namespace
