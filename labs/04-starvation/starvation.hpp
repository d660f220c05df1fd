#pragma once
// Lab 04 — starvation.
//
// Starvation is a worker that wants in and is passed over, again and again, while the others get
// their work done. Nothing is stuck (that would be a deadlock) and nobody is busy getting nowhere
// (a livelock): the run makes progress, just never for this one worker.
//
// Two scenarios:
//   readers-writers  --readers readers keep reading a shared value, --writers writers now and
//                    then want to change it. Readers may read together; a writer needs the room
//                    to itself. A lock that lets a reader in whenever another reader is inside
//                    lets the readers keep the room forever, and the writer waits.
//   greedy           workers share one lock. Worker 0, the greedy one, releases it and takes it
//                    straight back; the others (its rivals) do a little work of their own between
//                    turns. A lock that hands nothing over leaves them out.
//
// A variant is a class template over the form with the lock for its scenario:
//   struct ReadersWriterLock { void lock_shared(Turn&); void unlock_shared();
//                              void lock(Turn&); void unlock(); };     readers-writers
//   struct Lock { void lock(Turn&); void unlock(); };                  greedy
// Both are placed in shared state, so they must be built from the form's primitives.
//
// What the lab measures, per worker: operations done, its share of them while everyone still had
// work to do (the window), how long it waited to get in (longest, p50, p99), and how many times
// others entered while it waited in line: overtakes, a count no scheduler can bend.
#include "hazardlab/cli.hpp"
#include "hazardlab/workers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace starvation {

enum class Scenario { readers_writers, greedy };

struct Params {
  Scenario scenario = Scenario::readers_writers;
  int readers = 3;
  int writers = 1;
  std::uint64_t ops = 1'000; // per worker: reads, writes or turns
};

// How long each kind of operation holds the lock (a spin: CPU time, like real work), and how long
// each worker works on its own before it asks again; the greedy worker does not, that is what
// makes it greedy. Readers read long enough to overlap each other, and do some work of their own
// too: readers that asked again at once would crowd out a reader being woken, as the greedy
// worker crowds out its rivals.
inline constexpr std::chrono::microseconds kReadSection{20};
inline constexpr std::chrono::microseconds kWriteSection{5};
inline constexpr std::chrono::microseconds kReaderOwnWork{30};
inline constexpr std::chrono::microseconds kWriterOwnWork{20};
inline constexpr std::chrono::microseconds kTurnSection{20};
inline constexpr std::chrono::microseconds kRivalOwnWork{20};

inline void spin_for(std::chrono::microseconds length) {
  const auto until = std::chrono::steady_clock::now() + length;
  while (std::chrono::steady_clock::now() < until) {
  }
}

// "40 ns", "37 µs", "12.3 ms": a wait as a student reads it.
inline std::string wait_text(double ns) {
  if (ns < 1e3) return fmt::format("{:.0f} ns", ns);
  if (ns < 1e6) return fmt::format("{:.0f} µs", ns / 1e3);
  return fmt::format("{:.1f} ms", ns / 1e6);
}

inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Readers-writers: workers 0 … readers-1 read, the rest write. Greedy: worker 0 is the greedy one.
inline bool is_reader(const Params& params, int worker) {
  return params.scenario == Scenario::readers_writers && worker < params.readers;
}
inline std::string name_of(const Params& params, int worker) {
  if (params.scenario == Scenario::greedy) return worker == 0 ? "greedy worker 0" : fmt::format("rival {}", worker);
  return worker < params.readers ? fmt::format("reader {}", worker) : fmt::format("writer {}", worker - params.readers);
}
inline std::vector<std::string> names_of(const Params& params, int workers) {
  std::vector<std::string> names;
  for (int w = 0; w < workers; ++w)
    names.push_back(name_of(params, w));
  return names;
}

// Waits, in a histogram with four buckets per doubling (so a percentile is known within 19%):
// a worker may wait millions of times, and the tally lives in shared memory of a fixed size.
class WaitHistogram {
public:
  void add(std::int64_t ns) {
    const auto bucket = bucket_of(ns);
    ++counts_[bucket];
    ++total_;
  }
  // The upper edge of the bucket holding the q-quantile, in ns (0 when nothing was added).
  double quantile_ns(double q) const {
    if (total_ == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total_)));
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < counts_.size(); ++b) {
      seen += counts_[b];
      if (seen >= std::max<std::uint64_t>(rank, 1)) return std::exp2(static_cast<double>(b + 1) / kPerDoubling) - 1;
    }
    return std::exp2(static_cast<double>(counts_.size()) / kPerDoubling) - 1;
  }

