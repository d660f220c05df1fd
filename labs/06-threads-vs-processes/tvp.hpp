#pragma once
// Lab 06, threads against processes: what each costs and how each scales. No hazard here, only
// measurements, each of them checked: the work's results, the bytes handed over, the pool's
// counts. The code is written once over the form, like every lab's.
//
//   work units      cpu (a hash chain), io (a sleep), io-file (a small file written and read back)
//   Gil<Form>       CPython's global interpreter lock, emulated with the form's mutex
//   run_experiment  one run: n workers share out (strong) or each get (weak) the units
//   spawn_costs     create-and-join a thread against fork-and-wait a process
//   pass_block      a block through a pipe (copied) against in shared memory (placed once)
//   run_pool        tasks through a bounded pool of N workers
//   TempFolder      io-file's folder, removed on every exit path
#include "hazardlab/forms.hpp"
#include "hazardlab/timeline.hpp"
#include "hazardlab/toolkit.hpp"
#include "hazardlab/workers.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace tvp {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// The CPUs this process may run on (taskset and cgroups included).
inline int cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

// One clock for every process of the machine (toolkit.hpp): a time stamped by one worker compares
// with one stamped by another.
using hazardlab::now_ns;

inline double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::ranges::sort(values);
  const auto n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// The value below which `fraction` of the values lie (nearest rank).
inline double quantile(std::vector<double> values, double fraction) {
  if (values.empty()) return 0;
  std::ranges::sort(values);
  const auto rank = static_cast<std::size_t>(fraction * static_cast<double>(values.size()) + 0.999999);
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

// FNV-1a, 64 bits: a digest of the bytes delivered, to compare with the bytes sent.
inline std::uint64_t digest(const std::byte* data, std::size_t size) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (std::size_t i = 0; i < size; ++i)
    h = (h ^ static_cast<std::uint64_t>(data[i])) * 0x100000001b3ULL;
  return h;
}

// --- the work ------------------------------------------------------------------------------------

enum class Kind { cpu, io, io_file };
inline const char* kind_name(Kind kind) { return kind == Kind::cpu ? "cpu" : kind == Kind::io ? "io" : "io-file"; }

// One step of the cpu work: a multiply-xorshift chain. Each step needs the one before, and no
// closed form skips steps, so the compiler must do every one; the result is written to shared
// state and checked, so it cannot drop them either.
inline std::uint64_t mix(std::uint64_t x, std::uint64_t steps) {
  for (std::uint64_t i = 0; i < steps; ++i)
    x = (x ^ (x >> 29)) * 0xbf58476d1ce4e5b9ULL + 0x9e3779b97f4a7c15ULL;
  return x;
}
inline std::uint64_t unit_seed(std::uint64_t unit) { return 0x243f6a8885a308d3ULL ^ (unit * 0x9e3779b97f4a7c15ULL); }
// What cpu unit `unit` must come to, computed in one go (the tests' reference).
inline std::uint64_t cpu_unit_reference(std::uint64_t unit, std::uint64_t iterations) {
  return mix(unit_seed(unit), iterations);
}
// The io kinds do a little bookkeeping too (what a program does with what it read); this much.
inline constexpr std::uint64_t kBookkeepingSteps = 1'000;

