#pragma once
// The timeline: what each worker was doing, and when. Running, waiting for a lock or a
// semaphore, holding a lock, or sleeping (a blocking wait standing in for I/O).
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
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hazardlab {

enum class Activity : std::uint8_t { running, waiting, holding, sleeping };
std::string_view activity_name(Activity activity) noexcept;

// One stretch of one worker's time, from the start of the run (the start barrier's release).
struct Interval {
  double start_ms = 0;
  double end_ms = 0;
  Activity activity = Activity::running;
  std::string what; // the lock or semaphore waited for or held ("account 3"), or the lab's label
};

struct Timeline {
  std::string form;                          // "thread" or "process": the rows are "thread 0", "process 0", …
  std::vector<std::vector<Interval>> tracks; // one per worker, in order, never overlapping
  double span_ms = 0;                        // the run's length
  std::uint64_t dropped = 0;                 // marks left out once a track was full
};

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
// most of its time in that slice. █ running, ▓ holding a lock, ░ waiting, · sleeping, blank: not started or
// done. A legend and the time scale follow.
std::string ascii_chart(const Timeline& timeline, int width = 64);

// Chrome's trace-event format (Perfetto, chrome://tracing): one track per worker, one complete
// ("X") event per interval, times in microseconds.
nlohmann::ordered_json chrome_trace(const Timeline& timeline, const std::string& lab_name);

// --- for run_workers() only --------------------------------------------------------------------
struct Track; // one worker's record, in the shared mapping
class Recording {
public:
  Recording(int workers, bool on); // maps the tracks (before any fork) when on
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

} // namespace timeline
} // namespace hazardlab
