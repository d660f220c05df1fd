// The timeline: run_workers records each worker's track in both forms when asked (and only then);
// the traced locks mark their waits and holds, a lab marks the rest with During; a track's
// intervals never overlap; the chart and the Chrome trace say exactly what the intervals say.
#include "form_names.hpp"
#include "leftovers.hpp"

#include "hazardlab/timeline.hpp"
#include "hazardlab/traced_lock.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;
using hazardlab::Activity;
using hazardlab::Interval;
using hazardlab::Timeline;
using hazardlab::Worker;
using hazardlab::WorkersReport;
namespace timeline = hazardlab::timeline;

// Asks for recording for the length of a test, and leaves nothing recorded behind.
class Recorded {
public:
  Recorded() {
    timeline::take_recorded();
    timeline::request(true);
  }
  ~Recorded() {
    timeline::request(false);
    timeline::take_recorded();
  }
  Recorded(const Recorded&) = delete;
  Recorded& operator=(const Recorded&) = delete;
};

template <class Form>
struct Accounts {
  hazardlab::TracedLocks<Form> locks{"account", 4};
};

template <class Form>
class TimelineTest : public hazardlab::testing::LeavesNothingBehind {};
TYPED_TEST_SUITE(TimelineTest, hazardlab::testing::BothForms, hazardlab::testing::FormName);

void expect_well_formed(const Timeline& recorded, int workers) {
  ASSERT_EQ(std::ssize(recorded.tracks), workers);
  EXPECT_GT(recorded.span_ms, 0);
  EXPECT_EQ(recorded.dropped, 0u);
  for (int w = 0; w < workers; ++w) {
    SCOPED_TRACE("worker " + std::to_string(w));
    const auto& track = recorded.tracks[w];
    ASSERT_FALSE(track.empty());
    EXPECT_EQ(track.front().activity, Activity::running); // from the start barrier
    for (std::size_t i = 0; i < track.size(); ++i) {
      EXPECT_LE(track[i].start_ms, track[i].end_ms) << i;
      EXPECT_LE(track[i].end_ms, recorded.span_ms) << i;
      if (i > 0) {
        EXPECT_LE(track[i - 1].end_ms, track[i].start_ms) << i; // never overlapping
      }
    }
  }
}

TYPED_TEST(TimelineTest, NothingIsRecordedUnlessAsked) {
  timeline::request(false);
  timeline::take_recorded();
  const auto report = hazardlab::run_workers<TypeParam>(2, 30s, [](Worker&) {
    const timeline::During sleeping(Activity::sleeping, "io");
    timeline::enter(Activity::waiting, "x");
  });
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  EXPECT_FALSE(timeline::take_recorded().has_value());
}

TYPED_TEST(TimelineTest, TracksTheLocksAndTheSleepsOfEveryWorker) {
  const Recorded recorded;
  auto accounts = hazardlab::place<TypeParam, Accounts<TypeParam>>();
  constexpr int kWorkers = 3;
  const auto report = hazardlab::run_workers<TypeParam>(kWorkers, 30s, [a = accounts.get()](Worker& worker) {
    {
      const timeline::During sleeping(Activity::sleeping, "io");
      std::this_thread::sleep_for(20ms);
    }
    auto first = a->locks[worker.id()];
    auto second = a->locks[3];
    std::scoped_lock both(first, second);
  });
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  const auto taken = timeline::take_recorded();
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->form, hazardlab::testing::form_option<TypeParam>());
  expect_well_formed(*taken, kWorkers);
  for (int w = 0; w < kWorkers; ++w) {
    SCOPED_TRACE("worker " + std::to_string(w));
    const auto& track = taken->tracks[w];
    const auto sleep = std::ranges::find(track, Activity::sleeping, &Interval::activity);
    ASSERT_NE(sleep, track.end());
    EXPECT_EQ(sleep->what, "io");
    EXPECT_GE(sleep->end_ms - sleep->start_ms, 20.0);         // the marks bracket the whole sleep
    EXPECT_EQ(std::next(sleep)->activity, Activity::running); // During puts back what was before
    // Both of the worker's accounts were held (std::scoped_lock takes them in its own order).
    for (const std::string& held : {"account " + std::to_string(w), std::string("account 3")})
      EXPECT_TRUE(std::ranges::any_of(track, [&](const Interval& i) {
        return i.activity == Activity::holding && i.what == held;
      })) << held;
    EXPECT_EQ(track.back().activity, Activity::running); // after the last unlock
  }
  EXPECT_FALSE(timeline::take_recorded().has_value()); // taken out once
}