struct WorkParams {
  Kind kind = Kind::cpu;
  std::uint64_t iterations = 4'000'000;     // cpu: steps per unit
  std::chrono::microseconds io_wait{5'000}; // io: the blocking wait per unit
  std::size_t file_bytes = 4'096;           // io-file: the size of each file
  std::string folder;                       // io-file: where the files go (a TempFolder)
  bool gil = false;
  std::chrono::microseconds switch_interval{5'000}; // CPython's sys.getswitchinterval(): 5 ms
};

// --- the GIL -------------------------------------------------------------------------------------

// CPython's global interpreter lock, with the form's mutex and condition variable (CPython's own
// is a mutex, a condition and a flag too). A thread computes only while it holds it. When the
// holder has held it for the switch interval and another thread is waiting, it lets go and waits
// until another thread has taken it (CPython's "forced switching"), so the threads take turns
// rather than the holder taking it straight back. It lets go around every blocking wait, as
// CPython releases it around sleep() and I/O.
//
// A process has a GIL of its own, as every Python process (every interpreter) has: processes never
// wait for each other's.
template <class Form>
class Gil {
public:
  // The timeline shows the worker waiting for it, then holding it until it lets go.
  void acquire() {
    hazardlab::timeline::enter(hazardlab::Activity::waiting, "the GIL");
    {
      typename Form::Lock lock(mutex_);
      waiting_.fetch_add(1, std::memory_order_relaxed);
      while (held_)
        turn_.wait(lock);
      waiting_.fetch_sub(1, std::memory_order_relaxed);
      held_ = true;
      ++switches_;
      held_since_ns_ = now_ns();
      turn_.notify_all(); // a holder that let go for this switch may go on to queue for it again
    }
    hazardlab::timeline::enter(hazardlab::Activity::holding, "the GIL");
  }
  // Around a blocking wait, and at the end: let go, and let whoever is waiting take it.
  void release() {
    typename Form::Lock lock(mutex_);
    // Marked before the next holder can take it, so that two holdings never overlap on the timeline.
    hazardlab::timeline::enter(hazardlab::Activity::running);
    held_ = false;
    turn_.notify_all();
  }
  // At the end of a switch interval: let go if anyone is waiting, and wait until one of them has it.
  // Returns whether it let go (the caller then acquires again).
  bool drop_if_requested() {
    if (waiting_.load(std::memory_order_relaxed) == 0) return false;
    typename Form::Lock lock(mutex_);
    held_ = false;
    turn_.notify_all();
    const std::uint64_t mine = switches_;
    hazardlab::timeline::enter(hazardlab::Activity::waiting, "the GIL"); // still under the mutex: see release()
    while (switches_ == mine && waiting_.load(std::memory_order_relaxed) > 0)
      turn_.wait(lock);
    return true;
  }
  // Whether the holder has had it for `interval` (read by the holder only).
  bool held_for(std::chrono::microseconds interval) const {
    return now_ns() - held_since_ns_ >= std::chrono::duration_cast<std::chrono::nanoseconds>(interval).count();
  }
  std::uint64_t switches() {
    typename Form::Lock lock(mutex_);
    return switches_;
  }

private:
  typename Form::Mutex mutex_;
  typename Form::ConditionVariable turn_;
  bool held_ = false;
  std::uint64_t switches_ = 0;     // how many times it was taken
  std::int64_t held_since_ns_ = 0; // when the holder took it
  std::atomic<int> waiting_{0};    // read by the holder without the mutex, to decide to drop
};

// Runs `steps` of the chain from x, holding the GIL if there is one and giving it up every switch
// interval to a waiting thread. The result does not depend on where the chain was interrupted.
template <class Form>
std::uint64_t compute(std::uint64_t x, std::uint64_t steps, Gil<Form>* gil, std::chrono::microseconds interval) {
  if (gil == nullptr) return mix(x, steps);
  constexpr std::uint64_t kChunk = 4'096; // steps between two looks at the clock (a few µs)
  for (std::uint64_t done = 0; done < steps;) {
    const auto n = std::min(kChunk, steps - done);
    x = mix(x, n);
    done += n;
    // The interval counts from when this thread took the GIL, across units, as CPython's does.
    if (gil->held_for(interval) && gil->drop_if_requested()) gil->acquire();
  }
  return x;
}

// A blocking wait: under the GIL, let it go first and take it back after, as CPython does.
template <class Form, class Wait>
void blocking(Gil<Form>* gil, const char* what, Wait wait) {
  if (gil != nullptr) gil->release();
  {
    hazardlab::timeline::During sleeping(hazardlab::Activity::sleeping, what);
    wait();
  }
  if (gil != nullptr) gil->acquire();
}

// io-file's unit: a file of `bytes` derived from `token`, written, read back, compared, removed.
// Returns the digest of what was read back; throws if it differs from what was written.
inline std::uint64_t file_round_trip(const std::string& folder, std::uint64_t unit, std::uint64_t token,
                                     std::size_t bytes) {
  std::vector<std::byte> written(bytes);
  std::uint64_t x = token;
  for (auto& b : written) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    b = static_cast<std::byte>(x >> 56);
  }
  const std::string path = folder + "/unit-" + std::to_string(unit) + "-" + std::to_string(::getpid());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(written.data()), static_cast<std::streamsize>(bytes));
    if (!out.flush()) throw std::runtime_error("io-file: cannot write " + path);
  }
  std::vector<std::byte> read(bytes);
  {
    std::ifstream in(path, std::ios::binary);
    in.read(reinterpret_cast<char*>(read.data()), static_cast<std::streamsize>(bytes));
    if (in.gcount() != static_cast<std::streamsize>(bytes)) throw std::runtime_error("io-file: short read of " + path);
  }
  std::filesystem::remove(path);
  if (read != written) throw std::runtime_error("io-file: " + path + " read back other bytes");
  return digest(read.data(), read.size());
}

