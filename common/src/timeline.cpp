#include "hazardlab/timeline.hpp"
#include "hazardlab/toolkit.hpp"

#include <fmt/format.h>

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <new>
#include <stdexcept>

namespace hazardlab {

std::string_view activity_name(Activity activity) noexcept {
  switch (activity) {
  case Activity::running:
    return "running";
  case Activity::waiting:
    return "waiting";
  case Activity::holding:
    return "holding";
  case Activity::sleeping:
    return "sleeping";
  }
  return "?";
}

namespace timeline {

// Enough for a lab's default run to be recorded whole (a lock taken and let go is two marks);
// a longer run keeps its first marks and says how many it dropped.
constexpr std::uint32_t kMarksPerTrack = 16'384;
constexpr std::size_t kWhatSize = 24;
constexpr int kMostHeld = 8; // locks held at once that the track remembers by name

struct Mark {
  std::int64_t at_ns;
  Activity activity;
  char what[kWhatSize - 1];
};

// Written only by its worker; read by the parent once the worker has stopped.
struct Track {
  std::uint32_t marks = 0;
  std::uint64_t dropped = 0;
  std::int64_t ended_ns = 0; // 0: the worker never ended (killed, or it threw)
  int held = 0;              // locks held right now
  std::array<std::array<char, kWhatSize>, kMostHeld> held_what{};
  Activity now = Activity::running; // what the last mark says (kept even when it was dropped)
  std::array<char, kWhatSize> now_what{};
  std::array<Mark, kMarksPerTrack> track;
};

namespace {

std::atomic<bool> g_requested{false};
std::optional<Timeline> g_recorded;
thread_local Track* t_track = nullptr;

void copy_what(std::array<char, kWhatSize>& to, std::string_view what) noexcept {
  const std::size_t n = std::min(what.size(), kWhatSize - 1);
  if (n > 0) std::memcpy(to.data(), what.data(), n); // an empty view may hold a null pointer
  to[n] = '\0';
}

void mark(Track& track, Activity activity, std::string_view what) noexcept {
  std::array<char, kWhatSize> text{};
  copy_what(text, what);
  if (track.marks > 0 && track.now == activity && track.now_what == text) return; // nothing changed
  track.now = activity;
  track.now_what = text;
  if (track.marks == kMarksPerTrack) {
    ++track.dropped;
    return;
  }
  Mark& m = track.track[track.marks++];
  m.at_ns = now_ns();
  m.activity = activity;
  std::memcpy(m.what, text.data(), sizeof m.what);
  m.what[sizeof m.what - 1] = '\0';
}

// Back to holding the last lock still held, or to running.
void back_to_work(Track& track) noexcept {
  if (track.held > 0)
    mark(track, Activity::holding, track.held_what[std::min(track.held, kMostHeld) - 1].data());
  else
    mark(track, Activity::running, {});
}

} // namespace

void request(bool on) noexcept { g_requested.store(on, std::memory_order_relaxed); }
bool recording() noexcept { return t_track != nullptr; }
bool requested() noexcept { return g_requested.load(std::memory_order_relaxed); }

void enter(Activity activity, std::string_view what) noexcept {
  if (t_track) mark(*t_track, activity, what);
}

During::During(Activity activity, std::string_view what) noexcept : recording_(t_track != nullptr) {
  if (!recording_) return;
  before_ = t_track->now;
  std::memcpy(before_what_, t_track->now_what.data(), sizeof before_what_);
  mark(*t_track, activity, what);
}

During::~During() {
  if (recording_ && t_track) mark(*t_track, before_, before_what_);
}

void waiting_for(std::string_view what) noexcept { enter(Activity::waiting, what); }

void got(std::string_view what) noexcept {
  if (!t_track) return;
  Track& track = *t_track;
  if (track.held < kMostHeld) copy_what(track.held_what[track.held], what);
  ++track.held;
  mark(track, Activity::holding, what);
}

void let_go() noexcept {
  if (!t_track) return;
  if (t_track->held > 0) --t_track->held;
  back_to_work(*t_track);
}

void resumed() noexcept {
  if (t_track) back_to_work(*t_track);
}

Recording::Recording(int workers, bool on) : workers_(workers) {
  if (!on || workers <= 0) return;
  // One anonymous shared mapping, made before any fork: the children write into the same pages
  // the parent reads, and nothing is named, so nothing can be left in /dev/shm. The pages are
  // touched only as far as the marks go.
  bytes_ = sizeof(Track) * static_cast<std::size_t>(workers);
  void* memory = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) throw std::runtime_error("timeline: cannot map the workers' tracks");
  tracks_ = static_cast<Track*>(memory);
  for (int w = 0; w < workers; ++w)
    new (&tracks_[w]) Track;
}

Recording::~Recording() {
  if (tracks_) ::munmap(tracks_, bytes_);
}

void Recording::worker_starts(int worker) noexcept {
  if (!tracks_) return;
  t_track = &tracks_[worker];
  mark(*t_track, Activity::running, {});
}

void Recording::worker_ends() noexcept {
  if (!t_track) return;
  t_track->ended_ns = now_ns();
  t_track = nullptr;
}

void Recording::keep(const std::string& form, std::int64_t released_ns, std::int64_t ended_ns) {
  // Only the first run recorded is kept; a run whose workers never got past the start has none.
  if (!tracks_ || g_recorded || !requested() || released_ns == 0) return;
  const auto ms = [released_ns](std::int64_t ns) { return static_cast<double>(ns - released_ns) / 1e6; };
  Timeline timeline;
  timeline.form = form;
  timeline.span_ms = std::max(0.0, ms(ended_ns));
  for (int w = 0; w < workers_; ++w) {
    const Track& track = tracks_[w];
    std::vector<Interval> intervals;
    for (std::uint32_t i = 0; i < track.marks; ++i) {
      const Mark& m = track.track[i];
      const std::int64_t end = i + 1 < track.marks   ? track.track[i + 1].at_ns
                               : track.ended_ns != 0 ? track.ended_ns
                                                     : ended_ns;
      intervals.push_back({std::max(0.0, ms(m.at_ns)), std::max(0.0, ms(end)), m.activity, m.what});
    }
    timeline.dropped += track.dropped;
    timeline.tracks.push_back(std::move(intervals));
  }
  g_recorded = std::move(timeline);
}

std::optional<Timeline> take_recorded() {
  std::optional<Timeline> taken = std::move(g_recorded);
  g_recorded.reset();
  return taken;
}

std::string ascii_chart(const Timeline& timeline, int width) {
  static constexpr std::array<std::string_view, 4> kGlyph{"█", "░", "▓", "·"}; // by Activity
  const double span = timeline.span_ms > 0 ? timeline.span_ms : 1.0;
  std::size_t label_width = 0;
  std::vector<std::string> labels;
  for (std::size_t w = 0; w < timeline.tracks.size(); ++w) {
    labels.push_back(fmt::format("{} {}", timeline.form, w));
    label_width = std::max(label_width, labels.back().size());
  }
  std::string out;
  for (std::size_t w = 0; w < timeline.tracks.size(); ++w) {
    out += fmt::format("{:<{}} |", labels[w], label_width);
    for (int column = 0; column < width; ++column) {
      const double from = span * column / width;
      const double to = span * (column + 1) / width;
      std::array<double, 4> time_in{}; // per Activity, within this column
      for (const Interval& interval : timeline.tracks[w]) {
        const double overlap = std::min(to, interval.end_ms) - std::max(from, interval.start_ms);
        if (overlap > 0) time_in[static_cast<std::size_t>(interval.activity)] += overlap;
      }
      const auto most = std::ranges::max_element(time_in);
      // Blank only where the worker was not there for most of the slice: before its start, after its end.
      const double present = time_in[0] + time_in[1] + time_in[2] + time_in[3];
      out += present * 2 > to - from ? kGlyph[static_cast<std::size_t>(most - time_in.begin())] : " ";
    }
    out += "|\n";
  }
  // The scale under the bars: 0 at the first column, the span ending under the last.
  const std::string end = fmt::format("{:.1f} ms", span);
  out += fmt::format("{:<{}}  0 ms{:>{}}\n", "", label_width, end, std::max<std::size_t>(width - 4, end.size() + 1));
  out += fmt::format("{:<{}}  █ running  ▓ holding a lock  ░ waiting  · sleeping\n", "", label_width);
  if (timeline.dropped > 0)
    out += fmt::format("{:<{}}  ({} marks dropped: each track keeps its first {})\n", "", label_width, timeline.dropped,
                       kMarksPerTrack);
  return out;
}

nlohmann::ordered_json chrome_trace(const Timeline& timeline, const std::string& lab_name) {
  using Json = nlohmann::ordered_json;
  Json events = Json::array();
  events.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", 1}, {"args", {{"name", lab_name}}}});
  for (std::size_t w = 0; w < timeline.tracks.size(); ++w) {
    const int tid = static_cast<int>(w);
    events.push_back({{"name", "thread_name"},
                      {"ph", "M"},
                      {"pid", 1},
                      {"tid", tid},
                      {"args", {{"name", fmt::format("{} {}", timeline.form, w)}}}});
    for (const Interval& interval : timeline.tracks[w]) {
      const std::string activity(activity_name(interval.activity));
      Json event = {{"name", interval.what.empty() ? activity : fmt::format("{} {}", activity, interval.what)},
                    {"cat", activity},
                    {"ph", "X"},
                    {"ts", interval.start_ms * 1000.0},
                    {"dur", (interval.end_ms - interval.start_ms) * 1000.0},
                    {"pid", 1},
                    {"tid", tid}};
      if (!interval.what.empty()) event["args"] = {{"what", interval.what}};
      events.push_back(std::move(event));
    }
  }
  return {{"traceEvents", events},
          {"displayTimeUnit", "ms"},
          {"otherData", {{"lab", lab_name}, {"form", timeline.form}, {"dropped_marks", timeline.dropped}}}};
}

} // namespace timeline
} // namespace hazardlab