TYPED_TEST(TimelineTest, OnlyTheFirstRunIsKept) {
  const Recorded recorded;
  for (const int workers : {2, 3}) {
    const auto report = hazardlab::run_workers<TypeParam>(workers, 30s, [](Worker&) {});
    ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  }
  const auto taken = timeline::take_recorded();
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->tracks.size(), 2u);
}

TYPED_TEST(TimelineTest, AStuckRunShowsEachWorkerWaitingToTheEnd) {
  // The forced ring of two: each holds its first account and waits for the other's, and the run is
  // stuck at once. The process form kills the children, whose tracks outlive them in the shared
  // mapping; the thread form's workers leave without marking what they let go on the way out.
  const Recorded recorded;
  auto accounts = hazardlab::place<TypeParam, Accounts<TypeParam>>();
  hazardlab::RunOptions options(hazardlab::Schedule::forced);
  options.script = hazardlab::scripts::lockstep(1);
  const auto report = hazardlab::run_workers<TypeParam>(
      2, 30s,
      [a = accounts.get()](Worker& worker) {
        auto first = a->locks[worker.id()];
        auto second = a->locks[1 - worker.id()];
        std::scoped_lock hold_first(first);
        worker.hazard_point();
        std::scoped_lock hold_second(second);
      },
      options);
  ASSERT_EQ(report.ending, WorkersReport::Ending::frozen) << report.what;
  const auto taken = timeline::take_recorded();
  ASSERT_TRUE(taken.has_value());
  expect_well_formed(*taken, 2);
  for (int w = 0; w < 2; ++w) {
    const Interval& last = taken->tracks[w].back();
    EXPECT_EQ(last.activity, Activity::waiting) << w;
    EXPECT_EQ(last.what, "account " + std::to_string(1 - w)) << w;
  }
}

// A timeline made by hand, so that the chart and the trace can be checked exactly.
Timeline two_workers() {
  Timeline t;
  t.form = "thread";
  t.span_ms = 8;
  t.tracks = {
      {{0, 2, Activity::running, ""}, {2, 4, Activity::waiting, "the GIL"}, {4, 8, Activity::holding, "the GIL"}},
      {{0, 4, Activity::holding, "the GIL"}, {4, 6, Activity::sleeping, "io"}}};
  return t;
}

TEST(TimelineChart, OneRowPerWorkerAndEachColumnItsMainActivity) {
  EXPECT_EQ(timeline::ascii_chart(two_workers(), 8), "thread 0 |██░░▓▓▓▓|\n"
                                                     "thread 1 |▓▓▓▓··  |\n"
                                                     "          0 ms 8.0 ms\n"
                                                     "          █ running  ▓ holding a lock  ░ waiting  · sleeping\n");
}

TEST(TimelineTrace, ChromeTraceEventsOneTrackPerWorker) {
  const auto trace = timeline::chrome_trace(two_workers(), "threads-vs-processes");
  const auto& events = trace.at("traceEvents");
  int tracks = 0;
  int complete = 0;
  for (const auto& event : events) {
    if (event.at("ph") == "M" && event.at("name") == "thread_name") {
      EXPECT_EQ(event.at("args").at("name"), "thread " + std::to_string(tracks));
      EXPECT_EQ(event.at("tid"), tracks);
      ++tracks;
    }
    if (event.at("ph") == "X") ++complete;
  }
  EXPECT_EQ(tracks, 2);
  EXPECT_EQ(complete, 5);
  const auto waiting = std::ranges::find_if(events, [](const auto& e) { return e.value("cat", "") == "waiting"; });
  ASSERT_NE(waiting, events.end());
  EXPECT_EQ(waiting->at("name"), "waiting the GIL");
  EXPECT_DOUBLE_EQ(waiting->at("ts").template get<double>(), 2000.0); // microseconds
  EXPECT_DOUBLE_EQ(waiting->at("dur").template get<double>(), 2000.0);
  EXPECT_EQ(waiting->at("tid"), 0);
  // It survives a round trip through text, as a file would.
  EXPECT_EQ(nlohmann::json::parse(trace.dump()).at("traceEvents").size(), events.size());
}

} // namespace
