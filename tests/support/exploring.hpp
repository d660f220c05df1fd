#pragma once
// What every lab's explore test does: explore a variant in process (not through the binary), check
// that a fix is correct on every schedule within the bound, and replay a failing schedule.
//
//   const auto run = [](const RunContext& c) { return lab::run<Form, lab::Fixed<Form>>(params, c); };
//   expect_all_correct_and_exhausted(explored(run, explore_context<Form>(2)));
//
// Every number these check is a count of schedules or steps, never a time.
#include "hazardlab/explore.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>

namespace hazardlab::testing {

// A run of `workers` workers in the form, as --schedule explore runs it.
template <class Form>
RunContext explore_context(int workers, std::uint64_t seed = 42) {
  RunContext context;
  context.form = Form::kind;
  context.workers = workers;
  context.seed = seed;
  // Not a timing threshold: the scheduler ends every explored run by its steps. A deadline a loaded
  // machine could reach would cut a run short, and two runs of one schedule would then differ.
  context.timeout = std::chrono::minutes(5);
  return context;
}

// The command line's defaults: within 2 preemptions, at most 10,000 schedules.
inline Exploration explored(const RunFunction& run, const RunContext& context, std::uint64_t max_schedules = 10'000) {
  return explore(run, context, ExploreOptions{2, max_schedules});
}

// Every schedule within the bound ran, and every one was correct.
inline void expect_all_correct_and_exhausted(const Exploration& e) {
  SCOPED_TRACE(nlohmann::json(e.histogram).dump());
  EXPECT_TRUE(e.exhausted);
  EXPECT_GT(e.schedules, 1u); // the workers meet at more than one place
  EXPECT_FALSE(e.found_failure);
  EXPECT_EQ(e.worst, Verdict::correct);
  EXPECT_EQ(e.histogram.size(), 1u);
  EXPECT_EQ(e.histogram.count("correct"), 1u);
  EXPECT_EQ(e.given_up, 0u);
  EXPECT_EQ(e.incomplete, 0u);
}

// The shortest failing schedule's choices, replayed 20 times, give the same run every time: the
// same outcome and summary, the same choices, the same number of steps.
inline void expect_replay_repeats(const RunFunction& run, RunContext context, const Exploration& e) {
  ASSERT_TRUE(e.found_failure);
  ASSERT_TRUE(e.reported.control.choices_complete);
  context.schedule = Schedule::replay;
  context.replay = decode_choices(e.reported.control.choices, context.workers);
  for (int i = 0; i < 20; ++i) {
    SCOPED_TRACE(i);
    const auto result = run(context);
    const auto record = take_control_record();
    EXPECT_EQ(result.outcome(), e.reported.outcome()) << result.summary;
    EXPECT_EQ(result.summary, e.reported.summary);
    EXPECT_EQ(record.choices, e.reported.control.choices);
    EXPECT_EQ(record.steps, e.reported.control.steps);
  }
}

} // namespace hazardlab::testing
