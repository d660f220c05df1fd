#pragma once
// Lab 02 — deadlock: the contract your exercise works with.
//
// Every unit of work needs two locks at once:
//   bank          a transfer locks the source account, then the destination account, and moves
//                 money from one balance to the other;
//   philosophers  a philosopher picks up the left fork, then the right one, to eat.
// When each worker holds one lock and waits for a lock another one holds, round a cycle, nobody
// can ever go on: a deadlock. The watchdog then shows the wait-for graph and its cycle.
//
// A variant is a class template over the form (ThreadForm or ProcessForm, see
// common/include/hazardlab/forms.hpp) with one function that says how to take the two locks:
//   template <class Work>
//   static void with_both(State<Form>&, int first, int second, Worker&, Work work)
// which takes locks[first] and locks[second] (asked in that order) and calls work() once, holding
// both. work() is the unit itself: it moves the money, or eats.
//
// worker.hazard_point("holding the first lock") marks the window between taking the first lock and
// asking for the second. Under --schedule forced and explore the kit's scheduler may run another
// worker there (forced: every worker takes its first lock before any asks for its second); in a
// natural run it costs nothing. Taking a lock is a scheduling point too. A correct fix survives
// anything happening at either.
//
// The invariant, judged at the end of every run:
//  - every worker finishes: no cycle of waiters;
//  - bank: the total of all the balances is what it was; philosophers: no two neighbours ever eat
//    at once (they share a fork).
// Every run also reports `most_at_once`: the most workers that were inside the work together
// (holding both of their locks). A fix that serializes everything (one lock for all) is correct,
// but only ever lets one worker in; a good fix lets in together the workers whose locks do not
// overlap.
//
// How a run is driven and judged (run.hpp, judge.hpp) is not yours to read or change: only
// exercise.hpp is collected and graded.
#include "hazardlab/traced_lock.hpp"
#include "hazardlab/workers.hpp"

namespace deadlock {

template <class Form>
struct State {
  State(const char* lock_name, int locks, int admitted) : locks(lock_name, locks), admission(admitted) {}

  // Bank: locks[i] guards account i. Philosophers: locks[i] is fork i, philosopher i's left and
  // philosopher i - 1's right. locks[i] gives a Lockable (lock, try_lock, unlock) for
  // std::lock_guard, std::unique_lock or std::scoped_lock; each lock records who holds it and who
  // waits for it, which is how the wait-for graph is drawn.
  hazardlab::TracedLocks<Form> locks;
  // A counting semaphore (acquire, release) of workers - 1 permits (at least 1): a butler who lets
  // at most that many reach for their locks at once.
  typename Form::Semaphore admission;
};

} // namespace deadlock
