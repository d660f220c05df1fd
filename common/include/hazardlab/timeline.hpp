#pragma once
// The timeline: what each worker was doing, and when. Running, waiting for a lock or a
// semaphore, holding a lock, sleeping (a blocking wait standing in for I/O), or inside a lab's
// hazard window (between a read and its write).
//
// Recording is off unless the command line asks for it (--timeline, --trace FILE). Then
// run_workers() gives each worker a track in a shared mapping, so it works across processes too,
// and keeps the run's timeline for the command line to print or write. The traced locks and
// semaphores (traced_lock.hpp) mark their waits and holds themselves; a lab marks anything else
// with timeline::During. Outside a recorded run every mark costs one thread-local test.
//
// Each worker writes only its own track, and the parent reads the tracks only once every worker
// has stopped (joined, or reaped), so the record needs no synchronization of its own, and adds
// none that could hide a race from the tools.
//
// A track has room for a fixed number of marks (kMarksPerTrack). When it is full, neighbouring
// marks are merged in pairs: a merged mark keeps how long its worker spent in each activity
// (and the name of the longest), so the track still covers the whole run, in order, with every
// activity's total time, only more coarsely. Nothing is allocated while a worker records. What
// a track cannot say (a worker killed in the middle of merging) is "not recorded", never
// "running".
#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hazardlab {

// `window`: between a hazard point and the worker's next progress, in a lab that asks for it
// (RunOptions::timeline_window: the race's read and write). `unrecorded`: a stretch the record
// lost; only a reader of the tracks makes it.
enum class Activity : std::uint8_t { running, waiting, holding, sleeping, window, unrecorded };
inline constexpr std::size_t kActivities = 6;
inline constexpr std::size_t kRecordedActivities = 5; // all but unrecorded
std::string_view activity_name(Activity activity) noexcept;

// One stretch of one worker's time, from the start of the run (the start barrier's release).
struct Interval {
  double start_ms = 0;
  double end_ms = 0;
  Activity activity = Activity::running;
  std::string what; // the lock or semaphore waited for or held ("account 3"), or the lab's label
  // A merged stretch: the time (ms) spent in each activity within it, by Activity; `activity` and
  // `what` are then those of the longest. All zero: the whole stretch is `activity`.
  std::array<double, kRecordedActivities> mix_ms{};
  bool mixed() const noexcept;
};

struct Timeline {
  std::string form;                          // "thread" or "process"
  std::vector<std::string> names;            // the rows, by role ("producer 0"); empty: "thread 0", "process 0", …
  std::vector<std::vector<Interval>> tracks; // one per worker, in order, never overlapping
  std::string window;                        // what the lab calls its window (RunOptions::timeline_window)
  double span_ms = 0;                        // the run's length
  std::uint32_t most_merged = 1;             // the most marks merged into one, over all tracks (1: none)
  bool unrecorded = false;                   // some track has a stretch it could not say (Activity::unrecorded)
};

// The marks a track has room for.
inline constexpr std::uint32_t kMarksPerTrack = 8'192;

namespace timeline {

// Asked for by the command line before a run; run_workers() then records every run until
// take_recorded() is called.
void request(bool on) noexcept;
bool requested() noexcept;

// The calling worker is now doing `activity` (`what`: up to 23 characters are kept). Nothing
// happens outside a recorded worker.
void enter(Activity activity, std::string_view what = {}) noexcept;

// For the length of a scope, then back to what the worker was doing before:
//   { hazardlab::timeline::During sleeping(hazardlab::Activity::sleeping, "io"); std::this_thread::sleep_for(…); }
class During {
public:
  explicit During(Activity activity, std::string_view what = {}) noexcept;
  ~During();
  During(const During&) = delete;
  During& operator=(const During&) = delete;

private:
  Activity before_ = Activity::running;
  char before_what_[24] = {};
  bool recording_ = false;
};

// Whether the calling thread is a worker being recorded (to skip building a mark's text).
bool recording() noexcept;

// Worker::hazard_point() and Worker::progressed(): in a run whose RunOptions::timeline_window
// names the window, a hazard point opens it (Activity::window) and the worker's next progress
// closes it. Nothing otherwise.
void at_hazard_point() noexcept;
void at_progress() noexcept;

// The traced locks' marks: waiting for `what`; got the lock `what` (holding it); let go of the
// last lock taken; a semaphore's wait is over (back to holding, if a lock is still held, or to
// running).
void waiting_for(std::string_view what) noexcept;
void got(std::string_view what) noexcept;
void let_go() noexcept;
void resumed() noexcept;

// The first run recorded since request(true), taken out (nullopt if there was none, or if its
// workers were abandoned and their tracks cannot be read).
std::optional<Timeline> take_recorded();

// One row per worker, `width` columns across the run: each column shows what the worker did for
// most of its time in that slice (a merged stretch counts each activity for its own share). █
// running, ▓ holding a lock, ░ waiting, · sleeping, ▚ the lab's window, ? not recorded, blank:
// not started or done. The time scale and a legend follow.
std::string ascii_chart(const Timeline& timeline, int width = 64);

// Chrome's trace-event format (Perfetto, chrome://tracing): one track per worker, named as the
// chart's rows, one complete ("X") event per interval, times in microseconds; a merged stretch has
// its activities' times in args.mix_us.
nlohmann::ordered_json chrome_trace(const Timeline& timeline, const std::string& lab_name);

// --- for run_workers() only --------------------------------------------------------------------
struct Track; // one worker's record, in the shared mapping
class Recording {
public:
  // Maps the tracks (before any fork) when on. `window`: what the lab's hazard windows are called
  // (RunOptions::timeline_window); empty: hazard points mark nothing.
  Recording(int workers, bool on, std::string_view window = {});
  ~Recording();
  Recording(const Recording&) = delete;
  Recording& operator=(const Recording&) = delete;
  void worker_starts(int worker) noexcept; // in the worker, after the start barrier
  void worker_ends() noexcept;             // in the worker, when its body is done
  // In the parent, once every worker has stopped: keeps the run for take_recorded().
  void keep(const std::string& form, std::int64_t released_ns, std::int64_t ended_ns);

private:
  Track* tracks_ = nullptr;
  int workers_ = 0;
  std::size_t bytes_ = 0;
};

// --- for tests: one track outside any run, its clock given --------------------------------------
class TrackRecord {
public:
  TrackRecord();
  ~TrackRecord();
  TrackRecord(const TrackRecord&) = delete;
  TrackRecord& operator=(const TrackRecord&) = delete;
  void mark(std::int64_t at_ns, Activity activity, std::string_view what = {}) noexcept;
  // As if the worker were killed while merging, after `pairs` pairs: call on a full track.
  void interrupt_merging(std::uint32_t pairs) noexcept;
  // The intervals the parent would read, from time 0 to `ended_ns`, in ms.
  std::vector<Interval> intervals(std::int64_t ended_ns) const;
  std::uint32_t stored() const noexcept;      // marks held
  std::uint32_t most_merged() const noexcept; // the most marks merged into one
  static std::size_t bytes() noexcept;        // what a track takes, whatever is recorded

private:
  Track* track_;
};

} // namespace timeline
} // namespace hazardlab
