// The timeline: run_workers records each worker's track in both forms when asked (and only then);
// the traced locks mark their waits and holds, a lab marks the rest with During; a track's
// intervals never overlap; the chart and the Chrome trace say exactly what the intervals say.
#include "form_names.hpp"
#include "leftovers.hpp"

#include "hazardlab/timeline.hpp"
#include "hazardlab/traced_lock.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace timeline_test { // named, not anonymous: its binary's test files are one translation unit

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
  EXPECT_FALSE(recorded.unrecorded);
  for (int w = 0; w < workers; ++w) {
    SCOPED_TRACE("worker " + std::to_string(w));
    const auto& track = recorded.tracks[w];
    ASSERT_FALSE(track.empty());
    // From the start barrier (a long run's first stretch is merged: running is in it).
    EXPECT_TRUE(track.front().activity == Activity::running || track.front().mixed());
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

// ---- a full track: compressed, never wrong -----------------------------------------------------

constexpr std::size_t index_of(Activity a) { return static_cast<std::size_t>(a); }

// Each activity's time in the intervals (a merged one counts each activity its share), in ms.
std::array<double, hazardlab::kActivities> time_in(const std::vector<Interval>& intervals) {
  std::array<double, hazardlab::kActivities> total{};
  for (const Interval& i : intervals) {
    if (!i.mixed()) {
      total[index_of(i.activity)] += i.end_ms - i.start_ms;
      continue;
    }
    for (std::size_t a = 0; a < hazardlab::kRecordedActivities; ++a)
      total[a] += i.mix_ms[a];
  }
  return total;
}

bool says(const Interval& i, Activity a) {
  return i.activity == a || (a != Activity::unrecorded && i.mixed() && i.mix_ms[index_of(a)] > 0);
}

// Intervals that follow each other with no gap and no overlap, from `from` to `to` (ms).
void expect_contiguous(const std::vector<Interval>& intervals, double from, double to) {
  ASSERT_FALSE(intervals.empty());
  EXPECT_DOUBLE_EQ(intervals.front().start_ms, from);
  EXPECT_DOUBLE_EQ(intervals.back().end_ms, to);
  for (std::size_t i = 1; i < intervals.size(); ++i)
    ASSERT_DOUBLE_EQ(intervals[i - 1].end_ms, intervals[i].start_ms) << i;
}

TEST(TimelineCompression, ATrackWithinItsRoomKeepsEveryMarkExactly) {
  timeline::TrackRecord track;
  track.mark(0, Activity::running);
  track.mark(1'000'000, Activity::waiting, "account 1");
  track.mark(3'000'000, Activity::holding, "account 1");
  track.mark(3'000'000, Activity::holding, "account 1"); // nothing changed: no mark
  track.mark(4'000'000, Activity::running);
  EXPECT_EQ(track.stored(), 4u);
  EXPECT_EQ(track.most_merged(), 1u);
  const auto intervals = track.intervals(5'000'000);
  ASSERT_EQ(intervals.size(), 4u);
  EXPECT_EQ(intervals[1].activity, Activity::waiting);
  EXPECT_EQ(intervals[1].what, "account 1");
  EXPECT_DOUBLE_EQ(intervals[1].end_ms - intervals[1].start_ms, 2.0);
  for (const Interval& i : intervals)
    EXPECT_FALSE(i.mixed());
  expect_contiguous(intervals, 0, 5);
}

// 200,000 marks, 25 times the room of a track, in three phases: a worker alternating between
// running and the window (the race), then between waiting and holding (a contended lock), then
// running to the end. The track merges neighbours: it still covers the whole run, in order, with
// each activity's time exact, and shows nothing that was not recorded.
TEST(TimelineCompression, AFullTrackKeepsTheOrderAndEveryActivitysTime) {
  timeline::TrackRecord track;
  std::array<std::int64_t, hazardlab::kActivities> expected_ns{};
  std::int64_t at = 0;
  const auto mark = [&](Activity a, std::int64_t lasts_ns, std::string_view what = {}) {
    track.mark(at, a, what);
    expected_ns[index_of(a)] += lasts_ns;
    at += lasts_ns;
  };
  constexpr int kPairs = 50'000;
  for (int i = 0; i < kPairs; ++i) {
    mark(Activity::running, 7 + i % 5);
    mark(Activity::window, 3 + i % 3, "between read and write");
  }
  const std::int64_t second_phase = at;
  for (int i = 0; i < kPairs; ++i) {
    mark(Activity::waiting, 11, "the lock");
    mark(Activity::holding, 2 + i % 7, "the lock");
  }
  const std::int64_t third_phase = at;
  mark(Activity::running, 5'000'000);
  const std::int64_t end = at;

  EXPECT_LE(track.stored(), hazardlab::kMarksPerTrack);
  EXPECT_GT(track.most_merged(), 1u);
  const auto intervals = track.intervals(end);
  EXPECT_LE(intervals.size(), hazardlab::kMarksPerTrack);
  expect_contiguous(intervals, 0, static_cast<double>(end) / 1e6);
  const auto total = time_in(intervals);
  for (std::size_t a = 0; a < hazardlab::kActivities; ++a)
    EXPECT_NEAR(total[a], static_cast<double>(expected_ns[a]) / 1e6, 1e-9) << a;
  EXPECT_EQ(total[index_of(Activity::sleeping)], 0.0); // never recorded, never shown
  EXPECT_EQ(total[index_of(Activity::unrecorded)], 0.0);
  // The order: what lies wholly within a phase says only that phase's activities.
  const double two = static_cast<double>(second_phase) / 1e6;
  const double three = static_cast<double>(third_phase) / 1e6;
  int first = 0;
  int second = 0;
  for (const Interval& i : intervals) {
    EXPECT_FALSE(says(i, Activity::sleeping));
    EXPECT_FALSE(says(i, Activity::unrecorded));
    if (i.end_ms <= two) {
      ++first;
      EXPECT_FALSE(says(i, Activity::waiting) || says(i, Activity::holding)) << i.start_ms;
      EXPECT_TRUE(says(i, Activity::window)) << i.start_ms; // every merged stretch has its windows
    } else if (i.start_ms >= two && i.end_ms <= three) {
      EXPECT_FALSE(says(i, Activity::window)) << i.start_ms;
      EXPECT_TRUE(says(i, Activity::waiting) || says(i, Activity::holding)) << i.start_ms;
      if (says(i, Activity::waiting) && says(i, Activity::holding)) ++second;
      EXPECT_EQ(i.what, "the lock");
    }
  }
  EXPECT_GT(first, 1'000); // one resolution over the whole run: each phase keeps its share of the room
  EXPECT_GT(second, 1'000);
  // The last mark is the long run to the end, whole.
  EXPECT_EQ(intervals.back().activity, Activity::running);
  EXPECT_FALSE(intervals.back().mixed());
  EXPECT_DOUBLE_EQ(intervals.back().start_ms, three);
}

TEST(TimelineCompression, MemoryIsBoundedWhateverIsRecorded) {
  const std::size_t bytes = timeline::TrackRecord::bytes();
  EXPECT_LE(bytes, 1u << 20); // per worker, in the shared mapping
  timeline::TrackRecord track;
  for (std::int64_t i = 0; i < 1'000'000; ++i)
    track.mark(i * 10, i % 2 == 0 ? Activity::running : Activity::waiting, "x");
  EXPECT_LE(track.stored(), hazardlab::kMarksPerTrack);
  EXPECT_GE(track.most_merged(), 1'000'000u / hazardlab::kMarksPerTrack);
  EXPECT_EQ(timeline::TrackRecord::bytes(), bytes);
}

// The process form's watchdog may kill a worker while it merges its full track. The parent reads
// the merged marks and the ones not merged yet, seamlessly; only a kill inside the very first merge
// loses a stretch (the first two marks may be torn), which is "not recorded", never running.
TEST(TimelineCompression, AWorkerKilledWhileMergingShowsWhatWasLostAsNotRecorded) {
  const auto fill = [](timeline::TrackRecord& track) {
    for (std::uint32_t i = 0; i < hazardlab::kMarksPerTrack; ++i)
      track.mark(static_cast<std::int64_t>(i) * 1'000'000, i % 2 == 0 ? Activity::running : Activity::holding, "x");
  };
  const double end_ms = hazardlab::kMarksPerTrack;
  {
    timeline::TrackRecord track;
    fill(track);
    track.interrupt_merging(0);
    const auto intervals = track.intervals(static_cast<std::int64_t>(end_ms * 1e6));
    expect_contiguous(intervals, 0, end_ms);
    EXPECT_EQ(intervals.front().activity, Activity::unrecorded);
    EXPECT_DOUBLE_EQ(intervals.front().end_ms, 2.0); // until the first mark it is sure of
    EXPECT_EQ(intervals[1].activity, Activity::running);
    EXPECT_EQ(intervals.size(), hazardlab::kMarksPerTrack - 1);
    EXPECT_DOUBLE_EQ(time_in(intervals)[index_of(Activity::unrecorded)], 2.0);
    Timeline t;
    t.form = "process";
    t.span_ms = end_ms;
    t.tracks = {intervals};
    t.unrecorded = true;
    EXPECT_NE(timeline::ascii_chart(t, 8).find("? not recorded"), std::string::npos);
  }
  {
    timeline::TrackRecord track;
    fill(track);
    track.interrupt_merging(100);
    const auto intervals = track.intervals(static_cast<std::int64_t>(end_ms * 1e6));
    expect_contiguous(intervals, 0, end_ms);
    EXPECT_EQ(intervals.size(), hazardlab::kMarksPerTrack - 100);
    const auto total = time_in(intervals);
    EXPECT_DOUBLE_EQ(total[index_of(Activity::unrecorded)], 0.0);
    EXPECT_NEAR(total[index_of(Activity::running)], end_ms / 2, 1e-9);
    EXPECT_NEAR(total[index_of(Activity::holding)], end_ms / 2, 1e-9);
    EXPECT_TRUE(intervals[99].mixed());
    EXPECT_FALSE(intervals[100].mixed());
  }
}

// A run long enough to fill every track, in both forms: each worker's windows and its running are
// all there, merged, and nothing is "not recorded".
TYPED_TEST(TimelineTest, ALongRunIsMergedNotCutShort) {
  const Recorded recorded;
  hazardlab::RunOptions options;
  options.timeline_window = "between read and write";
  constexpr int kWorkers = 2;
  const auto report = hazardlab::run_workers<TypeParam>(
      kWorkers, 60s,
      [](Worker& worker) {
        for (int i = 0; i < 40'000; ++i) {
          worker.hazard_point("read counter", i);
          worker.progressed();
        }
      },
      options);
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  const auto taken = timeline::take_recorded();
  ASSERT_TRUE(taken.has_value());
  expect_well_formed(*taken, kWorkers);
  EXPECT_GT(taken->most_merged, 1u);
  EXPECT_EQ(taken->window, "between read and write");
  for (const auto& track : taken->tracks) {
    EXPECT_LE(track.size(), hazardlab::kMarksPerTrack);
    const auto total = time_in(track);
    EXPECT_GT(total[index_of(Activity::window)], 0.0);
    EXPECT_GT(total[index_of(Activity::running)], 0.0);
    EXPECT_EQ(total[index_of(Activity::unrecorded)], 0.0);
    EXPECT_TRUE(std::ranges::any_of(track, &Interval::mixed));
    for (std::size_t i = 1; i < track.size(); ++i)
      EXPECT_DOUBLE_EQ(track[i - 1].end_ms, track[i].start_ms) << i;
  }
}

// Without a window asked for, hazard points mark nothing (the deadlock's sit inside a held lock).
TYPED_TEST(TimelineTest, HazardPointsMarkNothingUnlessTheLabNamesAWindow) {
  const Recorded recorded;
  const auto report = hazardlab::run_workers<TypeParam>(1, 30s, [](Worker& worker) {
    worker.hazard_point("read counter", 1);
    worker.progressed();
  });
  ASSERT_EQ(report.ending, WorkersReport::Ending::finished) << report.what;
  const auto taken = timeline::take_recorded();
  ASSERT_TRUE(taken.has_value());
  ASSERT_EQ(taken->tracks.at(0).size(), 1u);
  EXPECT_EQ(taken->tracks[0][0].activity, Activity::running);
}

// Rows named by role, a merged stretch counted by shares, the window and what was not recorded.
TEST(TimelineChart, RowsByRoleWindowsMergedStretchesAndWhatWasNotRecorded) {
  Timeline t;
  t.form = "process";
  t.names = {"producer 0", "consumer 0"};
  t.window = "between read and write";
  t.span_ms = 4;
  Interval merged{1, 3, Activity::window, "between read and write", {}};
  merged.mix_ms[index_of(Activity::running)] = 0.5;
  merged.mix_ms[index_of(Activity::window)] = 1.5;
  t.tracks = {{{0, 1, Activity::unrecorded, ""}, merged, {3, 4, Activity::running, ""}},
              {{0, 2, Activity::waiting, "a full slot"}, {2, 4, Activity::holding, "buffer"}}};
  t.unrecorded = true;
  // The merged stretch is 3/4 window: both its columns say so.
  EXPECT_EQ(timeline::ascii_chart(t, 4), "producer 0 |?▚▚█|\n"
                                         "consumer 0 |░░▓▓|\n"
                                         "            0 ms 4.0 ms\n"
                                         "            █ running  ▓ holding a lock  ░ waiting  · sleeping  ▚ between "
                                         "read and write  ? not recorded\n");
  const auto trace = timeline::chrome_trace(t, "prodcons");
  std::vector<std::string> names;
  bool not_recorded = false;
  bool mix = false;
  for (const auto& event : trace.at("traceEvents")) {
    if (event.at("name") == "thread_name") names.push_back(event.at("args").at("name"));
    if (event.value("cat", "") == "not recorded") not_recorded = true;
    if (event.value("name", "") == "mostly window between read and write") {
      mix = true;
      EXPECT_DOUBLE_EQ(event.at("args").at("mix_us").at("running").get<double>(), 500.0);
      EXPECT_DOUBLE_EQ(event.at("args").at("mix_us").at("window").get<double>(), 1500.0);
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>{"producer 0", "consumer 0"}));
  EXPECT_TRUE(not_recorded);
  EXPECT_TRUE(mix);
  EXPECT_EQ(trace.at("otherData").at("not_recorded"), true);
}

} // namespace timeline_test