private:
  static constexpr int kPerDoubling = 4;
  static std::size_t bucket_of(std::int64_t ns) {
    const double b = std::floor(std::log2(static_cast<double>(std::max<std::int64_t>(ns, 0)) + 1) * kPerDoubling);
    return std::min(static_cast<std::size_t>(b), kBuckets - 1);
  }
  static constexpr std::size_t kBuckets = 48 * kPerDoubling; // up to 2^48 ns, three days
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t total_ = 0;
};

// One worker's record. Only the worker writes it, except the window's three fields, which the
// worker that closes the window writes once.
struct alignas(64) Tally {
  std::atomic<std::uint64_t> ops{0};            // done so far (the window's closer reads it)
  std::atomic<std::int64_t> asking_since_ns{0}; // when it asked for the lock; 0 while it is not asking
  std::uint64_t overtakes = 0;                  // entries by others while it waited in line, in all
  std::uint64_t most_overtakes = 0;             // … and in its worst single wait
  std::int64_t longest_wait_ns = 0;
  WaitHistogram waits;
  std::uint64_t read_sum = 0;                 // a reader's: what it read (kept, so that the reads are done)
  std::atomic<std::uint64_t> reader_entry{0}; // a reader's: the number of its read in progress (the forced script's)
  std::uint64_t ops_in_window = 0;            // the window's: see Window
  bool asking_at_close = false;
  std::int64_t waiting_at_close_ns = 0;
};

// The window is the part of the run in which every worker still had work to do: it opens with
// the first operation and closes when the first worker has done all of its operations. Shares and
// fairness are counted in it; after it, the others finish alone, which says nothing about
// fairness.
//
// What the lab promises, and judges: no writer starves (readers-writers), and no worker starves
// (greedy). Readers are not promised a fair share among themselves: the classic no-starve
// solution, the reference, bounds only a writer's wait (a reader woken at the turnstile may be
// passed by a reader that is still running, on the OS's semaphores, which are not FIFO), so a
// reader's numbers are shown but never judged.
// A writer (or, greedy, any worker) was starved when both of these hold (judge() checks them):
//  - it got less than a tenth of an equal share of the window's operations (usually none), and
//  - in one of its waits it was overtaken at least once by every other worker's worth of entries
//    (overtaken ≥ the number of workers): more than a first-come, first-served lock ever allows.
// The second keeps a worker that had little because it asked little (it started late, or was
// off the CPU) from being called starved: nobody passed it while it waited.
struct Window {
  std::atomic<std::int64_t> opened_ns{0};
  std::atomic<bool> closed{false};
  std::int64_t length_ns = 0; // written by the closer

  void open() {
    std::int64_t unopened = 0;
    if (opened_ns.load(std::memory_order_relaxed) == 0)
      opened_ns.compare_exchange_strong(unopened, now_ns(), std::memory_order_relaxed);
  }
};

// What the scenario keeps of every entry, and of who is inside.
template <class Form, class LockType>
struct State {
  LockType lock;                                // the variant's
  std::atomic<std::uint64_t> entries{0};        // every entry into the lock, by anyone, in order
  std::atomic<int> readers_inside{0};           // readers-writers
  std::atomic<int> most_readers_at_once{0};     // readers-writers: the most readers_inside ever was
  std::atomic<int> writers_inside{0};           // readers-writers; greedy: workers inside
  std::atomic<std::uint64_t> not_excluded{0};   // entries that found someone inside they must exclude
  std::uint64_t value = 0;                      // written by writers (and turns), read by readers: the lock guards it
  std::atomic<std::uint64_t> reader_entries{0}; // reads begun, by all readers (the forced script's relay)
  Window window;
  std::array<Tally, hazardlab::kMaxWorkers> tallies;
};

