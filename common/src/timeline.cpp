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
  case Activity::window:
    return "window";
  case Activity::unrecorded:
    return "not recorded";
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

bool Interval::mixed() const noexcept {
  return std::ranges::any_of(mix_ms, [](double ms) { return ms > 0; });
}

namespace timeline {

constexpr std::size_t kWhatSize = 24;
constexpr int kMostHeld = 8; // locks held at once that the track remembers by name

// An exact mark says what its worker did from `at_ns` to the next mark. A merged one (mixed) also
// says how long, within that stretch, the worker spent in each activity; `activity` and `what`
// are then those of the longest.
struct Mark {
  std::int64_t at_ns;
  std::array<std::int64_t, kRecordedActivities> spent_ns; // meaningful only when mixed
  std::uint32_t merged;                                   // marks merged into this one (1: exact)
  Activity activity;
  bool mixed;
  char what[kWhatSize];
};

// Written only by its worker; read by the parent once the worker has stopped. The worker may be
// killed at any instruction (the process form's watchdog): a mark is written before it is
// counted, and a merging says how far it got (`merging`, `merged_pairs`), so that the parent
// always reads marks that were whole.
struct Track {
  std::uint32_t marks = 0;
  std::uint32_t merging = 0;      // while merging: the marks the track had before (0: not merging)
  std::uint32_t merged_pairs = 0; // while merging: the pairs merged so far, at the front
  std::uint32_t most_merged = 1;
  std::uint32_t level = 1;   // marks a stretch takes before the next begins: doubles at each halving
  std::uint32_t folding = 0; // 1 while the last mark is being folded into the stretch before it
  std::int64_t ended_ns = 0; // 0: the worker never ended (killed, or it threw)
  int held = 0;              // locks held right now
  std::array<std::array<char, kWhatSize>, kMostHeld> held_what{};
  Activity now = Activity::running; // what the last mark says
  std::array<char, kWhatSize> now_what{};
  std::array<char, kWhatSize> window_what{}; // RunOptions::timeline_window; empty: none
  std::array<Mark, kMarksPerTrack> track;    // left untouched until written: pages are touched as marks go
};

namespace {

std::atomic<bool> g_requested{false};
std::optional<Timeline> g_recorded;
thread_local Track* t_track = nullptr;

// The order of the worker's stores to the track, as a parent reading after a kill sees them: the
// compiler must not move them across this (the process's stores all reach the pages before the
// parent reads, after the reaping).
void in_order() noexcept { std::atomic_signal_fence(std::memory_order_seq_cst); }

void copy_what(std::array<char, kWhatSize>& to, std::string_view what) noexcept {
  const std::size_t n = std::min(what.size(), kWhatSize - 1);
  if (n > 0) std::memcpy(to.data(), what.data(), n); // an empty view may hold a null pointer
  to[n] = '\0';
}

// How long mark `m`, which lasted until `end_ns`, spent in each activity.
std::array<std::int64_t, kRecordedActivities> spent_of(const Mark& m, std::int64_t end_ns) noexcept {
  if (m.mixed) return m.spent_ns;
  std::array<std::int64_t, kRecordedActivities> spent{};
  spent[static_cast<std::size_t>(m.activity)] = std::max<std::int64_t>(0, end_ns - m.at_ns);
  return spent;
}

// Two neighbouring marks, a (until b) and b (until end_ns), as one.
Mark merged(const Mark& a, const Mark& b, std::int64_t end_ns) noexcept {
  const auto in_a = spent_of(a, b.at_ns);
  const auto in_b = spent_of(b, end_ns);
  Mark m = a;
  for (std::size_t i = 0; i < kRecordedActivities; ++i)
    m.spent_ns[i] = in_a[i] + in_b[i];
  m.merged = a.merged + b.merged;
  const auto longest = static_cast<std::size_t>(std::ranges::max_element(m.spent_ns) - m.spent_ns.begin());
  m.activity = static_cast<Activity>(longest);
  // The name of the one that spent longer in that activity.
  const Mark& named = in_b[longest] > in_a[longest] ? b : a;
  std::memcpy(m.what, named.what, sizeof m.what);
  const bool one_activity = std::ranges::count_if(m.spent_ns, [](std::int64_t ns) { return ns > 0; }) <= 1;
  // Equal neighbours (one activity, one name) stay an exact mark.
  m.mixed = !one_activity || std::strcmp(a.what, b.what) != 0 || a.mixed || b.mixed;
  if (!m.mixed) m.spent_ns = {};
  return m;
}

// A full track: every two neighbouring marks become one, in place, front to back; the last mark
// (still open: its end is not known) stays as it is. Mark i is written over a mark already merged,
// never over one still to be read, so a worker killed half-way leaves the merged marks at the
// front and the rest as they were (see read_track). `pairs_limit`: for tests, to stop half-way.
void halve(Track& track, std::uint32_t pairs_limit = kMarksPerTrack) noexcept {
  const std::uint32_t n = track.marks;
  const std::uint32_t pairs = (n - 1) / 2; // among the n - 1 closed marks
  track.merged_pairs = 0;
  in_order();
  track.merging = n;
  in_order();
  for (std::uint32_t i = 0; i < pairs; ++i) {
    if (i == pairs_limit) return;
    const Mark m = merged(track.track[2 * i], track.track[2 * i + 1], track.track[2 * i + 2].at_ns);
    track.most_merged = std::max(track.most_merged, m.merged);
    track.track[i] = m;
    in_order();
    track.merged_pairs = i + 1;
    in_order();
  }
  std::uint32_t kept = pairs;
  for (std::uint32_t i = 2 * pairs; i < n; ++i) // a closed mark left without a pair, and the open one
    track.track[kept++] = track.track[i];
  in_order();
  track.marks = kept;
  track.level *= 2;
  in_order();
  track.merging = 0;
}

void write_mark(Mark& m, Activity activity, const std::array<char, kWhatSize>& text, std::int64_t at_ns) noexcept {
  m.at_ns = at_ns;
  m.spent_ns = {};
  m.merged = 1;
  m.activity = activity;
  m.mixed = false;
  std::memcpy(m.what, text.data(), sizeof m.what);
  m.what[sizeof m.what - 1] = '\0';
}

// Once a track has been halved, a closing mark joins the stretch before it until that stretch
// has `level` marks, so that the whole run keeps one resolution. The open mark's slot then takes
// the new mark.
bool fold(Track& track, Activity activity, const std::array<char, kWhatSize>& text, std::int64_t at_ns) noexcept {
  if (track.level == 1 || track.marks < 2 || track.track[track.marks - 2].merged >= track.level) return false;
  track.folding = 1;
  in_order();
  const Mark m = merged(track.track[track.marks - 2], track.track[track.marks - 1], at_ns);
  track.most_merged = std::max(track.most_merged, m.merged);
  track.track[track.marks - 2] = m; // its at_ns stays what it was
  in_order();
  write_mark(track.track[track.marks - 1], activity, text, at_ns);
  in_order();
  track.folding = 0;
  return true;
}

void mark(Track& track, Activity activity, std::string_view what, std::int64_t at_ns) noexcept {
  std::array<char, kWhatSize> text{};
  copy_what(text, what);
  if (track.marks > 0 && track.now == activity && track.now_what == text) return; // nothing changed
  track.now = activity;
  track.now_what = text;
  if (fold(track, activity, text, at_ns)) return;
  if (track.marks == kMarksPerTrack) {
    halve(track);
    if (fold(track, activity, text, at_ns)) return;
  }
  write_mark(track.track[track.marks], activity, text, at_ns);
  in_order();
  ++track.marks; // counted once whole
}

void mark(Track& track, Activity activity, std::string_view what) noexcept { mark(track, activity, what, now_ns()); }

// Back to holding the last lock still held, or to running.
void back_to_work(Track& track) noexcept {
  if (track.held > 0)
    mark(track, Activity::holding, track.held_what[std::min(track.held, kMostHeld) - 1].data());
  else
    mark(track, Activity::running, {});
}

// What the parent reads of a stopped worker's track, from `origin_ns` (in ms from there): each mark
// until the next, the last one until the worker ended (or `end_ns`, when it never did). A worker
// killed while halving left the merged marks at the front and the unmerged ones after them; only
// a kill inside the very first merge loses a stretch, from the start to the first mark it kept,
// and a kill while folding loses the last stretch: that is "not recorded".
std::vector<Interval> read_track(const Track& track, std::int64_t origin_ns, std::int64_t end_ns) {
  const auto ms = [origin_ns](std::int64_t ns) { return std::max(0.0, static_cast<double>(ns - origin_ns) / 1e6); };
  const std::int64_t last_end = track.ended_ns != 0 ? track.ended_ns : end_ns;
  std::vector<std::uint32_t> order;       // the marks to read, in time order
  std::optional<std::int64_t> lost_until; // a stretch lost at the start, until this mark's time
  std::optional<std::int64_t> lost_from;  // a stretch lost at the end, from this mark's time
  if (track.merging != 0) {
    const std::uint32_t done = track.merged_pairs;
    for (std::uint32_t i = 0; i < done; ++i)
      order.push_back(i);
    // The mark being written may be the first one (0): then marks 0 and 1 are both in doubt.
    const std::uint32_t from = done == 0 ? 2 : 2 * done;
    if (done == 0 && from < track.merging) lost_until = track.track[from].at_ns;
    for (std::uint32_t i = from; i < track.merging; ++i)
      order.push_back(i);
  } else {
    std::uint32_t whole = track.marks;
    if (track.folding != 0 && track.marks >= 2) {
      // The last stretch and the open mark are in doubt; the stretch's start is not (rewritten as it was).
      whole = track.marks - 2;
      lost_from = track.track[whole].at_ns;
    }
    for (std::uint32_t i = 0; i < whole; ++i)
      order.push_back(i);
  }
  std::vector<Interval> intervals;
  if (lost_until) intervals.push_back({ms(track.track[0].at_ns), ms(*lost_until), Activity::unrecorded, "", {}});
  for (std::size_t k = 0; k < order.size(); ++k) {
    const Mark& m = track.track[order[k]];
    const std::int64_t end = k + 1 < order.size() ? track.track[order[k + 1]].at_ns : lost_from.value_or(last_end);
    Interval interval{ms(m.at_ns), ms(end), m.activity, m.what, {}};
    if (m.mixed)
      for (std::size_t i = 0; i < kRecordedActivities; ++i)
        interval.mix_ms[i] = static_cast<double>(m.spent_ns[i]) / 1e6;
    intervals.push_back(std::move(interval));
  }
  if (lost_from) intervals.push_back({ms(*lost_from), ms(last_end), Activity::unrecorded, "", {}});
  return intervals;
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

void at_hazard_point() noexcept {
  if (t_track && t_track->window_what[0] != '\0') mark(*t_track, Activity::window, t_track->window_what.data());
}

void at_progress() noexcept {
  if (t_track && t_track->now == Activity::window) back_to_work(*t_track);
}

Recording::Recording(int workers, bool on, std::string_view window) : workers_(workers) {
  if (!on || workers <= 0) return;
  // One anonymous shared mapping, made before any fork: the children write into the same pages
  // the parent reads, and nothing is named, so nothing can be left in /dev/shm. The pages are
  // touched only as far as the marks go.
  bytes_ = sizeof(Track) * static_cast<std::size_t>(workers);
  void* memory = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) throw std::runtime_error("timeline: cannot map the workers' tracks");
  tracks_ = static_cast<Track*>(memory);
  for (int w = 0; w < workers; ++w) {
    new (&tracks_[w]) Track;
    copy_what(tracks_[w].window_what, window);
  }
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
  Timeline timeline;
  timeline.form = form;
  timeline.window = tracks_[0].window_what.data();
  timeline.span_ms = std::max(0.0, static_cast<double>(ended_ns - released_ns) / 1e6);
  for (int w = 0; w < workers_; ++w) {
    const Track& track = tracks_[w];
    timeline.tracks.push_back(read_track(track, released_ns, ended_ns));
    timeline.most_merged = std::max(timeline.most_merged, track.most_merged);
    if (std::ranges::any_of(timeline.tracks.back(),
                            [](const Interval& i) { return i.activity == Activity::unrecorded; }))
      timeline.unrecorded = true;
  }
  g_recorded = std::move(timeline);
}

TrackRecord::TrackRecord() : track_(new Track) {}
TrackRecord::~TrackRecord() { delete track_; }
void TrackRecord::mark(std::int64_t at_ns, Activity activity, std::string_view what) noexcept {
  timeline::mark(*track_, activity, what, at_ns);
}
void TrackRecord::interrupt_merging(std::uint32_t pairs) noexcept { halve(*track_, pairs); }
std::vector<Interval> TrackRecord::intervals(std::int64_t ended_ns) const { return read_track(*track_, 0, ended_ns); }
std::uint32_t TrackRecord::stored() const noexcept { return track_->merging != 0 ? track_->merging : track_->marks; }
std::uint32_t TrackRecord::most_merged() const noexcept { return track_->most_merged; }
std::size_t TrackRecord::bytes() noexcept { return sizeof(Track); }

std::optional<Timeline> take_recorded() {
  std::optional<Timeline> taken = std::move(g_recorded);
  g_recorded.reset();
  return taken;
}

namespace {

std::string row_name(const Timeline& timeline, std::size_t w) {
  return w < timeline.names.size() ? timeline.names[w] : fmt::format("{} {}", timeline.form, w);
}

} // namespace

std::string ascii_chart(const Timeline& timeline, int width) {
  static constexpr std::array<std::string_view, kActivities> kGlyph{"█", "░", "▓", "·", "▚", "?"}; // by Activity
  const double span = timeline.span_ms > 0 ? timeline.span_ms : 1.0;
  std::size_t label_width = 0;
  std::vector<std::string> labels;
  for (std::size_t w = 0; w < timeline.tracks.size(); ++w) {
    labels.push_back(row_name(timeline, w));
    label_width = std::max(label_width, labels.back().size());
  }
  std::array<bool, kActivities> shown{};
  std::string out;
  for (std::size_t w = 0; w < timeline.tracks.size(); ++w) {
    // Padded by characters, not bytes: a name is plain text.
    out += fmt::format("{:<{}} |", labels[w], label_width);
    for (int column = 0; column < width; ++column) {
      const double from = span * column / width;
      const double to = span * (column + 1) / width;
      std::array<double, kActivities> time_in{}; // per Activity, within this column
      for (const Interval& interval : timeline.tracks[w]) {
        const double overlap = std::min(to, interval.end_ms) - std::max(from, interval.start_ms);
        if (overlap <= 0) continue;
        if (!interval.mixed()) {
          time_in[static_cast<std::size_t>(interval.activity)] += overlap;
          continue;
        }
        // A merged stretch: each activity its share of the overlap.
        double total = 0;
        for (const double ms : interval.mix_ms)
          total += ms;
        for (std::size_t a = 0; a < kRecordedActivities; ++a)
          time_in[a] += total > 0 ? overlap * interval.mix_ms[a] / total : 0;
      }
      const auto most = std::ranges::max_element(time_in);
      // Blank only where the worker was not there for most of the slice: before its start, after its end.
      double present = 0;
      for (const double ms : time_in)
        present += ms;
      if (present * 2 > to - from) {
        const auto activity = static_cast<std::size_t>(most - time_in.begin());
        shown[activity] = true;
        out += kGlyph[activity];
      } else {
        out += " ";
      }
    }
    out += "|\n";
  }
  // The scale under the bars: 0 at the first column, the span ending under the last.
  const std::string end = fmt::format("{:.1f} ms", span);
  out += fmt::format("{:<{}}  0 ms{:>{}}\n", "", label_width, end, std::max<std::size_t>(width - 4, end.size() + 1));
  std::string legend = "█ running  ▓ holding a lock  ░ waiting  · sleeping";
  if (shown[static_cast<std::size_t>(Activity::window)]) {
    legend += "  ▚ " + (timeline.window.empty() ? std::string("inside the window") : timeline.window);
  }
  if (shown[static_cast<std::size_t>(Activity::unrecorded)] || timeline.unrecorded) legend += "  ? not recorded";
  out += fmt::format("{:<{}}  {}\n", "", label_width, legend);
  if (timeline.most_merged > 1)
    out += fmt::format("{:<{}}  (a track outgrew its {} marks: up to {} neighbouring marks were merged into one, each "
                       "activity keeping its time)\n",
                       "", label_width, kMarksPerTrack, timeline.most_merged);
  return out;
}

nlohmann::ordered_json chrome_trace(const Timeline& timeline, const std::string& lab_name) {
  using Json = nlohmann::ordered_json;
  Json events = Json::array();
  events.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", 1}, {"args", {{"name", lab_name}}}});
  for (std::size_t w = 0; w < timeline.tracks.size(); ++w) {
    const int tid = static_cast<int>(w);
    events.push_back(
        {{"name", "thread_name"}, {"ph", "M"}, {"pid", 1}, {"tid", tid}, {"args", {{"name", row_name(timeline, w)}}}});
    for (const Interval& interval : timeline.tracks[w]) {
      const std::string activity(activity_name(interval.activity));
      std::string name = interval.what.empty() ? activity : fmt::format("{} {}", activity, interval.what);
      if (interval.mixed()) name = "mostly " + name;
      Json event = {{"name", name},
                    {"cat", activity},
                    {"ph", "X"},
                    {"ts", interval.start_ms * 1000.0},
                    {"dur", (interval.end_ms - interval.start_ms) * 1000.0},
                    {"pid", 1},
                    {"tid", tid}};
      Json args = Json::object();
      if (!interval.what.empty()) args["what"] = interval.what;
      if (interval.mixed()) {
        Json mix = Json::object();
        for (std::size_t a = 0; a < kRecordedActivities; ++a)
          if (interval.mix_ms[a] > 0)
            mix[std::string(activity_name(static_cast<Activity>(a)))] = interval.mix_ms[a] * 1000.0;
        args["mix_us"] = std::move(mix);
      }
      if (!args.empty()) event["args"] = std::move(args);
      events.push_back(std::move(event));
    }
  }
  return {{"traceEvents", events},
          {"displayTimeUnit", "ms"},
          {"otherData",
           {{"lab", lab_name},
            {"form", timeline.form},
            {"most_merged_marks", timeline.most_merged},
            {"not_recorded", timeline.unrecorded}}}};
}

} // namespace timeline
} // namespace hazardlab