// One unit of work of the kind asked for. Its result depends only on the unit's number (and the
// parameters), never on the form or the worker that ran it.
template <class Form>
std::uint64_t do_unit(const WorkParams& p, std::uint64_t unit, Gil<Form>* gil) {
  switch (p.kind) {
  case Kind::cpu:
    return compute(unit_seed(unit), p.iterations, gil, p.switch_interval);
  case Kind::io: {
    blocking(gil, "io wait", [&] { std::this_thread::sleep_for(p.io_wait); });
    return compute(unit_seed(unit), kBookkeepingSteps, gil, p.switch_interval);
  }
  case Kind::io_file: {
    std::uint64_t read_digest = 0;
    blocking(gil, "file io", [&] { read_digest = file_round_trip(p.folder, unit, unit_seed(unit), p.file_bytes); });
    return compute(read_digest, kBookkeepingSteps, gil, p.switch_interval);
  }
  }
  return 0;
}

// The GILs a run needs: one for the thread form's one process, one per process in the process form.
template <class Form>
std::size_t gil_count(int workers) {
  return Form::kind == hazardlab::FormKind::thread ? 1 : static_cast<std::size_t>(workers);
}

// --- the experiment ------------------------------------------------------------------------------

enum class Scaling { strong, weak };

// The cores the workers really used: their CPU time (each worker's own clock, read by itself from
// the start barrier's release to its end: WorkersReport::body_cpu_ms) over the wall time of that
// section. A worker that waits (io, or for the GIL) burns no CPU time; one that is ready but finds
// no free core (another program has it) burns none either. So 2 cpu workers on 2 idle cores use
// about 2.0, and about 1.0 when another busy program takes half of the machine.
inline double cores_used(double cpu_ms, double wall_ms) { return wall_ms > 0 ? cpu_ms / wall_ms : 0; }

// One row of the experiment, as the busy-machine check sees it.
struct CoreShare {
  std::string what;       // the row, for the warning: "cpu work, GIL off, process form, 2 workers"
  bool cpu_bound = false; // its workers compute all the time, none waits for another (see busy_warning)
  int workers = 1;
  double cores_used = 0;
  double wall_ms = 0;
};

// Below this share of the cores they could have had, a cpu-bound row's workers were kept from
// them. Measured here on an idle machine, cpu rows use 0.92 to 1.0 of min(workers, cores): the
// workers start a few tens of microseconds apart and the last one may end alone. A busy program
// per core takes half or more. 0.8 lies well between: an idle machine never warns, and one that
// took a fifth of the cores is one whose speed-ups a student should not trust.
inline constexpr double kBusyShare = 0.8;
// Rows shorter than this are not judged: a start or an end a fraction of a millisecond apart is a
// large share of a run of a few milliseconds, and would look like missing cores.
inline constexpr double kJudgedWallMs = 20;