// One worker's one request for the lock. It is in line from the moment it asks, unless the lock
// says later where its line really starts (in_line()): a ticket lock's line starts when the ticket
// is drawn, not while the worker is still walking up to the counter. Every entry by another
// worker from then until this worker gets in overtakes it.
// The count of entries is read and added to with sequentially consistent atomics, so a worker
// getting in line cannot read a count older than an entry made before it got in line.
class Turn {
public:
  explicit Turn(const std::atomic<std::uint64_t>& entries)
      : entries_(&entries), asked_ns_(now_ns()), in_line_at_(entries.load()) {}

  void in_line() noexcept { in_line_at_ = entries_->load(); }

  std::int64_t asked_ns() const noexcept { return asked_ns_; }
  std::uint64_t in_line_at() const noexcept { return in_line_at_; }

private:
  const std::atomic<std::uint64_t>* entries_;
  std::int64_t asked_ns_;
  std::uint64_t in_line_at_;
};

// The "lightswitch" of the classic semaphore solutions: the first reader into the room locks it
// for all readers (a writer then cannot get in), the last one out unlocks it. `readers` counts
// those inside; the mutex makes "count and maybe lock" one step.
template <class Form>
struct Lightswitch {
  typename Form::Mutex mutex;
  int readers = 0; // guarded by mutex

  void enter(typename Form::Semaphore& room) {
    std::lock_guard hold(mutex);
    if (++readers == 1) room.acquire(); // the first reader waits for the room for everyone
  }
  void leave(typename Form::Semaphore& room) {
    std::lock_guard hold(mutex);
    if (--readers == 0) room.release();
  }
};

// The scheduling points of the scenario's own (Worker::scheduling_point), which the forced scripts
// below choose at: a reader inside the room, a writer before it first asks, any worker between an
// operation and its own work, the greedy worker inside its turn.
enum SchedulingTag : int { kReading = 1, kWriterArrives = 2, kOwnWork = 3, kInsideTurn = 4 };

// The scenario's bookkeeping around one entry: who is inside (exclusion is checked, not assumed),
// the wait and the overtakes, and the scheduling points of the forced scripts.
template <class Form, class LockType>
class Operations {
public:
  Operations(State<Form, LockType>& s, const Params& params, int workers, hazardlab::Worker& worker)
      : s_(s), params_(params), workers_(workers), worker_(worker), me_(s.tallies[worker.id()]) {}

  // One operation: ask, get in through the variant's lock, do the section, leave, count it.
  void read_once() {
    Turn turn = ask();
    s_.lock.lock_shared(turn);
    entered(turn);
    read_section();
    s_.lock.unlock_shared();
    done();
  }
  void write_once() {
    Turn turn = ask();
    s_.lock.lock(turn);
    entered(turn);
    write_section();
    s_.lock.unlock();
    done();
  }

private:
  Turn ask() {
    s_.window.open();
    Turn turn(s_.entries);
    me_.asking_since_ns.store(turn.asked_ns(), std::memory_order_relaxed);
    return turn;
  }

  // Inside now: counts the entry, what it overtook and how long it took.
  void entered(const Turn& turn) {
    const std::uint64_t entry = s_.entries.fetch_add(1); // seq_cst, as in_line()'s load: see Turn
    me_.asking_since_ns.store(0, std::memory_order_relaxed);
    const std::int64_t waited = now_ns() - turn.asked_ns();
    const std::uint64_t overtaken = entry >= turn.in_line_at() ? entry - turn.in_line_at() : 0;
    me_.overtakes += overtaken;
    me_.most_overtakes = std::max(me_.most_overtakes, overtaken);
    me_.longest_wait_ns = std::max(me_.longest_wait_ns, waited);
    me_.waits.add(waited);
  }

  // One operation done: the window closes when the first worker has done all of its own.
  void done() {
    const auto ops = me_.ops.load(std::memory_order_relaxed) + 1;
    me_.ops.store(ops, std::memory_order_relaxed);
    worker_.progressed();
    if (ops == params_.ops && !s_.window.closed.exchange(true, std::memory_order_relaxed)) close_window();
  }

  // Who is inside is counted with sequentially consistent atomics: a reader and a writer that
  // are both inside must see each other, whatever the lock does.
  void read_section() {
    const int inside = s_.readers_inside.fetch_add(1) + 1; // exact: a read-modify-write of the one count
    int most = s_.most_readers_at_once.load(std::memory_order_relaxed);
    while (inside > most && !s_.most_readers_at_once.compare_exchange_weak(most, inside, std::memory_order_relaxed)) {
    }
    if (s_.writers_inside.load() > 0) s_.not_excluded.fetch_add(1, std::memory_order_relaxed);
    me_.reader_entry.store(s_.reader_entries.fetch_add(1, std::memory_order_relaxed), std::memory_order_relaxed);
    me_.read_sum += s_.value; // a read the lock must keep apart from every write
    worker_.scheduling_point(kReading, "reading");
    spin_for(kReadSection);
    s_.readers_inside.fetch_sub(1);
  }

