// Lab 04 under Helgrind (valgrind --tool=helgrind on this build's starvation binary, thread form,
// with the kit's suppressions): what the tool reports on each variant. Nothing of it is about
// starvation, which it cannot see.
//  - Helgrind models semaphores (sem_wait/sem_post), mutexes and rwlocks: on the locks built from
//    them (broken's lightswitch and room, its greedy mutex, std::shared_mutex, the turnstile fix) it
//    sees every write of the guarded value ordered against every read and write of it, and reports
//    no race on the lab's own data, nor a lock order (a semaphore is not a lock to it).
//  - It does not model std::atomic. The lab's bookkeeping (each worker's operation count and the
//    time it asked, the reader counts the forced script reads) is relaxed std::atomic, plain loads
//    and stores in an optimized build, and Helgrind flags those as data races: false alarms, every
//    one on an atomic. (At -O0, the debug preset of make helgrind, a broken run was measured with
//    none of these: 0 errors.)
//  - The ticket lock (fixed-ticket) is nothing but std::atomic, so Helgrind sees no ordering at all
//    between the workers' turns, and flags the value the lock guards, written in every turn: a
//    false alarm on a correct fix, optimized or not.
// Every report is placed by its address: "N bytes inside a block" of the scenario's state, whose
// layout this test takes from the same header the lab was built from.
#include "helgrind.hpp"
#include "lab_run.hpp"

#include "broken.hpp"
#include "judge.hpp"
#ifdef HAZARDLAB_WITH_SOLUTIONS
#include "fixed.hpp"
#endif

#include "hazardlab/outcome.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace helgrind_test { // named, not anonymous: its binary's test files are one translation unit

using hazardlab::ThreadForm;
using hazardlab::testing::Completed;
using hazardlab::testing::error_summary;
using hazardlab::testing::lines_of;

constexpr int kOps = 200;

Completed helgrind(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"--ops", std::to_string(kOps), "--timeout", "60000"};
  argv.insert(argv.end(), args.begin(), args.end());
  return hazardlab::testing::run_under_helgrind("starvation", argv);
}

// ---- where a report is, in the scenario's state ----------------------------------------------

struct Field {
  std::ptrdiff_t offset;
  std::size_t size;
  std::string name;
  bool atomic;
};

struct Layout {
  std::size_t size = 0; // of the whole state: the block Helgrind names
  std::vector<Field> fields;

  const Field* at(std::ptrdiff_t offset) const {
    for (const auto& field : fields)
      if (offset >= field.offset && offset < field.offset + static_cast<std::ptrdiff_t>(field.size)) return &field;
    return nullptr;
  }
};

// The state of a scenario with this lock, as the lab places it (one heap block in the thread form).
template <class LockType>
Layout layout_of() {
  const auto state = std::make_unique<starvation::State<ThreadForm, LockType>>();
  const auto& s = *state;
  const auto* base = reinterpret_cast<const char*>(&s);
  Layout layout{sizeof s, {}};
  const auto add = [&](const auto& member, std::string name, bool atomic) {
    layout.fields.push_back({reinterpret_cast<const char*>(&member) - base, sizeof member, std::move(name), atomic});
  };
  if constexpr (requires { s.lock.now_serving; }) { // the ticket lock: two atomic counters
    add(s.lock.next_ticket, "lock.next_ticket", true);
    add(s.lock.now_serving, "lock.now_serving", true);
  } else {
    add(s.lock, "lock", false); // semaphores, mutexes and the lightswitch's count, which they guard
  }
  add(s.entries, "entries", true);
  add(s.readers_inside, "readers_inside", true);
  add(s.writers_inside, "writers_inside", true);
  add(s.not_excluded, "not_excluded", true);
  add(s.value, "value", false);
  add(s.reader_entries, "reader_entries", true);
  add(s.window.opened_ns, "window.opened_ns", true);
  add(s.window.closed, "window.closed", true);
  add(s.window.length_ns, "window.length_ns", false);
  for (std::size_t w = 0; w < s.tallies.size(); ++w) {
    const auto& t = s.tallies[w];
    const auto tally = [w](const char* field) { return fmt::format("tallies[{}].{}", w, field); };
    add(t.ops, tally("ops"), true);
    add(t.asking_since_ns, tally("asking_since_ns"), true);
    add(t.overtakes, tally("overtakes"), false);
    add(t.most_overtakes, tally("most_overtakes"), false);
    add(t.longest_wait_ns, tally("longest_wait_ns"), false);
    add(t.waits, tally("waits"), false);
    add(t.read_sum, tally("read_sum"), false);
    add(t.reader_entry, tally("reader_entry"), true);
    add(t.ops_in_window, tally("ops_in_window"), false);
    add(t.asking_at_close, tally("asking_at_close"), false);
    add(t.waiting_at_close_ns, tally("waiting_at_close_ns"), false);
  }
  return layout;
}

