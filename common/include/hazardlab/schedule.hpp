#pragma once
#include <string_view>

namespace hazardlab {

// natural: the OS decides, and a lab shows how often its hazard happens on this machine.
// forced: the broken code's hazard points make the bad interleaving happen on every run, on any
// number of cores. Tests of broken variants use forced; statistics use natural.
enum class Schedule { natural, forced };

std::string_view to_string(Schedule schedule) noexcept;

// Hazard points (where the broken code is exposed) are Worker::hazard_point(), in workers.hpp.

} // namespace hazardlab