  void write_section() {
    if (s_.writers_inside.fetch_add(1) > 0 || s_.readers_inside.load() > 0)
      s_.not_excluded.fetch_add(1, std::memory_order_relaxed);
    ++s_.value; // the write the lock must keep to itself
    if (params_.scenario == Scenario::greedy && worker_.id() == 0)
      worker_.scheduling_point(kInsideTurn, "inside its turn");
    spin_for(params_.scenario == Scenario::greedy ? kTurnSection : kWriteSection);
    s_.writers_inside.fetch_sub(1);
  }

  void close_window() {
    const std::int64_t closed = now_ns();
    s_.window.length_ns = closed - s_.window.opened_ns.load(std::memory_order_relaxed);
    for (int w = 0; w < workers_; ++w) {
      auto& tally = s_.tallies[w];
      tally.ops_in_window = tally.ops.load(std::memory_order_relaxed);
      const std::int64_t asking_since = tally.asking_since_ns.load(std::memory_order_relaxed);
      tally.asking_at_close = asking_since != 0;
      tally.waiting_at_close_ns = asking_since != 0 ? closed - asking_since : 0;
    }
  }

  State<Form, LockType>& s_;
  const Params& params_;
  int workers_;
  hazardlab::Worker& worker_;
  Tally& me_;
};

template <class Form, class Variant>
using ReadersWritersState = State<Form, typename Variant::ReadersWriterLock>;
template <class Form, class Variant>
using GreedyState = State<Form, typename Variant::Lock>;

template <class Form, class LockType>
hazardlab::WorkerBody readers_writers_worker(State<Form, LockType>* s, const Params& params,
                                             const hazardlab::RunContext& context) {
  return [s, params, workers = context.workers](hazardlab::Worker& worker) {
    Operations<Form, LockType> operations(*s, params, workers, worker);
    if (is_reader(params, worker.id())) {
      for (std::uint64_t op = 0; op < params.ops; ++op) {
        operations.read_once();
        worker.scheduling_point(kOwnWork, "own work");
        spin_for(kReaderOwnWork);
      }
    } else {
      worker.scheduling_point(kWriterArrives, "arrives");
      for (std::uint64_t op = 0; op < params.ops; ++op) {
        operations.write_once();
        worker.scheduling_point(kOwnWork, "own work");
        spin_for(kWriterOwnWork);
      }
    }
  };
}

template <class Form, class LockType>
hazardlab::WorkerBody greedy_worker(State<Form, LockType>* s, const Params& params,
                                    const hazardlab::RunContext& context) {
  return [s, params, workers = context.workers](hazardlab::Worker& worker) {
    Operations<Form, LockType> operations(*s, params, workers, worker);
    const bool greedy = worker.id() == 0;
    for (std::uint64_t op = 0; op < params.ops; ++op) {
      operations.write_once(); // a turn: the lock to itself, like a write
      if (greedy) continue;    // the greedy worker asks again at once
      worker.scheduling_point(kOwnWork, "own work");
      spin_for(kRivalOwnWork);
    }
  };
}

