#include "hazardlab/schedule.hpp"

#include <sched.h>

#include <cerrno>
#include <system_error>

namespace hazardlab {

void run_on_one_cpu() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0)
    throw std::system_error(errno, std::generic_category(), "sched_getaffinity");
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (::sched_setaffinity(0, sizeof one, &one) != 0)
      throw std::system_error(errno, std::generic_category(), "sched_setaffinity");
    return;
  }
}

void no_preemption_on_wake_up() {
  const sched_param normal{};
  if (::sched_setscheduler(0, SCHED_BATCH, &normal) != 0)
    throw std::system_error(errno, std::generic_category(), "sched_setscheduler(SCHED_BATCH)");
}

} // namespace hazardlab
