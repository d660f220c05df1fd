#pragma once
// Lab 03 — livelock: the contract your exercise works with.
//
// Worker w needs two resources for each unit of work: resource w (its first) and resource w + 1
// (its second, round a ring; with two workers, each one's second is the other's first). It is
// polite about it: it takes its first, only *tries* its second, and if that is busy it gives the
// first back, pauses, and tries again. Nobody ever waits while holding, so the run cannot
// deadlock; but when everybody takes its first at the same moment, everybody finds its second
// busy, everybody gives way, everybody pauses just as long, and it all happens again. The workers
// are busy, burn CPU and count attempts, and not one unit of work gets done: a livelock.
//
// A variant is a class template over the form (ThreadForm or ProcessForm, see
// common/include/hazardlab/forms.hpp) with one function that takes both resources for one unit of
// work and calls work() once, holding both:
//   template <class Work>
//   static void with_both(State<Form>&, int first, int second, Worker&, std::mt19937_64& random,
//                         Work work)
// `random` is the worker's own generator, seeded from --seed.
//
// Scheduling points: under --schedule forced and explore the kit's scheduler chooses who runs next
// where a worker takes, tries or lets go of a resource, and where it pauses. So pause with
// worker.pause_for(duration), a pause on the run's own clock that the scheduler sees; a sleep of
// your own it does not see. Under --schedule forced the workers take turns at every such point
// until each has done a unit: the worst a real machine can do, every time.
//
// The invariant, judged at the end of every run:
//  - every worker finishes its units in time. Workers that keep attempting and get no unit done
//    are a livelock: under --schedule forced, once every worker has attempted 100 times since the
//    last unit done (worker.attempted() counts one attempt); explored, after 2,000 steps.
//  - every unit is done holding both of its resources, and each resource was used once for every
//    unit that needed it.
// The report also gives the attempts per unit: 1 when nobody ever has to give way.
//
// How a run is driven and judged (run.hpp, judge.hpp) is not yours to read or change: only
// exercise.hpp is collected and graded.
#include "hazardlab/traced_lock.hpp"
#include "hazardlab/workers.hpp"

#include <chrono>
#include <mutex>
#include <random>

namespace livelock {

template <class Form>
struct State {
  State(int workers, std::chrono::microseconds fixed_pause, std::chrono::microseconds step)
      : resources("resource", workers), pause(fixed_pause), reach(step) {}

  // Resource w is worker w's first and worker w - 1's second. resources[r] gives a Lockable (lock,
  // try_lock, unlock) for std::lock_guard, std::unique_lock or std::scoped_lock.
  hazardlab::TracedLocks<Form> resources;
  std::chrono::microseconds pause; // the same fixed pause for everyone (--pause-us)
  std::chrono::microseconds reach; // each polite step's own time (--reach-us)
};

// One polite attempt: take the first resource, try the second; if it is busy, give the first back
// and return false. With both held, do the unit of work and return true.
template <class Form, class Work>
bool try_both_politely(State<Form>& s, int first, int second, hazardlab::Worker& worker, Work work) {
  auto first_resource = s.resources[first];
  auto second_resource = s.resources[second];
  worker.attempted();
  std::unique_lock hold_first(first_resource);
  if (s.reach.count() > 0) worker.pause_for(s.reach); // reaching for the second takes a moment
  std::unique_lock hold_second(second_resource, std::try_to_lock);
  if (!hold_second) {
    if (s.reach.count() > 0) worker.pause_for(s.reach); // and so does seeing that it is busy
    return false;                                       // polite: hold_first gives the first back on the way out
  }
  work();
  return true;
}

} // namespace livelock