// --schedule forced, readers-writers: the script that decides who runs (hazardlab/control.hpp).
//  - The readers relay: a reader inside the room (kReading) lets the next reader run, and is not
//    chosen again until another reader has come in after it, so the readers overlap by
//    construction and the room never empties while a reader is left to come in.
//  - A writer first asks once min(2, readers) readers have been inside at the same moment: then
//    the readers already hold the room, and a lock that lets readers read together has shown it
//    (most_readers_at_once >= 2) before a writer's wait can change who gets in. At the next
//    reader's kReading, the writer runs and asks.
//  - After an operation (kOwnWork) the next worker in turn runs, as the worker's own work would
//    let it on a real machine.
// A lock that keeps new readers out while a writer waits (the turnstile) stops the relay: the
// readers inside leave, and when only held workers can run, the script gives way, so the writer
// gets in. One mutex for everyone never has two readers inside: the writer is chosen only when no
// reader can run, and most_readers_at_once stays 1.
template <class Form, class LockType>
hazardlab::Script readers_writers_script(const State<Form, LockType>* s, const Params& params) {
  using hazardlab::Decision;
  using hazardlab::Point;
  using hazardlab::WorkerSet;
  return [s, readers = params.readers](const Decision& d) {
    const int me = d.worker();
    const WorkerSet reader_set = (WorkerSet{1} << readers) - 1; // readers <= 63: see validate()
    const auto at = [&](int w, int tag) { return d.at(w) == Point::tagged && d.tag_of(w) == tag; };
    const auto not_yet_asked = [&](int w) { return d.at(w) == Point::start || at(w, kWriterArrives); };
    const bool overlapped = s->most_readers_at_once.load(std::memory_order_relaxed) >= std::min(2, readers);
    const auto reads_begun = s->reader_entries.load(std::memory_order_relaxed);
    WorkerSet candidates = 0;
    for (int w = 0; w < d.workers(); ++w) {
      if (!d.eligible(w)) continue;
      const bool reader = (reader_set >> w & 1) != 0;
      const bool relaying =
          reader && at(w, kReading) && reads_begun <= s->tallies[w].reader_entry.load(std::memory_order_relaxed) + 1;
      const bool early_writer = !reader && not_yet_asked(w) && !overlapped;
      if (!relaying && !early_writer) candidates |= hazardlab::only(w);
    }
    if (d.point() == Point::tagged && d.tag() == kReading) {
      if (overlapped)
        for (int w = readers; w < d.workers(); ++w)
          if (d.eligible(w) && not_yet_asked(w)) return w; // the writer asks now
      if (const int next = d.next_after(me, candidates & reader_set & ~hazardlab::only(me)); next >= 0)
        return next; // the relay
    }
    if (d.point() == Point::tagged && d.tag() == kOwnWork)
      if (const int next = d.next_after(me, candidates); next >= 0) return next;
    if (candidates == 0) return hazardlab::default_choice(d); // only held workers can run: give way
    return (candidates >> me & 1) != 0 ? me : d.next_after(me, candidates);
  };
}

// --schedule forced, greedy: the greedy worker (worker 0) runs whenever it can, so it takes the
// lock straight back after every turn, while its rivals are runnable but never chosen. While it is
// inside its turn (kInsideTurn), each rival not yet in line runs and asks, so that it waits for
// the lock in line. A lock that hands over (a ticket lock) makes the greedy worker wait in line
// behind them, spinning: a spinning worker is not preferred, and the others take their turns.
template <class Form, class LockType>
hazardlab::Script greedy_script(const State<Form, LockType>* s) {
  using hazardlab::Point;
  return [s](const hazardlab::Decision& d) {
    if (d.at(0) == Point::tagged && d.tag_of(0) == kInsideTurn)
      for (int w = 1; w < d.workers(); ++w)
        if (d.eligible(w) && s->tallies[w].asking_since_ns.load(std::memory_order_relaxed) == 0) return w;
    return d.eligible(0) && d.at(0) != Point::spin ? 0 : hazardlab::default_choice(d);
  };
}

// Jain's fairness index of the shares: 1 when all are equal, 1/n when one worker got everything.
inline double jain_index(const std::vector<std::uint64_t>& amounts) {
  double sum = 0, squares = 0;
  for (const auto a : amounts) {
    sum += static_cast<double>(a);
    squares += static_cast<double>(a) * static_cast<double>(a);
  }
  return squares == 0 ? 1.0 : sum * sum / (static_cast<double>(amounts.size()) * squares);
}

