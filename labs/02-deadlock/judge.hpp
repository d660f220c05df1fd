#pragma once
// Lab 02's judge: what the work changes, who is inside it at once, and the verdict.
#include "deadlock.hpp"

#include "hazardlab/cli.hpp"
#include "hazardlab/toolkit.hpp"
#include "hazardlab/traced_lock.hpp"
#include "hazardlab/workers.hpp"

#include <fmt/format.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>

namespace deadlock {

inline constexpr std::int64_t kOpeningBalance = 1'000;

// The whole shared state of a run: the contract's State, which is all a variant sees, then what
// the work changes and the lab's own counts.
template <class Form>
struct RunState : State<Form> {
  using State<Form>::State;

  std::array<std::int64_t, hazardlab::kMaxTracedLocks> balance{}; // bank: balance[i] guarded by locks[i]
  std::array<std::atomic<bool>, hazardlab::kMaxWorkers> eating{}; // philosophers: who eats right now
  std::atomic<std::uint64_t> neighbours_ate_together{0};          // must stay 0: forks are shared
  std::atomic<int> inside{0};                                     // workers inside the work right now (see Inside)
  std::atomic<int> most_at_once{0};                               // … and the most there ever were
  std::atomic<int> first_units_done{0};                           // the forced script's (run.hpp)
};

// Counts a worker inside the work, holding both of its locks, for as long as it lives.
// Relaxed atomics are exact here: every change is a read-modify-write of the one counter, so each
// sees the count just before it; and a worker that takes a lock after another has let go of it is
// ordered after that one by the lock itself, so two workers that share a lock are never counted
// inside together. (Why relaxed and nothing stronger: hazardlab/toolkit.hpp.)
template <class Form>
class Inside {
public:
  explicit Inside(RunState<Form>& s) : s_(s) {
    hazardlab::raise_to(s_.most_at_once, s_.inside.fetch_add(1, std::memory_order_relaxed) + 1);
  }
  ~Inside() { s_.inside.fetch_sub(1, std::memory_order_relaxed); }
  Inside(const Inside&) = delete;
  Inside& operator=(const Inside&) = delete;

private:
  RunState<Form>& s_;
};

inline std::uint64_t units_done(const hazardlab::WorkersReport& report) {
  std::uint64_t done = 0;
  for (auto units : report.progress)
    done += units;
  return done;
}

// A run that did not finish: the wait-for graph names its cycle, if it has one.
template <class Form>
std::optional<hazardlab::RunResult> judge_unfinished(RunState<Form>& s, const hazardlab::RunContext& context,
                                                     const hazardlab::WorkersReport& report) {
  const auto most_at_once = static_cast<std::uint64_t>(s.most_at_once.load());
  auto unfinished = hazardlab::unfinished_run(report);
  if (!unfinished) return std::nullopt;
  // The records are atomics, safe to read even beside abandoned threads.
  hazardlab::explain_stuck(*unfinished, s.locks.graph(context.workers));
  unfinished->metrics["most_at_once"] = most_at_once; // an atomic: safe beside abandoned threads too
  return unfinished;
}

// Bank: no money made or lost.
template <class Form>
hazardlab::RunResult judge_bank(RunState<Form>& s, int accounts, const hazardlab::WorkersReport& report) {
  using hazardlab::grouped;
  const std::uint64_t done = units_done(report);
  const auto most_at_once = static_cast<std::uint64_t>(s.most_at_once.load());
  hazardlab::RunResult result;
  result.elapsed_ms = report.elapsed_ms;
  const std::int64_t before = kOpeningBalance * accounts;
  std::int64_t after = 0;
  for (int i = 0; i < accounts; ++i)
    after += s.balance[i];
  result.metrics["transfers"] = done;
  result.metrics["total_before"] = before;
  result.metrics["total_after"] = after;
  result.metrics["most_at_once"] = most_at_once;
  if (after == before) {
    result.summary = fmt::format("{} transfers done, total {} conserved, at most {} at once", grouped(done),
                                 grouped(before), hazardlab::counted(most_at_once, "transfer", "transfers"));
  } else {
    result.verdict = hazardlab::Verdict::hazard;
    result.kind = "total-changed";
    result.summary = fmt::format("the total changed from {} to {}", before, after);
  }
  return result;
}

// Philosophers: no fork ever in two hands.
template <class Form>
hazardlab::RunResult judge_philosophers(RunState<Form>& s, const hazardlab::WorkersReport& report) {
  using hazardlab::grouped;
  const std::uint64_t done = units_done(report);
  const auto most_at_once = static_cast<std::uint64_t>(s.most_at_once.load());
  hazardlab::RunResult result;
  result.elapsed_ms = report.elapsed_ms;
  const auto together = s.neighbours_ate_together.load();
  result.metrics["meals"] = done;
  result.metrics["neighbours_ate_together"] = together;
  result.metrics["most_at_once"] = most_at_once;
  if (together == 0) {
    result.summary = fmt::format("{} meals eaten, no two neighbours ever ate at once, at most {} eating at once",
                                 grouped(done), hazardlab::counted(most_at_once, "philosopher", "philosophers"));
  } else {
    result.verdict = hazardlab::Verdict::hazard;
    result.kind = "fork-shared";
    result.summary = fmt::format("neighbours ate at the same time {} times", grouped(together));
  }
  return result;
}

} // namespace deadlock
