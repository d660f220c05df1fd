#pragma once
// The scheduler that decides who runs (--schedule forced, and --schedule replay:CHOICES).
//
// In a controlled run exactly one worker runs at a time. It runs until it reaches a scheduling
// point: a hazard point, an operation of the kit's primitives that can block or wake a waiter
// (Form::Mutex, Form::SharedMutex, Form::ConditionVariable, Form::Semaphore, the barrier built from
// them), spin_pause(), Worker::pause_for(), a lab's own Worker::scheduling_point(tag), or its own
// start and end. There the scheduler decides who runs next: the same worker, or another one, which
// is then woken while this one sleeps. A worker that would block (a held lock, an empty semaphore,
// a condition variable's wait) is marked blocked instead, and another one runs; letting go of the
// lock, releasing the semaphore or notifying makes its waiters runnable again.
//
// So a controlled run is a sequence of choices, made at every scheduling point where more than one
// worker could run, and nothing else: the same choices give the same run, on one core or many,
// idle or loaded, under ThreadSanitizer or not. A lab's Script makes the choices of
// --schedule forced (the bad interleaving, by construction); --schedule replay:CHOICES makes the
// ones a run printed.
//
// The hand-over between workers is a relaxed atomic and a raw futex on the shared state: neither
// is a happens-before edge that ThreadSanitizer or Helgrind can see, so the races of broken code
// are still reported, and correct code is still ordered only by its own locks.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace hazardlab {

inline constexpr int kMaxWorkers = 64;

// Thrown at a worker's scheduling point (or Worker::stop_if_requested()) once the run is being
// ended under it: a controlled run that is stuck, or a thread-form run abandoned at its deadline.
// The worker's thread then ends quietly: neither finished nor crashed.
struct WorkerStopped {};

// Where a worker is, as the scheduler sees it: the operation it is about to do.
enum class Point : std::uint8_t {
  start,    // the run's first choice (before anybody has run)
  hazard,   // Worker::hazard_point()
  tagged,   // Worker::scheduling_point(tag): a lab's own point, for its script
  lock,     // a mutex's lock (or lock_shared)
  try_lock, // a mutex's try_lock (or try_lock_shared)
  unlock,   // a mutex's unlock (or unlock_shared)
  acquire,  // a semaphore's acquire
  try_acquire,
  release, // a semaphore's release
  wait,    // a condition variable's wait (or the barrier's)
  notify,  // a condition variable's notify_one or notify_all
  spin,    // spin_pause(): a spin loop's turn
  pause,   // Worker::pause_for(): a pause on the run's virtual clock
  atomic,  // an operation of Form::Atomic (atomic.hpp)
  end,     // the worker's body returned
};
std::string_view to_string(Point point) noexcept;

// A set of workers, one bit each.
using WorkerSet = std::uint64_t;
inline constexpr WorkerSet only(int worker) noexcept { return WorkerSet{1} << worker; }

namespace control {
struct Block; // the controlled run's state, in the run's shared memory (control.cpp)
}

// What a script sees when the scheduler must choose: who is at which point, and who may run.
class Decision {
public:
  Decision(const control::Block& block, int worker, Point point, int tag, WorkerSet eligible) noexcept
      : block_(&block), worker_(worker), point_(point), tag_(tag), eligible_(eligible) {}

  int worker() const noexcept { return worker_; } // the worker at the point; -1 for the run's first choice
  Point point() const noexcept { return point_; }
  int tag() const noexcept { return tag_; } // Point::tagged: the lab's tag
  WorkerSet eligible() const noexcept { return eligible_; }
  bool eligible(int w) const noexcept { return w >= 0 && w < kMaxWorkers && (eligible_ >> w & 1) != 0; }
  // The first eligible worker after `w` in id order, round the table (w itself last), among `among`;
  // -1 if there is none. A worker woken from a wait for what another has taken again since (a
  // semaphore with no permit left) would only block again: it comes after every other.
  int next_after(int w, WorkerSet among = ~WorkerSet{0}) const noexcept;
  int workers() const noexcept;

  // Where worker w is now: the point it stopped at (or, for the worker deciding, this one).
  Point at(int w) const noexcept;
  int tag_of(int w) const noexcept;
  std::uint64_t hazard_points(int w) const noexcept; // hazard points it has reached, this one included
  std::uint64_t progress(int w) const noexcept;      // units it reported with Worker::progressed()
  bool finished(int w) const noexcept;
  bool blocked(int w) const noexcept; // waiting for a lock, a permit or a notify

private:
  const control::Block* block_;
  int worker_;
  Point point_;
  int tag_;
  WorkerSet eligible_;
};

// Chooses who runs next. It must be a pure function of the decision and of the run's shared
// state (read with relaxed atomics): in the process form each worker calls its own copy. A choice
// that is not eligible falls back to the default: the same worker if it may go on, otherwise the
// next eligible one after it.
using Script = std::function<int(const Decision&)>;

namespace scripts {
// Every worker's first `rounds` hazard points in lockstep (at each of them, the next worker runs),
// then the default: each worker runs until it blocks, spins or ends.
Script lockstep(int rounds = 1);
} // namespace scripts

// The default choice: the same worker if it is eligible, otherwise the next eligible one after it.
int default_choice(const Decision& decision) noexcept;

// For spin loops (a ticket lock's wait): in a controlled run, this worker lets the others run and
// is not chosen again until another worker has done something; otherwise a yield of the CPU.
void spin_pause();

