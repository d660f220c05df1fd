#pragma once
#include <string_view>

namespace hazardlab {

// natural: the OS decides, and a lab shows how often its hazard happens on this machine.
// forced: the scheduler of control.hpp decides who runs at every scheduling point, following the
// lab's script, so the bad interleaving happens on every run, on any number of cores and under any
// load. replay: the scheduler makes the choices a controlled run printed (--schedule
// replay:CHOICES), and so repeats that run exactly. explore: one run of an exploration of every
// interleaving (--schedule explore, explore.hpp): the scheduler makes the exploration's choices,
// then goes on by the default rule, and records every choice point and step. Tests of broken
// variants use forced; statistics use natural; proofs use explore.
enum class Schedule { natural, forced, replay, explore };

constexpr std::string_view to_string(Schedule schedule) noexcept {
  switch (schedule) {
  case Schedule::natural:
    return "natural";
  case Schedule::forced:
    return "forced";
  case Schedule::replay:
    return "replay";
  case Schedule::explore:
    return "explore";
  }
  return "?";
}

// Hazard points (where the broken code is exposed) are Worker::hazard_point(), in workers.hpp.

} // namespace hazardlab
