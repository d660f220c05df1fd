#pragma once
#include <string_view>
#include <thread>

namespace hazardlab {

// natural: the OS decides, and a lab shows how often its hazard happens on this machine.
// forced: the broken code's hazard points make the bad interleaving happen on every run, on any
// number of cores. Tests of broken variants use forced; statistics use natural.
enum class Schedule { natural, forced };

std::string_view to_string(Schedule schedule) noexcept;

// A hazard point sits where the broken code is exposed (between a read and its write, between
// two lock acquisitions). Under the forced schedule it gives the CPU away, so another worker
// runs inside the window even on one core. It is a yield, never a lock or a barrier: those would
// add a happens-before edge between the racing accesses and hide the race from ThreadSanitizer.
inline void hazard_point(Schedule schedule) {
  if (schedule == Schedule::forced) std::this_thread::yield();
}

} // namespace hazardlab