// What Helgrind said, sorted.
struct Findings {
  int races = 0;                        // "Possible data race" reports (each context once)
  int races_on_atomics = 0;             // … on a std::atomic field of the state
  int races_on_value = 0;               // … on the value the lock guards
  std::vector<std::string> on;          // every field a race was reported on, in order
  std::vector<std::string> unexplained; // a race outside the state, or on another plain field
  int lock_orders = 0;
};

Findings findings_of(const Completed& run, const Layout& layout) {
  static const std::regex race(R"(^Possible data race during (read|write) of size \d+ at 0x[0-9A-F]+)");
  static const std::regex inside(R"(^ *Address 0x[0-9a-f]+ is ([\d,]+) bytes inside a block of size ([\d,]+) alloc'd)");
  const auto number = [](std::string text) {
    std::erase(text, ',');
    return std::stoll(text);
  };
  Findings found;
  const auto lines = lines_of(run.err);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find("lock order") != std::string::npos) ++found.lock_orders;
    if (!std::regex_search(lines[i], race)) continue;
    ++found.races;
    // The address is described at the end of the report, before the next one begins.
    std::smatch match;
    std::size_t at = i + 1;
    while (at < lines.size() && !lines[at].starts_with("----") && !std::regex_search(lines[at], match, inside))
      ++at;
    if (at == lines.size() || lines[at].starts_with("----")) {
      found.unexplained.push_back(lines[i] + " (not inside a heap block)");
      continue;
    }
    const Field* field =
        number(match[2]) == static_cast<long long>(layout.size) ? layout.at(number(match[1])) : nullptr;
    if (field == nullptr) {
      found.unexplained.push_back(lines[i] + ": " + lines[at]);
      continue;
    }
    found.on.push_back(field->name);
    if (field->atomic)
      ++found.races_on_atomics;
    else if (field->name == "value")
      ++found.races_on_value;
    else
      found.unexplained.push_back(lines[i] + ": on " + field->name);
  }
  return found;
}

// A run of a variant built on semaphores, mutexes or an rwlock: the races Helgrind reports are all
// on the lab's std::atomic bookkeeping, none on the value the lock guards, no lock order, nothing
// else.
template <class LockType>
void expect_only_atomics_flagged(const Completed& run) {
  const auto found = findings_of(run, layout_of<LockType>());
  EXPECT_EQ(found.races_on_value, 0) << ::testing::PrintToString(found.on) << "\n" << run.err;
  EXPECT_TRUE(found.unexplained.empty()) << ::testing::PrintToString(found.unexplained) << "\n" << run.err;
  EXPECT_EQ(found.lock_orders, 0) << run.err;
#ifdef __OPTIMIZE__
  // Optimized, a relaxed atomic is a plain load or store, and some of them are flagged.
  EXPECT_GT(found.races_on_atomics, 0) << run.err;
#endif
  // Each context is printed once: the races are all there is.
  EXPECT_EQ(error_summary(run).contexts, found.races) << run.err;
}

std::string outcome_of(const Completed& run) {
  static const std::regex outcome(R"(outcome   (\S+))");
  std::smatch match;
  return std::regex_search(run.out, match, outcome) ? std::string(match[1]) : "";
}

using BrokenRoom = starvation::Broken<ThreadForm>::ReadersWriterLock;
using BrokenMutex = starvation::Broken<ThreadForm>::Lock;
using SharedMutex = starvation::BrokenSharedMutex<ThreadForm>::ReadersWriterLock;