// One line when other load kept the workers from the cores, naming the row that got the smallest
// share of what it could have had; nothing when none is short. Only cpu-bound rows are judged: cpu
// work with no GIL between the workers (no GIL, or the process form, where each has its own). io
// workers wait instead of computing, and threads under one GIL compute one at a time: those use
// few cores on any machine, and that is what they show, not a busy machine.
inline std::optional<std::string> busy_warning(const std::vector<CoreShare>& rows, int cores) {
  const CoreShare* worst = nullptr;
  double worst_share = kBusyShare;
  for (const CoreShare& row : rows) {
    if (!row.cpu_bound || row.wall_ms < kJudgedWallMs) continue;
    const double share = row.cores_used / std::min(row.workers, cores);
    if (share < worst_share) {
      worst_share = share;
      worst = &row;
    }
  }
  if (worst == nullptr) return std::nullopt;
  const int could = std::min(worst->workers, cores);
  return fmt::format("the machine is busy: the workers got {:.1f} of {} {} ({}); speed-ups are capped by that",
                     worst->cores_used, could, could == 1 ? "core" : "cores", worst->what);
}

struct ExperimentRun {
  double wall_ms = 0;                 // from the start barrier's release to the last worker's end
  double cpu_ms = 0;                  // the workers' CPU time in that time, all of them together
  double cores_used = 0;              // cpu_ms / wall_ms: how many cores the workers really had
  std::vector<std::uint64_t> results; // per unit
  std::uint64_t gil_switches = 0;     // how often a GIL changed hands (0 without --gil)
};

// n workers; strong: `units` units in all, shared out (unit u to worker u mod n); weak: `units`
// units each (units × n in all). Throws if the run does not finish within `timeout`.
template <class Form>
ExperimentRun run_experiment(const WorkParams& p, Scaling scaling, int workers, std::uint64_t units,
                             std::chrono::milliseconds timeout) {
  const std::uint64_t total = scaling == Scaling::strong ? units : units * static_cast<std::uint64_t>(workers);
  auto results = hazardlab::place_array<Form, std::uint64_t>(total);
  auto gils = hazardlab::place_array<Form, Gil<Form>>(gil_count<Form>(workers));
  const auto report = hazardlab::run_workers<Form>(
      workers, timeout, [p, total, workers, results = results.data(), gils = gils.data()](hazardlab::Worker& worker) {
        Gil<Form>* gil = nullptr;
        if (p.gil) {
          gil = &gils[Form::kind == hazardlab::FormKind::thread ? 0 : worker.id()];
          gil->acquire();
        }
        for (auto u = static_cast<std::uint64_t>(worker.id()); u < total; u += static_cast<std::uint64_t>(workers)) {
          results[u] = do_unit<Form>(p, u, gil);
          worker.progressed();
        }
        if (gil != nullptr) gil->release();
      });
  if (report.ending != hazardlab::WorkersReport::Ending::finished)
    throw std::runtime_error(fmt::format("a {} run with {} workers did not finish: {}",
                                         hazardlab::to_string(Form::kind), workers, report.what));
  ExperimentRun run;
  run.wall_ms = report.elapsed_ms;
  for (const double ms : report.body_cpu_ms)
    run.cpu_ms += ms;
  run.cores_used = cores_used(run.cpu_ms, run.wall_ms);
  run.results.assign(results.data(), results.data() + total);
  if (p.gil)
    for (std::size_t g = 0; g < gils.size(); ++g)
      run.gil_switches += gils[g].switches();
  return run;
}

// --- spawn cost ----------------------------------------------------------------------------------

