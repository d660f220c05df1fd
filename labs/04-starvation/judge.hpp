#pragma once
// Lab 04's judge: what is counted around every entry, who was inside with whom, and the verdict.
#include "starvation.hpp"

#include "hazardlab/cli.hpp"
#include "hazardlab/toolkit.hpp"
#include "hazardlab/workers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace starvation {

// "40 ns", "37 µs", "12.3 ms": a wait as a student reads it.
inline std::string wait_text(double ns) {
  if (ns < 1e3) return fmt::format("{:.0f} ns", ns);
  if (ns < 1e6) return fmt::format("{:.0f} µs", ns / 1e3);
  return fmt::format("{:.1f} ms", ns / 1e6);
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
      opened_ns.compare_exchange_strong(unopened, hazardlab::now_ns(), std::memory_order_relaxed);
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

// A request for the lock: its wait starts now. asking_since_ns says so to the window's closer (a
// worker still waiting when the window closes) and to the greedy forced script (a rival in line).
template <class Form, class LockType>
Turn counted_request(State<Form, LockType>& s, Tally& me) {
  s.window.open();
  Turn turn(s.entries);
  me.asking_since_ns.store(turn.asked_ns(), std::memory_order_relaxed);
  return turn;
}

// Inside now: counts the entry, what it overtook and how long it took.
template <class Form, class LockType>
void counted_entry(State<Form, LockType>& s, Tally& me, const Turn& turn) {
  const std::uint64_t entry = s.entries.fetch_add(1); // seq_cst, as in_line()'s load: see Turn
  me.asking_since_ns.store(0, std::memory_order_relaxed);
  const std::int64_t waited = hazardlab::now_ns() - turn.asked_ns();
  const std::uint64_t overtaken = entry >= turn.in_line_at() ? entry - turn.in_line_at() : 0;
  me.overtakes += overtaken;
  me.most_overtakes = std::max(me.most_overtakes, overtaken);
  me.longest_wait_ns = std::max(me.longest_wait_ns, waited);
  me.waits.add(waited);
}

// Who is inside is counted with sequentially consistent atomics: a reader and a writer that are
// both inside must see each other, whatever the lock does. Exclusion is checked, not assumed.
template <class Form, class LockType>
void reader_comes_in(State<Form, LockType>& s) {
  const int inside = s.readers_inside.fetch_add(1) + 1; // exact: a read-modify-write of the one count
  hazardlab::raise_to(s.most_readers_at_once, inside);  // relaxed: see toolkit.hpp
  if (s.writers_inside.load() > 0) s.not_excluded.fetch_add(1, std::memory_order_relaxed);
}
template <class Form, class LockType>
void reader_goes_out(State<Form, LockType>& s) {
  s.readers_inside.fetch_sub(1);
}
template <class Form, class LockType>
void writer_comes_in(State<Form, LockType>& s) {
  if (s.writers_inside.fetch_add(1) > 0 || s.readers_inside.load() > 0)
    s.not_excluded.fetch_add(1, std::memory_order_relaxed);
}
template <class Form, class LockType>
void writer_goes_out(State<Form, LockType>& s) {
  s.writers_inside.fetch_sub(1);
}

// One more operation done by this worker: its count so far.
inline std::uint64_t counted_op(Tally& me) {
  const auto ops = me.ops.load(std::memory_order_relaxed) + 1;
  me.ops.store(ops, std::memory_order_relaxed);
  return ops;
}

// The first worker to have done all of its operations closes the window, once, for everyone.
template <class Form, class LockType>
void close_window(State<Form, LockType>& s, int workers) {
  if (s.window.closed.exchange(true, std::memory_order_relaxed)) return;
  const std::int64_t closed = hazardlab::now_ns();
  s.window.length_ns = closed - s.window.opened_ns.load(std::memory_order_relaxed);
  for (int w = 0; w < workers; ++w) {
    auto& tally = s.tallies[w];
    tally.ops_in_window = tally.ops.load(std::memory_order_relaxed);
    const std::int64_t asking_since = tally.asking_since_ns.load(std::memory_order_relaxed);
    tally.asking_at_close = asking_since != 0;
    tally.waiting_at_close_ns = asking_since != 0 ? closed - asking_since : 0;
  }
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

// Who the workers are, as the report names and judges them.
struct Roles {
  std::vector<std::string> names; // one per worker, in order
  std::vector<bool> promised;     // whether the lab promises the worker its turn: a reader's is not (see Window)
  bool readers_writers = false;   // the report then adds the most readers inside at once
};

template <class Form, class LockType>
hazardlab::RunResult judge(const Roles& roles, const hazardlab::RunContext& context, State<Form, LockType>& s,
                           const hazardlab::WorkersReport& report) {
  using hazardlab::counted;
  using hazardlab::grouped;
  const auto& names = roles.names;
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
    const bool promised = roles.promised[w]; // see Window: a reader's share is not promised
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
  if (roles.readers_writers)
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

} // namespace starvation