template <class Form, class LockType>
hazardlab::RunResult judge(const Params& params, const hazardlab::RunContext& context, State<Form, LockType>& s,
                           const hazardlab::WorkersReport& report) {
  using hazardlab::counted;
  using hazardlab::grouped;
  const auto names = names_of(params, context.workers);
  if (auto unfinished = hazardlab::unfinished_run(report, names)) {
    // A lock that let two in at once and then stopped (a ticket drawn twice leaves a number nobody
    // holds): the first is the cause, and the one to show.
    const auto let_in = s.not_excluded.load();
    if (let_in == 0 || unfinished->verdict != hazardlab::Verdict::stuck) return std::move(*unfinished);
    unfinished->verdict = hazardlab::Verdict::hazard;
    unfinished->kind = "not-excluded";
    unfinished->summary = fmt::format("{} found someone inside that the lock should have kept out; then {}",
                                      hazardlab::counted(let_in, "entry", "entries"), unfinished->summary);
    unfinished->metrics["not_excluded"] = let_in;
    return std::move(*unfinished);
  }

  hazardlab::RunResult result;
  result.elapsed_ms = report.elapsed_ms;
  const double window_ms = static_cast<double>(s.window.length_ns) / 1e6;
  std::vector<std::uint64_t> in_window;
  std::uint64_t window_ops = 0, ops = 0;
  for (int w = 0; w < context.workers; ++w) {
    in_window.push_back(s.tallies[w].ops_in_window);
    window_ops += s.tallies[w].ops_in_window;
    ops += s.tallies[w].ops.load();
  }
  const double jain = jain_index(in_window);
  const double throughput = window_ms > 0 ? static_cast<double>(window_ops) / (window_ms / 1e3) : 0;

  // Explored runs are short and end: fairness needs infinite runs, so only exclusion is judged there.
  const bool judges_fairness = context.schedule != hazardlab::Schedule::explore;
  std::vector<int> starved;
  auto& per_worker = result.metrics["workers"] = nlohmann::ordered_json::array();
  for (int w = 0; w < context.workers; ++w) {
    const Tally& t = s.tallies[w];
    const double share =
        window_ops > 0 ? 100.0 * static_cast<double>(t.ops_in_window) / static_cast<double>(window_ops) : 0;
    const double longest_ms = static_cast<double>(t.longest_wait_ns) / 1e6;
    const double p50_ms = t.waits.quantile_ns(0.50) / 1e6, p99_ms = t.waits.quantile_ns(0.99) / 1e6;
    const bool promised = !is_reader(params, w); // see Window: a reader's share is not promised
    const bool was_starved = judges_fairness && promised && t.ops_in_window * 10 * in_window.size() < window_ops &&
                             t.most_overtakes >= in_window.size();
    if (was_starved) starved.push_back(w);
    per_worker.push_back({{"worker", w},
                          {"name", names[w]},
                          {"ops", t.ops.load()},
                          {"ops_in_window", t.ops_in_window},
                          {"share_pct", share},
                          {"longest_wait_ms", longest_ms},
                          {"p50_wait_ms", p50_ms},
                          {"p99_wait_ms", p99_ms},
                          {"overtakes", t.overtakes},
                          {"most_overtakes", t.most_overtakes},
                          {"starved", was_starved}});
    result.details.push_back(fmt::format(
        "{}: {} in the window ({:.1f}%); waits: longest {}, p50 {}, p99 {}; overtaken {} (at most {} in one wait)",
        names[w], counted(t.ops_in_window, "op", "ops"), share, wait_text(static_cast<double>(t.longest_wait_ns)),
        wait_text(t.waits.quantile_ns(0.50)), wait_text(t.waits.quantile_ns(0.99)),
        counted(t.overtakes, "time", "times"), grouped(t.most_overtakes)));
  }
  result.details.push_back(fmt::format(
      "Jain's fairness index {:.3f} (1: equal shares; {:.3f}: one worker got everything); throughput {} ops/s "
      "in the window of {:.1f} ms",
      jain, 1.0 / context.workers, grouped(static_cast<std::uint64_t>(throughput + 0.5)), window_ms));
  result.metrics["window_ms"] = window_ms;
  result.metrics["ops_in_window"] = window_ops;
  result.metrics["ops"] = ops;
  result.metrics["jain_index"] = jain;
  result.metrics["ops_per_s"] = throughput;
  result.metrics["starved"] = static_cast<std::uint64_t>(starved.size());
  const auto not_excluded = s.not_excluded.load();
  result.metrics["not_excluded"] = not_excluded;
  if (params.scenario == Scenario::readers_writers)
    result.metrics["most_readers_at_once"] = static_cast<std::uint64_t>(s.most_readers_at_once.load());

  if (not_excluded > 0) {
    result.verdict = hazardlab::Verdict::hazard;
    result.kind = "not-excluded";
    result.summary = fmt::format("{} found someone inside that the lock should have kept out",
                                 counted(not_excluded, "entry", "entries"));
  } else if (!starved.empty()) {
    // Name the worst off: the fewest operations, then the longest wait.
    const int worst = *std::ranges::min_element(starved, [&](int a, int b) {
      const Tally &ta = s.tallies[a], &tb = s.tallies[b];
      return ta.ops_in_window != tb.ops_in_window ? ta.ops_in_window < tb.ops_in_window
                                                  : ta.longest_wait_ns > tb.longest_wait_ns;
    });
    const Tally& t = s.tallies[worst];
    result.verdict = hazardlab::Verdict::hazard;
    result.kind = "starvation";
    const std::string how_long =
        t.asking_at_close ? fmt::format("it was still waiting when the window closed, after {}",
                                        wait_text(static_cast<double>(t.waiting_at_close_ns)))
                          : fmt::format("its longest wait was {}", wait_text(static_cast<double>(t.longest_wait_ns)));
    result.summary = fmt::format(
        "{} starved: {} of the window's {} in {:.1f} ms, overtaken {} in one wait; {}{}", names[worst],
        grouped(t.ops_in_window), counted(window_ops, "op", "ops"), window_ms,
        counted(t.most_overtakes, "time", "times"), how_long,
        starved.size() > 1 ? fmt::format(" ({} starved)", counted(starved.size(), "worker", "workers")) : "");
  } else if (!judges_fairness) {
    result.summary = fmt::format("every entry found the room as the lock promised: {} (fairness is not judged "
                                 "when exploring)",
                                 counted(ops, "op", "ops"));
  } else {
    // Not starved is not fair: say who was served least, and how far it was passed over.
    const int least = static_cast<int>(std::ranges::min_element(in_window) - in_window.begin());
    result.summary = fmt::format(
        "every worker got in: {} in {:.1f} ms, Jain's index {:.3f} in the window; least served {} ({:.1f}%, "
        "overtaken up to {} in one wait)",
        counted(ops, "op", "ops"), report.elapsed_ms, jain, names[least],
        window_ops > 0 ? 100.0 * static_cast<double>(in_window[least]) / static_cast<double>(window_ops) : 0.0,
        counted(s.tallies[least].most_overtakes, "time", "times"));
  }
  return result;
}