// Microseconds per spawn: create a thread that does nothing and join it, `count` times.
inline std::vector<double> thread_spawn_costs(int count) {
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(count));
  std::atomic<int> ran{0};
  for (int i = 0; i < count; ++i) {
    const auto t0 = Clock::now();
    {
      std::jthread t([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
    }
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  if (ran.load() != count) throw std::runtime_error("spawn: a thread did not run");
  return us;
}

// Microseconds per spawn: fork a child that exits at once and wait for it, `count` times.
inline std::vector<double> process_spawn_costs(int count) {
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(count));
  std::fflush(nullptr); // a child must not flush the parent's buffered output a second time
  for (int i = 0; i < count; ++i) {
    const auto t0 = Clock::now();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (pid == 0) ::_exit(42);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "waitpid");
    }
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 42) throw std::runtime_error("spawn: a child did not exit 42");
  }
  return us;
}

// --- passing data --------------------------------------------------------------------------------

enum class Path { pipe, shared };
inline const char* path_name(Path path) { return path == Path::pipe ? "pipe" : "shared"; }

// The block handed over: byte i of a block made from `seed`.
inline void fill_block(std::byte* data, std::size_t size, std::uint64_t seed) {
  std::uint64_t x = seed | 1;
  for (std::size_t i = 0; i < size; ++i) {
    if (i % 8 == 0) x = (x ^ (x >> 29)) * 0xbf58476d1ce4e5b9ULL + 0x9e3779b97f4a7c15ULL;
    data[i] = static_cast<std::byte>(x >> (8 * (i % 8)));
  }
}

struct Handover {
  std::atomic<std::int64_t> start_ns{0}; // the sender starts serializing (pipe) or placing (shared)
  std::atomic<std::int64_t> end_ns{0};   // the receiver has it, as an object it can use
  std::atomic<std::uint64_t> sent_digest{0};
  std::atomic<std::uint64_t> received_digest{0};
  std::atomic<std::uint64_t> received_size{0};
  std::atomic<std::uint64_t> wrong_bytes{0}; // received bytes that differ from the block made from the seed
};

struct PassResult {
  double latency_us = 0;
  std::uint64_t sent_digest = 0, received_digest = 0, received_size = 0, wrong_bytes = 0;
  bool identical(std::size_t size) const {
    return received_size == size && wrong_bytes == 0 && sent_digest == received_digest;
  }
};

