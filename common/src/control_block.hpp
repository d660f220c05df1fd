#pragma once
// The state of a controlled run (control.hpp), private to the core: it lives in the run's shared
// memory (the process form maps it before fork), and every field is a relaxed atomic, written by
// the one worker that holds the turn. Relaxed on purpose: the scheduler must order nothing that
// ThreadSanitizer could see (control.hpp says why).
#include "hazardlab/control.hpp"
#include "hazardlab/schedule.hpp"

#include <sys/types.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace hazardlab::control {

enum class Mode : std::uint8_t {
  controlled, // the scheduler decides
  free,       // the guard gave control up: every worker runs by itself from now on
  stopping,   // the run is being ended: parked workers leave (WorkerStopped)
};

enum class Status : std::uint8_t { absent, runnable, blocked, spinning, sleeping, finished };

// How a controlled run ended before its workers finished, as the scheduler saw it.
enum class Verdict : std::uint8_t {
  none,
  frozen,   // every unfinished worker blocked, waiting for another
  livelock, // attempts without progress (or spinners that nobody can release)
  mismatch, // --schedule replay: named a worker that could not run there
};

// A seat's futex word.
inline constexpr std::uint32_t kWait = 0; // parked
inline constexpr std::uint32_t kGo = 1;   // the turn is yours
inline constexpr std::uint32_t kLook = 2; // the run's mode changed: look at it

inline constexpr int kMaxChoiceRuns = 65'536;
// A livelock, under control: every unfinished worker has attempted this many times since anyone
// last made progress (Worker::attempted, Worker::progressed). In lockstep that is as many rounds.
// Spin loops (spin_pause) that went round this many times per worker with nothing else happening
// are a livelock too: a correct spin lock hands over within one round.
inline constexpr std::uint64_t kLivelockAttempts = 100;
// A worker that does the same atomic operation on the same object this many times in a row, with
// nothing else happening and no progress, spins without spin_pause(): under control nobody else
// would ever run.
inline constexpr std::uint64_t kSpinWithoutPause = 10 * kLivelockAttempts;
// A controlled run that makes no progress (Worker::progressed) in this many steps is cut short as
// a livelock, "no progress in N steps": a wait loop that polls under a lock without spin_pause()
// would otherwise go round for ever, since the default rule keeps the worker that can go on.
// Counted in steps, not time: the verdict is the same on any machine under any load. An explored
// run is cut shorter: its runs are short, and there are many (and it is cut short, too, when it is
// longer than the record below holds).
inline constexpr std::uint64_t kStepsWithoutProgress = 100'000;
inline constexpr std::uint64_t kExploreStepsWithoutProgress = 2'000;
inline constexpr int kMaxExploredNodes = 4'096;
inline constexpr int kMaxExploredSteps = 8'192;

struct alignas(64) Seat {
  std::atomic<std::uint32_t> signal{kWait};
  std::atomic<Status> status{Status::absent};
  std::atomic<Point> at{Point::start};
  std::atomic<int> tag{0};
  std::atomic<const void*> blocked_on{nullptr};
  std::atomic<Available> available{nullptr};   // for blocked_on: whether the wait would be over now
  std::atomic<std::uint64_t> blocked_since{0}; // the step it blocked at: notify_one wakes the longest waiting
  std::atomic<std::uint64_t> spun_at{0};       // the step it last spun at
  std::atomic<std::int64_t> wake_at{0};        // sleeping: the virtual µs it wakes at
  std::atomic<std::uint64_t> hazard_points{0};
  std::atomic<std::uint64_t> progress{0};
  std::atomic<std::uint64_t> attempts_since{0}; // attempts since the progress epoch below
  std::atomic<std::uint64_t> attempt_epoch{0};
  std::atomic<pid_t> tid{0};
};

// One run of the choice log: a worker (or -1, the default rule) chosen `count` times in a row,
// packed into one atomic word.
struct PackedRun {
  static std::uint64_t pack(int worker, std::uint32_t count) noexcept {
    return static_cast<std::uint64_t>(static_cast<std::uint8_t>(worker + 1)) << 32 | count;
  }
  static int worker(std::uint64_t packed) noexcept { return static_cast<int>(packed >> 32 & 0xff) - 1; }
  static std::uint32_t count(std::uint64_t packed) noexcept { return static_cast<std::uint32_t>(packed); }
};

// A relaxed atomic word of the run's records that is not zeroed when the block is built: every
// entry is written before it is read (below the record's count), and zeroing the records made
// every run fault in and clear more than a megabyte, most of an explored run's cost.
template <class T>
struct Word {
  Word() noexcept {} // NOLINT(modernize-use-equals-default): left uninitialized on purpose
  T load(std::memory_order order) const noexcept { return std::atomic_ref<T>(const_cast<T&>(value)).load(order); }
  void store(T v, std::memory_order order) noexcept { std::atomic_ref<T>(value).store(v, order); }
  T value;
};

// An explored run's choice point and step (written by whoever holds the turn).
struct PackedNode {
  Word<WorkerSet> eligible;
  Word<std::uint32_t> packed; // current + 1, current eligible, chosen + 1
};
struct PackedStep {
  Word<std::uint64_t> packed; // worker, point, blocked, has value, tag
  Word<const void*> object;
  Word<const char*> label;
  Word<std::int64_t> value;
};