// Names, in an explored schedule's table, the parts of a lock that the kit's variants call by these
// names (a student's other parts show by kind: "semaphore 2").
template <class LockType>
void name_parts(const LockType& lock) {
  if (!hazardlab::naming_objects()) return;
  if constexpr (requires { lock.room; }) hazardlab::name_object(&lock.room, "room");
  if constexpr (requires { lock.turnstile; }) hazardlab::name_object(&lock.turnstile, "turnstile");
  if constexpr (requires { lock.readers.mutex; }) hazardlab::name_object(&lock.readers.mutex, "lightswitch");
  if constexpr (requires { lock.mutex; }) hazardlab::name_object(&lock.mutex, "mutex");
  if constexpr (requires { lock.next_ticket; }) hazardlab::name_object(&lock.next_ticket, "next_ticket");
  if constexpr (requires { lock.now_serving; }) hazardlab::name_object(&lock.now_serving, "now_serving");
}

template <class Form, class Variant>
hazardlab::RunResult run(const Params& params, const hazardlab::RunContext& context) {
  if (params.scenario == Scenario::greedy) {
    if constexpr (requires { typename Variant::Lock; }) {
      auto state = hazardlab::place<Form, GreedyState<Form, Variant>>();
      name_parts(state->lock);
      const auto report = hazardlab::run_workers<Form>(context.workers, context.timeout,
                                                       greedy_worker<Form>(state.get(), params, context),
                                                       context.run_options(greedy_script(state.get())));
      return judge(params, context, *state, report);
    }
  } else {
    if constexpr (requires { typename Variant::ReadersWriterLock; }) {
      auto state = hazardlab::place<Form, ReadersWritersState<Form, Variant>>();
      name_parts(state->lock);
      const auto report = hazardlab::run_workers<Form>(
          context.workers, context.timeout, readers_writers_worker<Form>(state.get(), params, context),
          context.run_options(readers_writers_script(state.get(), params)));
      return judge(params, context, *state, report);
    }
  }
  throw std::logic_error("this variant has no lock for this scenario"); // validate() refuses it first
}

} // namespace starvation