inline void write_all(int fd, const std::byte* data, std::size_t size) {
  while (size > 0) {
    const auto n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::system_error(errno, std::generic_category(), "write to the pipe");
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}
inline void read_all(int fd, std::byte* data, std::size_t size) {
  while (size > 0) {
    const auto n = ::read(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("read from the pipe: the writer is gone");
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

class Pipe {
public:
  Pipe() {
    if (::pipe2(ends_, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  }
  ~Pipe() {
    ::close(ends_[0]);
    ::close(ends_[1]);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  int read_end() const { return ends_[0]; }
  int write_end() const { return ends_[1]; }

private:
  int ends_[2] = {-1, -1};
};

// Worker 0 hands a block of `size` bytes to worker 1.
//  pipe:   serialize (a length header and a copy of the bytes, as pickle makes one bytes object),
//          write it all into a pipe; the receiver reads it all and deserializes it (a copy into a
//          new object of its own). What a process pool pays for every argument and every result.
//  shared: the sender places the block in shared memory (one copy) and signals; the receiver uses
//          it where it is.
// The time runs from the sender's start to the receiver having the object; the receiver then
// checks every byte (outside the time).
template <class Form>
PassResult pass_block(Path path, std::size_t size, std::uint64_t seed, std::chrono::milliseconds timeout) {
  struct State {
    Handover handover;
    typename Form::Semaphore ready{0};
  };
  auto state = hazardlab::place<Form, State>();
  auto block = hazardlab::place_array<Form, std::byte>(path == Path::shared ? size : 0);
  Pipe pipe;
  const auto report = hazardlab::run_workers<Form>(
      2, timeout,
      [path, size, seed, state = state.get(), shared_block = block.data(), rd = pipe.read_end(),
       wr = pipe.write_end()](hazardlab::Worker& worker) {
        Handover& h = state->handover;
        if (worker.id() == 0) {
          std::vector<std::byte> object(size); // the sender's object, made before the clock starts
          fill_block(object.data(), size, seed);
          h.sent_digest.store(digest(object.data(), size), std::memory_order_relaxed);
          h.start_ns.store(now_ns(), std::memory_order_relaxed);
          if (path == Path::pipe) {
            std::vector<std::byte> message(sizeof(std::uint64_t) + size);
            const std::uint64_t length = size;
            std::memcpy(message.data(), &length, sizeof length);
            std::memcpy(message.data() + sizeof length, object.data(), size);
            write_all(wr, message.data(), message.size());
          } else {
            std::memcpy(shared_block, object.data(), size);
            state->ready.release();
          }
          worker.progressed();
          return;
        }
        const std::byte* received = nullptr;
        std::vector<std::byte> object;
        if (path == Path::pipe) {
          std::uint64_t length = 0;
          read_all(rd, reinterpret_cast<std::byte*>(&length), sizeof length);
          std::vector<std::byte> message(length);
          read_all(rd, message.data(), length);
          object.assign(message.begin(), message.end()); // deserialize: an object of the receiver's own
          received = object.data();
          h.received_size.store(length, std::memory_order_relaxed);
        } else {
          state->ready.acquire();
          received = shared_block;
          h.received_size.store(size, std::memory_order_relaxed);
        }
        h.end_ns.store(now_ns(), std::memory_order_relaxed);
        const auto got = h.received_size.load(std::memory_order_relaxed);
        h.received_digest.store(digest(received, got), std::memory_order_relaxed);
        std::vector<std::byte> expected(size);
        fill_block(expected.data(), size, seed);
        std::uint64_t wrong = got == size ? 0 : size;
        for (std::size_t i = 0; i < std::min<std::size_t>(got, size); ++i)
          wrong += received[i] != expected[i] ? 1 : 0;
        h.wrong_bytes.store(wrong, std::memory_order_relaxed);
        worker.progressed();
      });
  if (report.ending != hazardlab::WorkersReport::Ending::finished)
    throw std::runtime_error(
        fmt::format("passing {} bytes through {} did not finish: {}", size, path_name(path), report.what));
  const Handover& h = state->handover;
  PassResult result;
  result.latency_us = static_cast<double>(h.end_ns.load() - h.start_ns.load()) / 1e3;
  result.sent_digest = h.sent_digest.load();
  result.received_digest = h.received_digest.load();
  result.received_size = h.received_size.load();
  result.wrong_bytes = h.wrong_bytes.load();
  return result;
}

// --- the pool ------------------------------------------------------------------------------------

struct PoolCounters {
  std::atomic<std::uint64_t> next{0}; // the queue's head: the next task to take
  std::atomic<int> running{0};        // tasks running now
  std::atomic<int> most_running{0};   // the most ever running at once
};

struct PoolRun {
  double wall_ms = 0;
  int most_running = 0;
  std::vector<std::uint32_t> runs;    // per task: how often it ran
  std::vector<std::uint64_t> results; // per task
};

// `tasks` independent tasks (task t is unit t of p's kind) through a pool of `pool` workers:
// every task is queued at the start; each worker takes the next one from the queue, runs it, and
// comes back for more until the queue is empty. So at most `pool` run at once and the rest wait
// in the queue, as with Python's ThreadPoolExecutor and ProcessPoolExecutor (max_workers=pool).
// The same task code in both forms.
template <class Form>
PoolRun run_pool(const WorkParams& p, int pool, std::uint64_t tasks, std::chrono::milliseconds timeout) {
  auto counters = hazardlab::place<Form, PoolCounters>();
  auto runs = hazardlab::place_array<Form, std::atomic<std::uint32_t>>(tasks);
  auto results = hazardlab::place_array<Form, std::uint64_t>(tasks);
  auto gils = hazardlab::place_array<Form, Gil<Form>>(gil_count<Form>(pool));
  // Each worker takes the next task until none is left (the pool's queue is one counter).
  const auto take_tasks = [p, tasks, c = counters.get(), runs = runs.data(), results = results.data(),
                           gils = gils.data()](hazardlab::Worker& worker) {
    Gil<Form>* gil = nullptr;
    if (p.gil) {
      gil = &gils[Form::kind == hazardlab::FormKind::thread ? 0 : worker.id()];
      gil->acquire();
    }
    for (;;) {
      const std::uint64_t t = c->next.fetch_add(1, std::memory_order_relaxed);
      if (t >= tasks) break;
      const int now = c->running.fetch_add(1, std::memory_order_acq_rel) + 1;
      hazardlab::raise_to(c->most_running, now);
      runs[t].fetch_add(1, std::memory_order_relaxed);
      results[t] = do_unit<Form>(p, t, gil);
      c->running.fetch_sub(1, std::memory_order_acq_rel);
      worker.progressed();
    }
    if (gil != nullptr) gil->release();
  };
  const auto report = hazardlab::run_workers<Form>(pool, timeout, take_tasks);
  if (report.ending != hazardlab::WorkersReport::Ending::finished)
    throw std::runtime_error(
        fmt::format("the {} pool of {} did not finish: {}", hazardlab::to_string(Form::kind), pool, report.what));
  PoolRun run;
  run.wall_ms = report.elapsed_ms;
  run.most_running = counters->most_running.load();
  for (std::uint64_t t = 0; t < tasks; ++t) {
    run.runs.push_back(runs[t].load());
    run.results.push_back(results[t]);
  }
  return run;
}

// --- io-file's folder ----------------------------------------------------------------------------

// A folder of its own under $TMPDIR (or /tmp), removed on every exit path: by the destructor
// normally or when an exception unwinds, and by a guardian process when this process dies without
// unwinding (a signal: Ctrl-C, the watchdog's re-raise, even SIGKILL). The guardian is forked at
// once, ignores the terminal's signals, and waits for the end of a pipe that only this process
// holds open (and its workers, which die with it); at end-of-file it removes the folder and exits.
class TempFolder {
public:
  TempFolder() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/threads-vs-processes.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
    path_ = pattern;
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) {
      const int error = errno;
      std::filesystem::remove_all(path_);
      throw std::system_error(error, std::generic_category(), "pipe");
    }
    std::fflush(nullptr);
    guardian_ = ::fork();
    if (guardian_ < 0) {
      const int error = errno;
      ::close(ends[0]);
      ::close(ends[1]);
      std::filesystem::remove_all(path_);
      throw std::system_error(error, std::generic_category(), "fork");
    }
    if (guardian_ == 0) {
      ::signal(SIGINT, SIG_IGN);
      ::signal(SIGTERM, SIG_IGN);
      ::signal(SIGHUP, SIG_IGN);
      // Hold nothing open but its own end of the pipe: not the pipe's other end, and not the
      // caller's output either (whoever reads it waits for its end, and must not wait for this).
      if (const int null = ::open("/dev/null", O_RDWR); null >= 0) {
        ::dup2(null, STDIN_FILENO);
        ::dup2(null, STDOUT_FILENO);
        ::dup2(null, STDERR_FILENO);
      }
      const int keep = ends[0];
      ::close_range(3, static_cast<unsigned>(keep) - 1, 0);
      ::close_range(static_cast<unsigned>(keep) + 1, ~0U, 0);
      char c;
      while (::read(keep, &c, 1) != 0 && errno == EINTR) {
      }
      std::error_code ignored;
      std::filesystem::remove_all(path_, ignored);
      ::_exit(0);
    }
    ::close(ends[0]);
    write_end_ = ends[1];
  }
  ~TempFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
    ::close(write_end_);
    while (::waitpid(guardian_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  const std::string& path() const { return path_; }

private:
  std::string path_;
  pid_t guardian_ = -1;
  int write_end_ = -1;
};

} // namespace tvp