struct Block {
  // forced: the lab's script chooses; replay and explore: the choices given, then the default rule.
  Block(int workers, const std::vector<ChoiceRun>& to_replay, Schedule schedule = Schedule::forced);

  // --- the scheduler, run by the worker holding the turn ---
  // Chooses who runs next after `worker` reached `point` (its seat already says where it is and
  // whether it can go on). Returns the worker, or -1 when nobody can run: every worker finished,
  // or a verdict was reached (frozen, livelock, mismatch).
  int choose(int worker, Point point, int tag, const Script* script);
  WorkerSet eligible() const noexcept;
  void set_status(int worker, Status status) noexcept;
  void reach_verdict(Verdict verdict, const std::string& message) noexcept;
  void log_choice(int worker) noexcept;
  // --schedule explore's record.
  void log_node(const Decision& decision, int chosen) noexcept;
  void log_step(int worker, Point point, int tag, const void* object, const StepLabel& label, bool blocked) noexcept;
  // The eligible workers that are not waiters woken for what has been taken again since.
  WorkerSet ready(WorkerSet eligible) const noexcept;

  // --- the watchdog's side ---
  ControlRecord record() const; // once every worker has stopped
  void change_mode(Mode mode) noexcept;

  int workers;
  std::atomic<Mode> mode{Mode::controlled};
  std::atomic<Verdict> verdict{Verdict::none};
  char message[384] = {}; // the verdict's, written before it (release) by the worker that reached it
  std::atomic<int> running{-1};
  // The worker that has taken the turn it was given and runs (the guard's: a worker still asleep
  // in the scheduler, waiting for the wake-up its waker has not sent yet because the waker itself
  // is waiting for a CPU, is not away from the scheduling points).
  std::atomic<int> resumed{-1};
  std::atomic<int> checked_in{0};
  std::atomic<std::uint64_t> steps{0};          // scheduling points passed
  std::atomic<std::uint64_t> spins_in_a_row{0}; // spins since the last other step or progress
  std::atomic<std::uint64_t> choices{0};        // points with more than one eligible worker
  std::atomic<std::uint64_t> switches{0};
  std::atomic<std::uint64_t> progress_epoch{0};
  std::atomic<std::uint64_t> progress_step{0}; // the step of the last progress
  // The run of identical atomic operations going on (see kSpinWithoutPause).
  std::atomic<int> atomic_worker{-1};
  std::atomic<const void*> atomic_object{nullptr};
  std::atomic<std::uint64_t> atomic_in_a_row{0};
  std::atomic<std::int64_t> virtual_now{0}; // µs
  std::atomic<WorkerSet> runnable{0};
  std::atomic<WorkerSet> spinning{0};
  std::atomic<WorkerSet> sleeping{0};
  std::atomic<WorkerSet> unfinished{0};

  // --schedule replay: the runs to follow (written before any worker exists), and where we are.
  int replay_runs = 0;
  bool replaying = false;
  std::array<Word<std::uint64_t>, kMaxChoiceRuns> replay{};
  std::atomic<int> replay_at{0};
  std::atomic<std::uint32_t> replay_used{0};

  // The choices made, run-length encoded.
  std::array<Word<std::uint64_t>, kMaxChoiceRuns> log{};
  std::atomic<int> log_runs{0};
  std::atomic<bool> log_full{false};

  // --schedule explore: the run follows its replay, then the default rule (never a script), and
  // records every choice point and every step.
  bool exploring = false;
  std::array<PackedNode, kMaxExploredNodes> nodes{};
  std::atomic<int> node_count{0};
  std::array<PackedStep, kMaxExploredSteps> step_log{};
  std::atomic<int> step_count{0};
  std::atomic<bool> explored_full{false};

  std::array<Seat, kMaxWorkers> seats{};
};

// The worker's side: joining the run, leaving it, and telling the watchdog of a verdict.
struct Session {
  Block* block = nullptr;
  int me = -1;
  const Script* script = nullptr;
  std::function<void()> verdict_reached; // wakes the watchdog (thread form); may be empty
};

// run_workers' hooks. check_in() returns once this worker's turn has come (throws WorkerStopped if
// the run ended first); finish() hands the turn on when its body is done (or threw).
void check_in(Block& block, int worker, const Script* script, std::function<void()> verdict_reached);
void finish() noexcept;
void leave_session() noexcept; // WorkerStopped: no turn to hand on
// Keeps the run's record for take_control_record() (the parent, once every worker has stopped).
void keep_record(ControlRecord record);

// The watchdog's guard: a worker holding the turn that does not come back to a scheduling point
// (it spins outside the kit, or blocks in something that is not the kit's) would keep every other
// worker parked for ever. Looked at every few milliseconds; returns the reason to give control up,
// or an empty string.
class Guard {
public:
  explicit Guard(const Block& block) : block_(&block) {}
  std::string look();

private:
  const Block* block_;
  int holder_ = -1;
  std::uint64_t steps_ = 0;
  bool stale_ = false;
  std::int64_t since_ns_ = 0, last_look_ns_ = 0;
  std::uint64_t cpu0_ = 0;
  std::int64_t runnable_ns_ = 0; // looked at running or waiting for a CPU
  std::int64_t blocked_ns_ = 0;  // looked at asleep
};

// Futex on a word that may sit in a shared mapping (no FUTEX_PRIVATE_FLAG: it works across
// processes).
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) noexcept;
void futex_wake(std::atomic<std::uint32_t>& word) noexcept;

} // namespace hazardlab::control