// The choices of a controlled run, as printed and as --schedule replay: takes them:
//   "+1,1,2,3,0,+399995"   the worker run at each choice point; "+N" stands for N choices made by
//                          the default rule, "W*N" for worker W N times, "(…)*N" for a group
//                          repeated N times
struct ChoiceRun {
  int worker = -1; // -1: the default rule
  std::uint32_t count = 1;
};
std::string encode_choices(const std::vector<ChoiceRun>& runs);
// Throws std::invalid_argument with a one-line reason when the text is not a list of choices or
// names a worker outside 0 … workers - 1 (workers 0: not checked). An empty text is no choices (a
// run in which only one worker could ever go on prints none).
std::vector<ChoiceRun> decode_choices(std::string_view text, int workers = 0);

// What an explored run records (--schedule explore): each choice point, and each step.
struct ChoiceNode {
  WorkerSet eligible = 0;        // who could run
  int current = -1;              // the worker at the point (-1: the run's first choice)
  bool current_eligible = false; // it could have gone on: choosing another is a preemption
  int chosen = -1;
};
// What a step is called in the explored schedule's table: "read counter" (= value).
struct StepLabel {
  const char* text = nullptr; // a string literal: it stays valid in every process of the run
  std::int64_t value = 0;
  bool has_value = false;
};
struct StepRecord {
  int worker = -1;
  Point point = Point::start;
  int tag = 0;
  const void* object = nullptr; // the lock, semaphore, condition variable or atomic
  StepLabel label;
  bool blocked = false; // the worker could not go on here, and waited
};

// What a controlled run leaves for the report (run_workers fills it; the command line takes it).
struct ControlRecord {
  bool controlled = false;
  std::string choices;          // encoded; empty for a natural run
  bool choices_complete = true; // false when the log overflowed (the rest ran by the default rule)
  std::uint64_t steps = 0;      // scheduling points passed
  std::uint64_t switches = 0;   // times the turn went to another worker
  std::string given_up;         // why the guard gave control up for the rest of the run, if it did
  // --schedule explore only: every choice point and every step, in order (complete unless the run
  // was longer than the record holds).
  std::vector<ChoiceNode> nodes;
  std::vector<StepRecord> step_log;
  bool explored_complete = true;
};
// The record of the calling thread's last run_workers() call, taken out.
ControlRecord take_control_record();

// What an explored schedule's table calls the objects its steps touch ("account 3", "empty slots").
// Names are kept only while an exploration wants them (naming_objects()); set them in the parent,
// where the run's state is built. An object nobody named is called by its kind and the order in
// which it first appears ("mutex 1").
void name_object(const void* object, std::string name);
bool naming_objects() noexcept;
void want_object_names(bool wanted);         // the exploration's: on for its runs, off (and forgotten) after
std::string object_name(const void* object); // "" when unnamed

// --- for the kit's primitives and run_workers only ------------------------------------------------
namespace control {

struct Session; // a worker's place in a controlled run
extern thread_local Session* t_session;

// Whether the calling thread is a worker of a run under control: the one branch the primitives
// take when nobody controls the run.
inline bool active() noexcept { return t_session != nullptr; }

// A scheduling point before an operation on `object`: the scheduler may let another worker run
// first. Returns false once control has been given up (the caller then does the operation itself).
// May throw WorkerStopped when `may_stop` and the run is being ended (never from unlock, release or
// notify, which run in destructors).
bool point(Point point, const void* object = nullptr, int tag = 0, bool may_stop = true, StepLabel label = {});
// The operation on `object` cannot go on (a held lock, no permit, a wait for a notify): the caller
// is blocked until wake(object), and parks until its turn comes back. Returns false once control
// has been given up (the caller then blocks for real). `available` (may be null), asked about the
// object once the caller is woken, says whether its operation would go through now: the scheduler
// then prefers workers that will not block again at once.
using Available = bool (*)(const void* object);
bool block_on(Point point, const void* object, Available available = nullptr);
// The controlled way to take a lock or a permit: a scheduling point, then `try_take` (the
// primitive's own try); while that fails, the caller is blocked on `object` until a wake() on it.
// Returns false once control has been given up (the caller then takes it for real).
template <class TryTake>
bool take(Point at, const void* object, TryTake try_take, Available available = nullptr, StepLabel label = {}) {
  if (!control::point(at, object, 0, true, label)) return false;
  while (!try_take())
    if (!block_on(at, object, available)) return false;
  return true;
}
// For a condition variable's wait: marks the caller blocked on `object` first, so that what
// `before_parking` wakes (the mutex's waiters) is decided with the caller already waiting.
bool begin_block(Point point, const void* object, Available available = nullptr);
bool park_blocked();
// `object` was let go, released or notified: its blocked waiters may run again (all of them, or
// only the one that has waited longest).
void wake(const void* object, bool all = true);
// Whether the calling worker's controlled run is being ended under it (it is leaving with
// WorkerStopped): what it lets go of on the way out is not a change of the run's state to record.
bool ending() noexcept;
// Worker::pause_for under control: the caller sleeps on the run's virtual clock.
void pause(std::int64_t microseconds);
// Worker::progressed / attempted under control (the livelock check counts attempts since the last
// progress).
void note_progress() noexcept;
void note_attempt() noexcept;

} // namespace control
} // namespace hazardlab