TEST(StarvationHelgrindThreadForm, BrokenReadersWritersOnlyItsAtomicsAreFlagged) {
  for (const std::string schedule : {"natural", "forced"}) {
    SCOPED_TRACE(schedule);
    const auto run = helgrind({"--variant", "broken", "--schedule", schedule});
    if (schedule == "forced") { // the relay does not depend on Helgrind's scheduling of threads
      EXPECT_EQ(run.exit_status, hazardlab::kExitHazard) << run.out << run.err;
      EXPECT_EQ(outcome_of(run), "hazard:starvation") << run.out;
    } else {
      EXPECT_TRUE(run.exit_status == hazardlab::kExitCorrect || run.exit_status == hazardlab::kExitHazard)
          << run.out << run.err;
    }
    expect_only_atomics_flagged<BrokenRoom>(run);
  }
}

TEST(StarvationHelgrindThreadForm, BrokenGreedyOnlyItsAtomicsAreFlagged) {
  // (The outcome is not checked here. Natural, the rivals starve or not depending on how Helgrind,
  // which runs one thread at a time, hands out the CPU; forced, the scheduler decides who runs and
  // they starve on every run, which tests/starvation/hazard_test.cpp checks.)
  for (const std::string schedule : {"natural", "forced"}) {
    SCOPED_TRACE(schedule);
    const auto run = helgrind({"--variant", "broken", "--scenario", "greedy", "--schedule", schedule});
    EXPECT_TRUE(run.exit_status == hazardlab::kExitCorrect || run.exit_status == hazardlab::kExitHazard)
        << run.out << run.err;
    expect_only_atomics_flagged<BrokenMutex>(run);
  }
}

TEST(StarvationHelgrindThreadForm, SharedMutexOnlyItsAtomicsAreFlagged) {
  for (const std::string schedule : {"natural", "forced"}) {
    SCOPED_TRACE(schedule);
    const auto run = helgrind({"--variant", "broken-shared-mutex", "--schedule", schedule});
    if (schedule == "forced") {
      EXPECT_EQ(run.exit_status, hazardlab::kExitHazard) << run.out << run.err;
      EXPECT_EQ(outcome_of(run), "hazard:starvation") << run.out;
    } else {
      EXPECT_TRUE(run.exit_status == hazardlab::kExitCorrect || run.exit_status == hazardlab::kExitHazard)
          << run.out << run.err;
    }
    expect_only_atomics_flagged<SharedMutex>(run);
  }
}

TEST(StarvationHelgrindThreadForm, TurnstileOnlyItsAtomicsAreFlagged) {
#ifndef HAZARDLAB_WITH_SOLUTIONS
  GTEST_SKIP() << "needs solutions/04-starvation";
#else
  for (const std::string schedule : {"natural", "forced"}) {
    SCOPED_TRACE(schedule);
    const auto run = helgrind({"--variant", "fixed-turnstile", "--schedule", schedule});
    // Every worker finishes; natural, a reader may be passed over while Helgrind runs one thread at a
    // time (forced, the script decides who gets in, Helgrind or not).
    EXPECT_TRUE(run.exit_status == hazardlab::kExitCorrect || run.exit_status == hazardlab::kExitHazard)
        << run.out << run.err;
    expect_only_atomics_flagged<starvation::FixedTurnstile<ThreadForm>::ReadersWriterLock>(run);
  }
#endif
}

TEST(StarvationHelgrindThreadForm, TicketLockIsAFalseRaceOnTheValueItGuards) {
#ifndef HAZARDLAB_WITH_SOLUTIONS
  GTEST_SKIP() << "needs solutions/04-starvation";
#else
  using Ticket = starvation::FixedTicket<ThreadForm>::Lock;
  for (const std::string schedule : {"natural", "forced"}) {
    SCOPED_TRACE(schedule);
    const auto run = helgrind({"--variant", "fixed-ticket", "--scenario", "greedy", "--schedule", schedule});
    EXPECT_EQ(run.exit_status, hazardlab::kExitCorrect) << run.out << run.err; // first come, first served
    EXPECT_EQ(outcome_of(run), "correct") << run.out;
    const auto found = findings_of(run, layout_of<Ticket>());
    // The turns write the value one after another, ordered only by the ticket lock's atomics.
    EXPECT_GT(found.races_on_value, 0) << ::testing::PrintToString(found.on) << "\n" << run.err;
    EXPECT_TRUE(found.unexplained.empty()) << ::testing::PrintToString(found.unexplained) << "\n" << run.err;
    EXPECT_EQ(found.lock_orders, 0) << run.err;
    EXPECT_EQ(error_summary(run).contexts, found.races) << run.err;
  }
#endif
}

} // namespace helgrind_test
