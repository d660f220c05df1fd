#pragma once
#include <string_view>

namespace hazardlab {

// natural: the OS decides, and a lab shows how often its hazard happens on this machine.
// forced: the broken code's hazard points make the bad interleaving happen on every run, on any
// number of cores. Tests of broken variants use forced; statistics use natural.
enum class Schedule { natural, forced };

std::string_view to_string(Schedule schedule) noexcept;

// Hazard points (where the broken code is exposed) are Worker::hazard_point(), in workers.hpp.

// For forced schedules that must not depend on how many CPUs the machine has or where the
// scheduler puts the workers: the calling thread (or process) runs on one CPU from now on, the
// first this process may use. Workers that all call it share that CPU, as on a one-core machine.
void run_on_one_cpu();
// The calling thread (or process) no longer takes the CPU from the thread running there when it
// is woken (SCHED_BATCH: normal share of the CPU, no wake-up preemption). A worker woken because a
// lock was let go then waits for its turn on the CPU, and the thread that let go runs on.
void no_preemption_on_wake_up();

} // namespace hazardlab
