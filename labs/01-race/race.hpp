#pragma once
// Lab 01 — the race condition: the contract your exercise works with.
//
// Every worker adds 1 to one shared counter, `iterations` times. With W workers the counter must
// end at W × iterations (the invariant); every increment missing from it is an update lost to the
// race.
//
// A variant is a class template over the form (ThreadForm or ProcessForm, see
// common/include/hazardlab/forms.hpp) with three members:
//   struct State                                  the shared state, placed once per run where every
//                                                 worker can reach it (the heap, or shared memory)
//   static void increment(State&, Worker&)        one increment of the shared counter
//   static std::uint64_t count(const State&)      the counter's value after the run
// and, optionally, `static constexpr const char* why_it_fails`: a line added to a failed run.
//
// worker.hazard_point("read counter", seen) marks the window between the read and the write. Under
// --schedule forced and explore the kit's scheduler may run another worker there; in a natural run
// it costs nothing. A correct increment survives anything happening at it.
//
// How a run is driven and judged (run.hpp, judge.hpp) is not yours to read or change: only
// exercise.hpp is collected and graded.
#include "hazardlab/workers.hpp"

#include <cstdint>
