#pragma once
// Lab 04's run: the workers of each scenario, the forced schedule's scripts, and run<Form, Variant>().
#include "judge.hpp"
#include "starvation.hpp"

#include "hazardlab/cli.hpp"
#include "hazardlab/timeline.hpp"
#include "hazardlab/toolkit.hpp"
#include "hazardlab/workers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
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

inline Roles roles_of(const Params& params, int workers) {
  Roles roles{names_of(params, workers), {}, params.scenario == Scenario::readers_writers};
  for (int w = 0; w < workers; ++w)
    roles.promised.push_back(!is_reader(params, w));
  return roles;
}

// The scheduling points of the scenario's own (Worker::scheduling_point), which the forced scripts
// below choose at: a reader inside the room, a writer before it first asks, any worker between an
// operation and its own work, the greedy worker inside its turn.
enum SchedulingTag : int { kReading = 1, kWriterArrives = 2, kOwnWork = 3, kInsideTurn = 4 };

// One worker's operations: ask, get in through the variant's lock, do the section, leave, count
// it. The counting is the judge's (judge.hpp); the scheduling points are the forced scripts'.
template <class Form, class LockType>
class Operations {
public:
  Operations(State<Form, LockType>& s, const Params& params, int workers, hazardlab::Worker& worker)
      : s_(s), params_(params), workers_(workers), worker_(worker), me_(s.tallies[worker.id()]) {}

  // On the timeline (--timeline, --trace), each worker waits for the lock from its request, and
  // holds it (is inside) from its entry until it lets go.
  void read_once() {
    Turn turn = counted_request(s_, me_);
    hazardlab::timeline::enter(hazardlab::Activity::waiting, "the lock");
    s_.lock.lock_shared(turn);
    hazardlab::timeline::enter(hazardlab::Activity::holding, "the lock, reading");
    counted_entry(s_, me_, turn);
    read_section();
    s_.lock.unlock_shared();
    hazardlab::timeline::enter(hazardlab::Activity::running);
    done();
  }
  void write_once() {
    Turn turn = counted_request(s_, me_);
    hazardlab::timeline::enter(hazardlab::Activity::waiting, "the lock");
    s_.lock.lock(turn);
    hazardlab::timeline::enter(hazardlab::Activity::holding, "the lock");
    counted_entry(s_, me_, turn);
    write_section();
    s_.lock.unlock();
    hazardlab::timeline::enter(hazardlab::Activity::running);
    done();
  }

private:
  void done() {
    const auto ops = counted_op(me_);
    worker_.progressed();
    if (ops == params_.ops) close_window(s_, workers_);
  }

  void read_section() {
    reader_comes_in(s_);
    me_.reader_entry.store(s_.reader_entries.fetch_add(1, std::memory_order_relaxed), std::memory_order_relaxed);
    me_.read_sum += s_.value; // a read the lock must keep apart from every write
    worker_.scheduling_point(kReading, "reading");
    hazardlab::spin_for(kReadSection);
    reader_goes_out(s_);
  }

  void write_section() {
    writer_comes_in(s_);
    ++s_.value; // the write the lock must keep to itself
    if (params_.scenario == Scenario::greedy && worker_.id() == 0)
      worker_.scheduling_point(kInsideTurn, "inside its turn");
    hazardlab::spin_for(params_.scenario == Scenario::greedy ? kTurnSection : kWriteSection);
    writer_goes_out(s_);
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
        hazardlab::spin_for(kReaderOwnWork);
      }
    } else {
      worker.scheduling_point(kWriterArrives, "arrives");
      for (std::uint64_t op = 0; op < params.ops; ++op) {
        operations.write_once();
        worker.scheduling_point(kOwnWork, "own work");
        hazardlab::spin_for(kWriterOwnWork);
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
      hazardlab::spin_for(kRivalOwnWork);
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
// inside its turn (kInsideTurn), each rival that can still go on runs until it waits for the lock
// (blocked in it, or spinning at spin_pause()): asking is not yet being in line, since a ticket lock
// still has its ticket to draw. A lock that hands over (a ticket lock) then makes the greedy worker
// wait in line behind them, spinning: a spinning worker is not preferred, and the others take
// their turns.
template <class Form, class LockType>
hazardlab::Script greedy_script(const State<Form, LockType>* s) {
  using hazardlab::Point;
  return [s](const hazardlab::Decision& d) {
    // Waiting for the lock: spinning, or asking and back at a blocking point of it (a waiter the
    // greedy worker's unlock woke, who finds it taken again).
    const auto waiting = [&](int w) {
      const Point at = d.at(w);
      const bool asking = s->tallies[w].asking_since_ns.load(std::memory_order_relaxed) != 0;
      return at == Point::spin || (asking && (at == Point::lock || at == Point::acquire || at == Point::wait));
    };
    if (d.at(0) == Point::tagged && d.tag_of(0) == kInsideTurn)
      for (int w = 1; w < d.workers(); ++w)
        if (d.eligible(w) && !waiting(w)) return w;
    return d.eligible(0) && d.at(0) != Point::spin ? 0 : hazardlab::default_choice(d);
  };
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
      return judge(roles_of(params, context.workers), context, *state, report);
    }
  } else {
    if constexpr (requires { typename Variant::ReadersWriterLock; }) {
      auto state = hazardlab::place<Form, ReadersWritersState<Form, Variant>>();
      name_parts(state->lock);
      const auto report = hazardlab::run_workers<Form>(
          context.workers, context.timeout, readers_writers_worker<Form>(state.get(), params, context),
          context.run_options(readers_writers_script(state.get(), params)));
      return judge(roles_of(params, context.workers), context, *state, report);
    }
  }
  throw std::logic_error("this variant has no lock for this scenario"); // lab_main refuses it first (its needs)
}

// The runner variant_of() instantiates for each variant and form (variants.hpp and
// exercise_variant.cpp): run<Form, Variant> with the lab's parameters.
inline auto runs_with(const Params& params) {
  return [&params]<class Form, class Variant>(const hazardlab::RunContext& context) {
    return run<Form, Variant>(params, context);
  };
}

} // namespace starvation
